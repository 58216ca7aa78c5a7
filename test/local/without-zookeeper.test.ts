import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '../support/local-api.ts';

// What a user sees when ZooKeeper does not run (Kubernetes is the stand-in): here it is turned off; a failed fetch
// of its jars gives the same answers with the fetch's cause as the reason.
describe('the local control plane without ZooKeeper (Kubernetes stand-in)', () => {
  let api: LocalApi;

  beforeAll(async () => {
    api = await startLocalApi({ zookeeper: false, log: () => undefined });
  });
  afterAll(async () => api?.stop());

  it('shows ZooKeeper as unavailable on /healthz and says why', async () => {
    const health = await api.request('GET', '/healthz', { token: null });
    expect(health.body.components.zookeeper).toEqual({
      status: 'unavailable',
      hint: 'ZooKeeper is turned off for this control plane (zookeeper: false).',
    });
  });

  it('answers a deploy with 503 dependency_unavailable naming the reason, and keeps the intent for a retry', async () => {
    const token = await api.registerTenant('early');
    const response = await api.request('PUT', '/v1/tenants/early/flink-cluster', { token, body: {} });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('dependency_unavailable');
    expect(response.body.error.message).toContain('zookeeper: false');
    const status = await api.request('GET', '/v1/tenants/early/flink-cluster', { token });
    expect(status.body).toMatchObject({ state: 'DEPLOYING', lastError: { code: 'dependency_unavailable' } });
  });
});
