import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZOOKEEPER_INSTALL_HINT } from '../../local/zookeeper-server.ts';
import { type LocalApi, startLocalApi } from '../support/local-api.ts';

// What a new user sees before installing the Debian zookeeper package (Kubernetes is the stand-in).
describe('the local control plane without ZooKeeper (Kubernetes stand-in)', () => {
  let api: LocalApi;

  beforeAll(async () => {
    api = await startLocalApi({ zookeeper: false, log: () => undefined });
  });
  afterAll(async () => api?.stop());

  it('shows ZooKeeper as unavailable on /healthz and says how to install it', async () => {
    const health = await api.request('GET', '/healthz', { token: null });
    expect(health.body.components.zookeeper).toEqual({ status: 'unavailable', hint: ZOOKEEPER_INSTALL_HINT });
    expect(ZOOKEEPER_INSTALL_HINT).toContain('apt-get install zookeeper');
  });

  it('answers a deploy with 503 dependency_unavailable naming the install step, and keeps the intent for a retry', async () => {
    const token = await api.registerTenant('early');
    const response = await api.request('PUT', '/v1/tenants/early/flink-cluster', { token, body: {} });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('dependency_unavailable');
    expect(response.body.error.message).toContain('apt-get install zookeeper');
    const status = await api.request('GET', '/v1/tenants/early/flink-cluster', { token });
    expect(status.body).toMatchObject({ state: 'DEPLOYING', lastError: { code: 'dependency_unavailable' } });
  });
});
