import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';
import { cli as runCli } from './run-cli.ts';

// Integration: the CLI against the local API (real dynalite, s3rver and ZooKeeper; the Kubernetes stand-in).
describe('CLI deploy and patch on an existing cluster', () => {
  let api: LocalApi;
  let token: string;

  const cli = (...args: string[]) => runCli(...args, '--url', api.url, '--token', token);

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 5 });
    token = await api.registerTenant('acme');
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
  });

  it('deploys a new cluster, then changes only the flag it is given and resets nothing else', async () => {
    const first = await cli('deploy', '--tenant', 'acme', '--flink-version', '2.1', '--tm-instances', '3', '--json');
    expect(first.code, first.err).toBe(0);
    const created = await waitForState(api, 'acme', 'RUNNING', 30_000);
    const second = await cli('deploy', '--tenant', 'acme', '--tm-memory', '4096', '--json');
    expect(second.code, second.err).toBe(0);
    const view = JSON.parse(second.out);
    expect(view.spec).toEqual({ ...created.spec, taskManager: { ...created.spec.taskManager, memoryMB: 4096 } });
    expect(view.spec).toMatchObject({ flinkVersion: '2.1', taskManager: { instances: 3 } });
    expect(view.haClusterId).toBe(created.haClusterId);
  });

  it('patch applies a JSON merge patch, and refuses a stale --if-match with exit 2 and the code', async () => {
    const before = (await api.request('GET', '/v1/tenants/acme/flink-cluster', { token })).body;
    const patched = await cli('patch', '--tenant', 'acme', '{"taskManager":{"instances":null}}', '--json');
    expect(patched.code, patched.err).toBe(0);
    expect(JSON.parse(patched.out).spec.taskManager).toEqual({ ...before.spec.taskManager, instances: 2 });

    const stale = await cli(
      'patch',
      '--tenant',
      'acme',
      '{"taskManager":{"instances":4}}',
      '--if-match',
      String(before.generation),
    );
    expect(stale.code).toBe(2);
    expect(stale.err).toContain('412 precondition_failed');
    const after = (await api.request('GET', '/v1/tenants/acme/flink-cluster', { token })).body;
    expect(after.spec.taskManager.instances).toBe(2);
    expect(after.generation).toBe(before.generation + 1);
  });

  it('refuses a patch that is not JSON before calling the API', async () => {
    const result = await cli('patch', '--tenant', 'acme', '{taskManager');
    expect(result.code).toBe(2);
    expect(result.err).toContain('not valid JSON');
  });
});
