import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferStreamedResponse } from '../../functions/http/api-gateway.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';

// The log routes through the router as API Gateway's Lambda calls it (no streaming: the answer is buffered), against
// the Kubernetes stand-in with simulated pods, which write one line per container start. The real process output and
// streaming through the local server are test/flink/logs.test.ts.
describe('log routes through the router, buffered as on Lambda (Kubernetes stand-in, simulated pods)', () => {
  let api: LocalApi;
  let token: string;
  let taskManager: string;

  const lambda = (path: string, query: Record<string, string>, followMs?: number) =>
    api.local
      .handle({ method: 'GET', path, headers: { authorization: `Bearer ${token}` }, query })
      .then((response) => bufferStreamedResponse(response, followMs === undefined ? {} : { followMs }));

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 20 });
    token = await api.registerTenant('logs');
    await api.request('PUT', '/v1/tenants/logs/flink-cluster', { token, body: {} });
    await waitForState(api, 'logs', 'RUNNING');
    const pods = await api.request('GET', '/v1/tenants/logs/flink-cluster/pods', { token });
    taskManager = pods.body.pods.find((pod: { component: string }) => pod.component === 'taskmanager').name;
  });
  afterAll(async () => api?.stop());

  it('answers a tail as a text/plain body', async () => {
    const response = await lambda('/v1/tenants/logs/flink-cluster/logs', { pod: taskManager });
    expect(response).toMatchObject({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    expect(response.stream).toBeUndefined();
    expect(response.body).toMatch(/^simulated container taskmanager started/);
  });

  it('ends a follow after its window with what came', async () => {
    const response = await lambda('/v1/tenants/logs/flink-cluster/logs', { pod: taskManager, follow: 'true' }, 300);
    expect(response.status).toBe(200);
    expect(response.body).toContain('simulated container taskmanager started');
  });

  it('answers a tenant without a cluster 404 cluster_not_found on both routes', async () => {
    const other = await api.registerTenant('empty');
    for (const path of ['/v1/tenants/empty/flink-cluster/pods', '/v1/tenants/empty/flink-cluster/logs?pod=x']) {
      const response = await api.request('GET', path, { token: other });
      expect(response.status, path).toBe(404);
      expect(response.body.error.code).toBe('cluster_not_found');
    }
  });
});
