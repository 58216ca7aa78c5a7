import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FlinkplaneError } from '../../functions/core/errors.ts';
import { createFaultInjector } from '../support/fault-injector.ts';
import { namespaceObjects } from '../support/kube-objects.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';

// Crash recovery and concurrency against real dynalite, s3rver and ZooKeeper; Kubernetes is the stand-in.
describe('crash recovery and concurrency (Kubernetes stand-in)', () => {
  const faults = createFaultInjector();
  const logged: Record<string, unknown>[] = [];
  let api: LocalApi;
  let clockOffsetMs = 0;
  const leaseMs = 5_000;

  beforeAll(async () => {
    api = await startLocalApi({
      wrap: faults.wrap,
      log: (message, context) => logged.push({ message, ...context }),
      leaseMs,
      clock: { now: () => new Date(Date.now() + clockOffsetMs) },
    });
  });
  afterAll(async () => api?.stop());
  afterEach(() => faults.disarm());

  // Object ids without the tenant's namespace name, so tenants' object sets compare.
  const objectIds = async (tenant: string) =>
    [...(await namespaceObjects(api.local.kube!.kubeConfig(), `tenant-${tenant}`)).keys()]
      .map((id) => (id.startsWith('Namespace/') ? 'Namespace' : id))
      .sort();

  let reference: string[] = [];
  let retainedReference: string[] = [];

  it('deploys and destroys a reference tenant without faults', async () => {
    const token = await api.registerTenant('reference');
    expect((await api.request('PUT', '/v1/tenants/reference/flink-cluster', { token, body: {} })).status).toBe(202);
    await waitForState(api, 'reference', 'RUNNING');
    reference = await objectIds('reference');
    expect(reference.length).toBeGreaterThan(10);
    expect((await api.request('DELETE', '/v1/tenants/reference/flink-cluster', { token })).status).toBe(202);
    retainedReference = await objectIds('reference');
    expect(retainedReference).toContain('PersistentVolumeClaim/faas-volume');
  });

  const deploySteps = [
    ['buckets', 'ensureBucket'],
    ['zookeeper', 'ensureNamespace'],
    ['access', 'grant'],
    ['kubernetes', 'apply'],
    ['kubernetes', 'observe'],
  ] as const;

  it.each(deploySteps)('converges on retry after a crash right after %s.%s during deploy', async (port, method) => {
    const tenant = `crash-${method.slice(0, 12).toLowerCase()}`;
    const token = await api.registerTenant(tenant);
    faults.crashAfter(port, method);
    const failed = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    expect(failed.status).toBe(500);
    expect(failed.body.error).toMatchObject({ code: 'internal' });
    expect(failed.body.error.message).not.toContain('injected');
    expect(logged.at(-1)).toMatchObject({ message: 'request failed', code: 'internal' });
    expect(faults.isArmed()).toBe(false);

    const status = await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`, { token });
    expect(status.body).toMatchObject({ state: 'DEPLOYING', lastError: { code: 'internal' } });

    const retry = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    expect(retry.status).toBe(202);
    const running = await waitForState(api, tenant, 'RUNNING');
    expect(running.lastError).toBeNull();
    expect(await objectIds(tenant)).toEqual(reference);
  });

  it.each([
    ['kubernetes', 'deleteNotRetained'],
    ['access', 'revoke'],
  ] as const)('converges on retry after a crash right after %s.%s during destroy', async (port, method) => {
    const tenant = `crash-d-${method.slice(0, 12).toLowerCase()}`;
    const token = await api.registerTenant(tenant);
    await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    await waitForState(api, tenant, 'RUNNING');
    faults.crashAfter(port, method);
    expect((await api.request('DELETE', `/v1/tenants/${tenant}/flink-cluster`, { token })).status).toBe(500);
    const retry = await api.request('DELETE', `/v1/tenants/${tenant}/flink-cluster`, { token });
    expect(retry.status).toBe(202);
    expect(retry.body.state).toBe('DESTROYED');
    expect(await objectIds(tenant)).toEqual(retainedReference);
    expect(await api.local.access.hasAccess(tenant, `tenant-${tenant}`, 'flink-cluster')).toBe(false);
  });

  it('holds the tenant during a purge, so a deploy cannot start half-way, and lets the operator retry the purge', async () => {
    const tenant = 'purge-hold';
    const token = await api.registerTenant(tenant);
    await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    await waitForState(api, tenant, 'RUNNING');
    await api.request('DELETE', `/v1/tenants/${tenant}/flink-cluster`, { token });
    faults.failBefore('buckets', 'deleteBucket');
    expect((await api.request('DELETE', `/v1/tenants/${tenant}?purge=true&confirm=${tenant}`)).status).toBe(500);

    const deploy = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    expect(deploy.status).toBe(409);
    expect(deploy.body.error.details.operation).toBe('purge');

    expect((await api.request('DELETE', `/v1/tenants/${tenant}?purge=true&confirm=${tenant}`)).status).toBe(200);
    expect((await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`)).status).toBe(404);
    expect(await objectIds(tenant)).toEqual([]);
  });

  it('keeps the new HA epoch when a failed clean start is retried', async () => {
    const tenant = 'clean-retry';
    const token = await api.registerTenant(tenant);
    await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    await waitForState(api, tenant, 'RUNNING');
    faults.crashAfter('kubernetes', 'apply');
    expect(
      (await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: { restore: 'clean' } })).status,
    ).toBe(500);
    const retry = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
      token,
      body: { restore: 'clean' },
    });
    expect(retry.body).toMatchObject({ haClusterId: `${tenant}-ha2`, previousHaClusterIds: [`${tenant}-ha1`] });
  });

  it('re-drives a deploy whose process died with the lease held, once the lease expires', async () => {
    const tenant = 'crash-lease';
    const token = await api.registerTenant(tenant);
    // The step's record write lands, then the process "dies": nothing releases the lease.
    faults.crashAfter('store', 'putCluster');
    faults.calls.length = 0;
    expect((await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} })).status).toBe(500);

    const busy = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ code: 'conflict', details: { generation: 1, operation: 'deploy' } });

    clockOffsetMs += leaseMs + 1;
    const summary = await api.local.plane.reconcile();
    expect(summary.redriven).toBeGreaterThanOrEqual(1);
    await waitForState(api, tenant, 'RUNNING');
    expect(await objectIds(tenant)).toEqual(reference);
  });

  it('ends a deploy whose bucket name another account owns as FAILED; the reconciler leaves it, the next deploy retries', async () => {
    const tenant = 'taken';
    const token = await api.registerTenant(tenant);
    const taken = new FlinkplaneError('bucket_name_taken', 'The bucket name is taken by another AWS account', {
      bucket: `flinkplane-${tenant}`,
    });
    faults.failBefore('buckets', 'ensureBucket', taken);
    const refused = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'bucket_name_taken',
      details: { bucket: `flinkplane-${tenant}` },
    });
    const failed = await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`, { token });
    expect(failed.body).toMatchObject({ state: 'FAILED', lastError: { code: 'bucket_name_taken' } });

    clockOffsetMs += leaseMs + 1;
    faults.calls.length = 0;
    await api.local.plane.reconcile();
    expect(faults.calls).not.toContain('buckets.ensureBucket');
    expect((await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`, { token })).body.state).toBe('FAILED');

    expect((await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} })).status).toBe(202);
    await waitForState(api, tenant, 'RUNNING');
    const running = await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`, { token });
    expect(running.body.lastError ?? null).toBeNull();
  });

  it('serializes 20 simultaneous deploys and destroys of one tenant; the losers get 409 with the generation', async () => {
    const tenant = 'busy';
    const token = await api.registerTenant(tenant);
    await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
    await waitForState(api, tenant, 'RUNNING');

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        index % 2 === 0
          ? api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
              token,
              body: { taskManager: { instances: 1 + (index % 4) } },
            })
          : api.request('DELETE', `/v1/tenants/${tenant}/flink-cluster`, { token }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 202 || status === 409)).toBe(true);
    expect(statuses.filter((status) => status === 409).length).toBeGreaterThan(0);
    for (const loser of responses.filter((response) => response.status === 409)) {
      expect(loser.body.error.code).toBe('conflict');
      expect(typeof loser.body.error.details.generation).toBe('number');
    }
    const accepted = responses.filter((response) => response.status === 202 && response.body.state !== 'DESTROYED');
    const generations = accepted.map((response) => response.body.generation);
    expect(new Set(generations).size).toBe(generations.length);

    const final = await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`, { token });
    expect(final.body.operation).toBeNull();
    const acceptedGenerations = responses.filter((r) => r.status === 202).map((r) => r.body.generation);
    expect(final.body.generation).toBe(Math.max(...acceptedGenerations));
    if (final.body.state === 'DESTROYED') {
      expect(await objectIds(tenant)).toEqual(retainedReference);
    } else {
      expect(await objectIds(tenant)).toEqual(reference);
    }
  });
});
