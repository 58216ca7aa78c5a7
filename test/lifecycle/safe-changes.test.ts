import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFlinkVersions } from '../../functions/core/cluster-spec.ts';
import { MERGE_PATCH_CONTENT_TYPE } from '../../functions/http/routes.ts';
import { type LocalApi, type RequestOptions, startLocalApi, waitForState } from '../support/local-api.ts';

// Integration: real dynalite, s3rver and ZooKeeper; Kubernetes is the in-process stand-in with simulated pods.
describe('safe changes to a cluster: PATCH, If-Match and downgrades (Kubernetes stand-in)', () => {
  let api: LocalApi;
  const tokens: Record<string, string> = {};
  const path = (tenant: string) => `/v1/tenants/${tenant}/flink-cluster`;
  const patch = (tenant: string, body: unknown, options: RequestOptions = {}) =>
    api.request('PATCH', path(tenant), {
      token: tokens[tenant],
      body,
      ...options,
      headers: { 'content-type': MERGE_PATCH_CONTENT_TYPE, ...options.headers },
    });
  const view = async (tenant: string) => (await api.request('GET', path(tenant), { token: tokens[tenant] })).body;

  /** Registers `tenant` and deploys `spec` with PUT, then waits until it runs. */
  async function deployed(tenant: string, spec: unknown) {
    tokens[tenant] = await api.registerTenant(tenant);
    const response = await api.request('PUT', path(tenant), { token: tokens[tenant], body: spec });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return waitForState(api, tenant, 'RUNNING', 30_000);
  }

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 5 });
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
  });

  it('changes only what the merge patch names and keeps the HA cluster id', async () => {
    const before = await deployed('keep', { flinkVersion: '2.1', taskManager: { instances: 3 } });
    const response = await patch('keep', { taskManager: { memoryMB: 4096 } });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    expect(response.body.spec).toEqual({
      ...before.spec,
      taskManager: { ...before.spec.taskManager, memoryMB: 4096 },
    });
    expect(response.body.spec).toMatchObject({ flinkVersion: '2.1', taskManager: { instances: 3, memoryMB: 4096 } });
    expect(response.body.haClusterId).toBe(before.haClusterId);
    expect(response.body.generation).toBe(before.generation + 1);
    expect(response.headers.get('etag')).toBe(`"${before.generation + 1}"`);
  });

  it('merges Flink keys one by one, nested or flat, and removes a key set to null', async () => {
    await deployed('config', {
      flinkConfiguration: { 'pipeline.max-parallelism': 64, 'taskmanager.numberOfTaskSlots': 2 },
    });
    const response = await patch('config', {
      flinkConfiguration: { taskmanager: { numberOfTaskSlots: 4 }, 'pipeline.max-parallelism': null },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    expect(response.body.spec.flinkConfiguration).toEqual({ 'taskmanager.numberOfTaskSlots': 4 });
  });

  it('resets a field set to null to its default, and runs the merged spec through the validator', async () => {
    const before = await deployed('reset', { taskManager: { instances: 3, memoryMB: 4096 } });
    const reset = await patch('reset', { taskManager: { instances: null } });
    expect(reset.status, JSON.stringify(reset.body)).toBe(202);
    expect(reset.body.spec.taskManager).toEqual({ ...before.spec.taskManager, instances: 2 });

    const invalid = await patch('reset', { taskManager: { memoryMB: 512 }, restore: 'sometimes' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('invalid_cluster_spec');
    expect(invalid.body.error.details.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
      'restore',
      'taskManager.memoryMB',
    ]);
    const notAnObject = await patch('reset', [{ op: 'replace', path: '/taskManager/instances', value: 3 }]);
    expect(notAnObject.status).toBe(400);
    expect((await view('reset')).generation).toBe(before.generation + 1);
  });

  it('keeps PUT a full replacement: a field the body leaves out gets its default', async () => {
    await deployed('replace', { flinkVersion: '2.2', taskManager: { instances: 3 } });
    const response = await api.request('PUT', path('replace'), {
      token: tokens.replace,
      body: { flinkVersion: '2.2', taskManager: { memoryMB: 4096 } },
    });
    expect(response.status).toBe(202);
    expect(response.body.spec.taskManager).toMatchObject({ memoryMB: 4096, instances: 2 });
  });

  it('answers 404 cluster_not_found to a PATCH before any deploy', async () => {
    tokens.none = await api.registerTenant('none');
    const response = await patch('none', { taskManager: { instances: 3 } });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('cluster_not_found');
  });

  it('refuses a downgrade that would restore state with 409 version_downgrade naming both versions', async () => {
    const before = await deployed('down', { flinkVersion: '2.1' });
    for (const [method, flinkVersion] of [
      ['PATCH', '1.20'],
      ['PUT', '1.20'],
      ['PATCH', '1.18'],
    ] as const) {
      const response =
        method === 'PATCH'
          ? await patch('down', { flinkVersion })
          : await api.request('PUT', path('down'), { token: tokens.down, body: { flinkVersion } });
      expect(response.status, `${method} ${flinkVersion}`).toBe(409);
      expect(response.body.error.code).toBe('version_downgrade');
      expect(response.body.error.details).toMatchObject({ from: '2.1', to: flinkVersion });
      expect(response.body.error.message).toContain('2.1');
      expect(response.body.error.message).toContain(flinkVersion);
    }
    const after = await view('down');
    expect(after).toMatchObject({ generation: before.generation, spec: { flinkVersion: '2.1' } });
  });

  it('accepts a downgrade with a clean start, under a new HA cluster id', async () => {
    const before = await deployed('clean', { flinkVersion: '2.2' });
    const response = await patch('clean', { flinkVersion: '1.20', restore: 'clean' });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    expect(response.body.spec.flinkVersion).toBe('1.20');
    expect(response.body.haClusterId).not.toBe(before.haClusterId);
    expect(response.body.previousHaClusterIds).toContain(before.haClusterId);
    // `restore` is not carried over: the next patch resumes from the clean start's state, with the same HA id.
    const next = await patch('clean', { taskManager: { instances: 3 } });
    expect(next.status).toBe(202);
    expect(next.body.haClusterId).toBe(response.body.haClusterId);
  });

  it('accepts an upgrade whose version sorts lower as text (1.18 to 1.20)', async () => {
    await deployed('up', { flinkVersion: '1.18' });
    const response = await patch('up', { flinkVersion: '1.20' });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    expect(response.body.spec.flinkVersion).toBe('1.20');
  });

  it('refuses a stale If-Match with 412 precondition_failed and changes nothing', async () => {
    const before = await deployed('editors', {});
    const read = await api.request('GET', path('editors'), { token: tokens.editors });
    expect(read.headers.get('etag')).toBe(`"${before.generation}"`);
    // The first editor writes with the generation it read...
    const first = await patch(
      'editors',
      { taskManager: { instances: 3 } },
      { headers: { 'if-match': `"${before.generation}"` } },
    );
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const afterFirst = await view('editors');
    // ...and the second, holding the same old generation, is refused on every write.
    const stale = { 'if-match': read.headers.get('etag')! };
    const answers = [
      await patch('editors', { taskManager: { instances: 1 } }, { headers: stale }),
      await api.request('PUT', path('editors'), { token: tokens.editors, body: {}, headers: stale }),
      await api.request('DELETE', path('editors'), { token: tokens.editors, headers: stale }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(412);
      expect(answer.body.error.code).toBe('precondition_failed');
      expect(answer.body.error.details).toMatchObject({ generation: before.generation + 1 });
    }
    expect(await view('editors')).toEqual(afterFirst);
    const malformed = await patch('editors', {}, { headers: { 'if-match': 'latest' } });
    expect(malformed.status).toBe(400);
  });

  it('lists PATCH with the merge-patch content type and If-Match in the OpenAPI document', async () => {
    const document = (await api.request('GET', '/openapi.json', { token: null })).body;
    const operation = document.paths['/v1/tenants/{tenant}/flink-cluster'].patch;
    expect(Object.keys(operation.requestBody.content)).toEqual([MERGE_PATCH_CONTENT_TYPE]);
    expect(operation.parameters).toContainEqual(expect.objectContaining({ name: 'If-Match', in: 'header' }));
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['202', '409', '412', '415']));
  });
});

describe('catalog version order', () => {
  it.each([
    ['1.20', '1.18'],
    ['2.2', '1.20'],
    ['2.1', '1.19'],
    ['2.2', '2.1'],
    ['1.10', '1.9'],
  ])('orders %s after %s', (newer, older) => {
    expect(compareFlinkVersions(newer, older)).toBeGreaterThan(0);
    expect(compareFlinkVersions(older, newer)).toBeLessThan(0);
    expect(compareFlinkVersions(newer, newer)).toBe(0);
  });
});
