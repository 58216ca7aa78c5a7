import { ApiException, CoreV1Api, KubernetesObjectApi, PatchStrategy, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

let standin: KubeStandin;
let core: CoreV1Api;
const namespace = 'faults';

beforeAll(async () => {
  standin = await startKubeStandin({ seed: 7 });
  core = standin.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterEach(() => {
  standin.clearFaults();
});

afterAll(async () => {
  await standin.stop();
});

const configMap = (name: string): V1ConfigMap => ({ metadata: { name }, data: { k: 'v' } });
const exists = async (name: string) =>
  (await core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` })).items.length === 1;

/** The HTTP code of a request, 0 when it failed without a response. */
async function outcome(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    return 0;
  }
}

describe('kube stand-in fault injection', () => {
  it('answers an injected status before changing anything, and logs the fault', async () => {
    standin.setFaults({ errorRate: 1, statuses: [503], methods: ['POST'] });
    standin.clearRequestLog();
    let error: unknown;
    try {
      await core.createNamespacedConfigMap({ namespace, body: configMap('refused') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).code).toBe(503);
    expect(JSON.parse((error as ApiException<string>).body)).toMatchObject({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      code: 503,
    });
    expect(standin.requestLog).toEqual([
      expect.objectContaining({ method: 'POST', verb: 'create', resource: 'configmaps', status: 503, fault: 'error' }),
    ]);
    expect(await exists('refused')).toBe(false);
    standin.clearFaults();
    await core.createNamespacedConfigMap({ namespace, body: configMap('refused') });
    expect(await exists('refused')).toBe(true);
  });

  it('sends Retry-After with an injected 429', async () => {
    standin.setFaults({ errorRate: 1, statuses: [429] });
    const response = await fetch(`${standin.url}/api/v1/namespaces/${namespace}/configmaps`);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
  });

  it('fails the same requests for the same seed, at about the configured rate', async () => {
    const pattern = async (seed: number) => {
      standin.setFaults({ errorRate: 0.3, statuses: [500], seed });
      const codes: number[] = [];
      for (let i = 0; i < 60; i++) codes.push(await outcome(core.listNamespacedConfigMap({ namespace })));
      return codes;
    };
    const first = await pattern(42);
    const second = await pattern(42);
    const other = await pattern(43);
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
    const failed = first.filter((c) => c === 500).length;
    expect(failed).toBeGreaterThanOrEqual(8);
    expect(failed).toBeLessThanOrEqual(30);
    expect(first.filter((c) => c !== 500 && c !== 200)).toEqual([]);
  });

  it('delays matching requests by the configured latency', async () => {
    standin.setFaults({ latencyMs: [120, 140], methods: ['GET'] });
    standin.clearRequestLog();
    const started = performance.now();
    await core.readNamespace({ name: namespace });
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    expect(standin.requestLog[0]!.durationMs).toBeGreaterThanOrEqual(115);
  });

  it('drops the connection of a timed-out request without applying it', async () => {
    standin.setFaults({ timeoutRate: 1, hangMs: 30, methods: ['POST'] });
    standin.clearRequestLog();
    expect(await outcome(core.createNamespacedConfigMap({ namespace, body: configMap('hung') }))).toBe(0);
    await expect.poll(() => standin.requestLog[0]).toMatchObject({ fault: 'timeout', status: 0 });
    standin.clearFaults();
    expect(await exists('hung')).toBe(false);
  });

  it('applies and then fails a write in applyThenFail mode, so a retry meets the change', async () => {
    standin.setFaults({ errorRate: 1, statuses: [500], applyThenFail: true, methods: ['POST'] });
    expect(await outcome(core.createNamespacedConfigMap({ namespace, body: configMap('lost-response') }))).toBe(500);
    expect(standin.requestLog.at(-1)).toMatchObject({ fault: 'applyThenFail', status: 500 });
    standin.clearFaults();
    expect(await exists('lost-response')).toBe(true);
    expect(await outcome(core.createNamespacedConfigMap({ namespace, body: configMap('lost-response') }))).toBe(409);
  });

  it('limits faults to the listed resources and to maxFaults', async () => {
    standin.setFaults({ errorRate: 1, statuses: [500], resources: ['secrets'], maxFaults: 1 });
    expect(await outcome(core.listNamespacedConfigMap({ namespace }))).toBe(200);
    expect(await outcome(core.listNamespacedSecret({ namespace }))).toBe(500);
    expect(await outcome(core.listNamespacedSecret({ namespace }))).toBe(200);
  });
});

describe('kube stand-in request log', () => {
  it('shows which objects a change touched and how', async () => {
    const objects = KubernetesObjectApi.makeApiClient(standin.kubeConfig());
    const render = (taskManagers: number) => [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flink-config', namespace }, data: { slots: '2' } },
      deployment('jobmanager', 1),
      deployment('taskmanager', taskManagers),
    ];
    for (const obj of render(2))
      await objects.patch(obj, undefined, undefined, 'flinkplane', true, PatchStrategy.ServerSideApply);
    standin.clearRequestLog();

    // A workflow that applies only what changed.
    const [, , taskManager] = render(3);
    await objects.patch(taskManager!, undefined, undefined, 'flinkplane', true, PatchStrategy.ServerSideApply);

    const writes = standin.requestLog.filter((e) => e.method !== 'GET');
    expect(writes).toEqual([
      expect.objectContaining({
        method: 'PATCH',
        verb: 'patch',
        patchType: 'apply',
        group: 'apps',
        version: 'v1',
        resource: 'deployments',
        namespace,
        name: 'taskmanager',
        fieldManager: 'flinkplane',
        status: 200,
        query: { fieldManager: 'flinkplane', force: 'true' },
      }),
    ]);
  });
});

function deployment(name: string, replicas: number) {
  const labels = { component: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name, image: 'flink:1.20' }] } },
    },
  };
}
