import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

let standin: KubeStandin;
let core: CoreV1Api;
let apps: AppsV1Api;
let objects: KubernetesObjectApi;
const namespace = 'ready';

beforeAll(async () => {
  standin = await startKubeStandin({ readinessDelayMs: 300 });
  const kc = standin.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await standin.stop();
});

function taskManagers(
  name: string,
  replicas: number,
  image = 'flink:1.20',
  progressDeadlineSeconds = 600,
): V1Deployment {
  const labels = { app: name, component: 'taskmanager' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      progressDeadlineSeconds,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'taskmanager', image }] } },
    },
  };
}

const apply = (obj: V1Deployment | V1StatefulSet) =>
  objects.patch(obj, undefined, undefined, 'flinkplane', true, PatchStrategy.ServerSideApply);
const read = (name: string) => apps.readNamespacedDeployment({ name, namespace });
const pods = async (selector: string): Promise<V1Pod[]> =>
  (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
const condition = (d: V1Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);

/** The rollout check a deploy workflow makes. */
const rolledOut = (d: V1Deployment) =>
  (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
  d.status?.updatedReplicas === d.spec?.replicas &&
  d.status?.availableReplicas === d.spec?.replicas &&
  d.status?.replicas === d.spec?.replicas;

describe('kube stand-in simulated readiness', () => {
  it('keeps new Pods pending, then ready after the readiness delay, and reports the rollout', async () => {
    const started = Date.now();
    await apply(taskManagers('tm', 2));
    await expect.poll(async () => (await pods('app=tm')).length).toBe(2);
    const pending = await pods('app=tm');
    expect(pending.map((p) => p.status?.phase)).toEqual(['Pending', 'Pending']);
    expect(pending[0]!.metadata?.name).toMatch(
      /^tm-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );
    expect(pending[0]!.metadata?.labels).toMatchObject({ app: 'tm', component: 'taskmanager' });
    expect(pending[0]!.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      name: 'tm',
      controller: true,
    });

    await expect.poll(async () => rolledOut(await read('tm')), { timeout: 3_000 }).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const deployment = await read('tm');
    expect(deployment.status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    expect(condition(deployment, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(condition(deployment, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    const ready = await pods('app=tm');
    expect(ready.map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
    expect(ready[0]!.status?.containerStatuses?.[0]).toMatchObject({ name: 'taskmanager', ready: true, started: true });
  });

  it('scales the Pod count with spec.replicas', async () => {
    await apply(taskManagers('scale', 2));
    await expect.poll(async () => rolledOut(await read('scale')), { timeout: 3_000 }).toBe(true);
    await apply(taskManagers('scale', 3));
    await expect.poll(async () => (await read('scale')).status?.readyReplicas, { timeout: 3_000 }).toBe(3);
    expect(await pods('app=scale')).toHaveLength(3);
    await apply(taskManagers('scale', 1));
    await expect.poll(async () => (await pods('app=scale')).length, { timeout: 3_000 }).toBe(1);
  });

  it('rolls every Pod when the template changes', async () => {
    await apply(taskManagers('roll', 2));
    await expect.poll(async () => rolledOut(await read('roll')), { timeout: 3_000 }).toBe(true);
    const before = (await pods('app=roll')).map((p) => p.metadata?.name);
    await apply(taskManagers('roll', 2, 'flink:1.20.1'));
    const during = await read('roll');
    expect(during.metadata?.generation).toBe(2);
    await expect.poll(async () => rolledOut(await read('roll')), { timeout: 3_000 }).toBe(true);
    await expect.poll(async () => (await pods('app=roll')).length).toBe(2);
    const after = await pods('app=roll');
    expect(after).toHaveLength(2);
    expect(after.map((p) => p.metadata?.name).filter((n) => before.includes(n))).toEqual([]);
    expect(after.map((p) => p.spec?.containers[0]?.image)).toEqual(['flink:1.20.1', 'flink:1.20.1']);
  });

  it('reports a failed Deployment through Pod waiting reasons, and Progressing=False after its deadline', async () => {
    await apply(taskManagers('broken', 1, 'flink:1.20', 1));
    await expect.poll(async () => (await pods('app=broken')).length).toBe(1);
    standin.failDeployment(namespace, 'broken', 'ImagePullBackOff', 'Back-off pulling image "flink:1.20"');
    const [pod] = await pods('app=broken');
    expect(pod!.status?.containerStatuses?.[0]?.state?.waiting).toEqual({
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "flink:1.20"',
    });
    expect(pod!.status?.containerStatuses?.[0]?.ready).toBe(false);
    expect(condition(await read('broken'), 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'ReplicaSetUpdated',
    });
    await expect
      .poll(async () => condition(await read('broken'), 'Progressing')?.reason, { timeout: 4_000 })
      .toBe('ProgressDeadlineExceeded');
    const deployment = await read('broken');
    expect(condition(deployment, 'Progressing')).toMatchObject({ status: 'False' });
    expect(condition(deployment, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    expect(deployment.status?.readyReplicas).toBeUndefined();
  });

  it('recovers a failed Deployment when its template changes', async () => {
    await apply(taskManagers('fixed', 1));
    standin.failDeployment(namespace, 'fixed', 'CrashLoopBackOff', 'back-off 5m0s restarting failed container');
    await apply(taskManagers('fixed', 1, 'flink:1.20.1'));
    await expect.poll(async () => rolledOut(await read('fixed')), { timeout: 3_000 }).toBe(true);
  });

  it('fails Pods whose image contains does-not-exist on its own', async () => {
    await apply(taskManagers('typo', 1, 'flink:does-not-exist', 1));
    await expect
      .poll(async () => condition(await read('typo'), 'Progressing')?.reason, { timeout: 4_000 })
      .toBe('ProgressDeadlineExceeded');
    const [pod] = await pods('app=typo');
    expect(pod!.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ImagePullBackOff');
  });

  it('keeps Pods pending while the readiness delay is long', async () => {
    standin.setReadinessDelay(60_000);
    try {
      await apply(taskManagers('slow', 1));
      await expect.poll(async () => (await pods('app=slow')).length).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await read('slow')).status?.readyReplicas).toBeUndefined();
    } finally {
      standin.setReadinessDelay(300);
    }
    await expect.poll(async () => (await read('slow')).status?.readyReplicas, { timeout: 3_000 }).toBe(1);
  });

  it('runs StatefulSet Pods with ordinal names and creates their volume claims', async () => {
    const labels = { app: 'zk' };
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'zk', namespace },
      spec: {
        replicas: 3,
        serviceName: 'zk',
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'zookeeper', image: 'zookeeper:3.8' }] } },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    await expect
      .poll(async () => (await apps.readNamespacedStatefulSet({ name: 'zk', namespace })).status?.readyReplicas, {
        timeout: 3_000,
      })
      .toBe(3);
    expect((await pods('app=zk')).map((p) => p.metadata?.name)).toEqual(['zk-0', 'zk-1', 'zk-2']);
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: 'app=zk' });
    expect(claims.items.map((c) => [c.metadata?.name, c.status?.phase])).toEqual([
      ['data-zk-0', 'Bound'],
      ['data-zk-1', 'Bound'],
      ['data-zk-2', 'Bound'],
    ]);
  });
});
