import {
  AppsV1Api,
  CoreV1Api,
  type V1Deployment,
  type V1DeploymentStrategy,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { SimulatedPodRuntime } from '../../local/pod-runtimes/simulated/simulated-pod-runtime.ts';
import { ManualPodRuntime } from './support/manual-pod-runtime.ts';

// The controllers, scheduler and node agent of the Kubernetes stand-in, driven through a pod runtime the test controls.
let standin: KubeStandin | undefined;
afterEach(async () => {
  await standin?.stop();
  standin = undefined;
});

const namespace = 'work';

async function start(runtime: ManualPodRuntime | SimulatedPodRuntime) {
  standin = await startKubeStandin({ podRuntime: runtime });
  const kc = standin.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const pods = async (app: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
  const read = (name: string) => apps.readNamespacedDeployment({ name, namespace });
  return { core, apps, pods, read };
}

function deployment(
  name: string,
  replicas: number,
  options: { image?: string; strategy?: V1DeploymentStrategy; memory?: string } = {},
): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      ...(options.strategy ? { strategy: options.strategy } : {}),
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'main',
              image: options.image ?? 'app:1',
              ...(options.memory ? { resources: { requests: { memory: options.memory } } } : {}),
            },
          ],
        },
      },
    },
  };
}

const condition = (d: V1Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);
const names = (pods: V1Pod[]) => pods.map((p) => p.metadata!.name!);
const active = (pods: V1Pod[]) => pods.filter((p) => !p.metadata?.deletionTimestamp);
const ready = (pods: V1Pod[]) =>
  pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));

describe('kube stand-in workload controllers', () => {
  it('derives a Deployment status from its Pods status only', async () => {
    const runtime = new ManualPodRuntime();
    const { apps, pods, read } = await start(runtime);
    await apps.createNamespacedDeployment({ namespace, body: deployment('web', 2) });
    await expect.poll(async () => (await pods('web')).filter((p) => p.status?.phase === 'Running').length).toBe(2);
    const [a, b] = names(await pods('web'));
    // Nothing turns ready on its own: no timer anywhere decides it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await read('web')).status).toMatchObject({ replicas: 2, updatedReplicas: 2, unavailableReplicas: 2 });
    expect((await read('web')).status?.readyReplicas).toBeUndefined();

    runtime.setReady(namespace, a!, true);
    await expect.poll(async () => (await read('web')).status?.readyReplicas).toBe(1);
    expect(condition(await read('web'), 'Available')).toMatchObject({ status: 'False' });
    runtime.setReady(namespace, b!, true);
    await expect.poll(async () => (await read('web')).status?.availableReplicas).toBe(2);
    expect(condition(await read('web'), 'Available')).toMatchObject({ status: 'True' });
    expect(condition(await read('web'), 'Progressing')).toMatchObject({ reason: 'NewReplicaSetAvailable' });

    runtime.setReady(namespace, a!, false);
    await expect.poll(async () => (await read('web')).status?.readyReplicas).toBe(1);
    expect((await read('web')).status).toMatchObject({ availableReplicas: 1, unavailableReplicas: 1 });
    expect(condition(await read('web'), 'Available')).toMatchObject({ status: 'False' });
  });

  it('recreates: deletes the old Pods, waits until they are gone, then creates the new ones', async () => {
    const runtime = new ManualPodRuntime();
    const { apps, pods, read } = await start(runtime);
    const recreate = { type: 'Recreate' };
    await apps.createNamespacedDeployment({ namespace, body: deployment('jm', 2, { strategy: recreate }) });
    await expect.poll(async () => (await pods('jm')).filter((p) => p.status?.phase === 'Running').length).toBe(2);
    for (const name of names(await pods('jm'))) runtime.setReady(namespace, name, true);
    await expect.poll(async () => (await read('jm')).status?.availableReplicas).toBe(2);
    const old = names(await pods('jm'));

    runtime.holdDeletions();
    await apps.replaceNamespacedDeployment({
      name: 'jm',
      namespace,
      body: deployment('jm', 2, { strategy: recreate, image: 'app:2' }),
    });
    await expect.poll(async () => runtime.deletions.map((d) => d.pod).sort()).toEqual([...old].sort());
    expect(runtime.deletions.map((d) => d.grace)).toEqual([30, 30]);
    // The old Pods are terminating, no new Pod exists, and the Deployment is not available with 0 ready Pods.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = await pods('jm');
    expect(names(during).sort()).toEqual([...old].sort());
    expect(during.every((p) => p.metadata?.deletionTimestamp)).toBe(true);
    const status = (await read('jm')).status;
    expect(status?.readyReplicas).toBeUndefined();
    expect(condition(await read('jm'), 'Available')).toMatchObject({ status: 'False' });

    runtime.releaseDeletions();
    await expect.poll(async () => names(await pods('jm')).filter((n) => old.includes(n))).toEqual([]);
    await expect.poll(async () => (await pods('jm')).length).toBe(2);
    expect((await pods('jm')).map((p) => p.spec?.containers[0]?.image)).toEqual(['app:2', 'app:2']);
  });

  it('rolls within maxSurge and maxUnavailable', async () => {
    const runtime = new ManualPodRuntime();
    const { apps, pods, read } = await start(runtime);
    const rolling = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    await apps.createNamespacedDeployment({ namespace, body: deployment('tm', 4, { strategy: rolling }) });
    await expect.poll(async () => (await pods('tm')).filter((p) => p.status?.phase === 'Running').length).toBe(4);
    for (const name of names(await pods('tm'))) runtime.setReady(namespace, name, true);
    await expect.poll(async () => (await read('tm')).status?.availableReplicas).toBe(4);
    const old = names(await pods('tm'));

    await apps.replaceNamespacedDeployment({
      name: 'tm',
      namespace,
      body: deployment('tm', 4, { strategy: rolling, image: 'app:2' }),
    });
    let steps = 0;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const now = active(await pods('tm'));
      expect(now.length).toBeLessThanOrEqual(5);
      expect(ready(now).length).toBeGreaterThanOrEqual(3);
      const fresh = now.filter((p) => !old.includes(p.metadata!.name!));
      if (fresh.length === 4 && now.length === 4 && ready(now).length === 4) break;
      for (const pod of fresh) if (ready([pod]).length === 0) runtime.setReady(namespace, pod.metadata!.name!, true);
      steps++;
      expect(steps).toBeLessThan(20);
    }
    // One old Pod goes at once (maxUnavailable 1) and one new one comes (maxSurge 1): more than one step.
    expect(steps).toBeGreaterThan(1);
    await expect.poll(async () => (await read('tm')).status?.updatedReplicas).toBe(4);
    expect(condition(await read('tm'), 'Progressing')).toMatchObject({ reason: 'NewReplicaSetAvailable' });
  });

  it('keeps a Pod Pending as Unschedulable while the node lacks memory, and schedules it once memory is freed', async () => {
    const { apps, core, pods, read } = await start(
      new SimulatedPodRuntime({ readinessDelayMs: 10, capacity: { memory: '4Gi' } }),
    );
    await apps.createNamespacedDeployment({ namespace, body: deployment('big', 1, { memory: '3Gi' }) });
    await expect.poll(async () => (await read('big')).status?.readyReplicas).toBe(1);
    await apps.createNamespacedDeployment({ namespace, body: deployment('late', 1, { memory: '2Gi' }) });
    await expect
      .poll(async () => (await pods('late'))[0]?.status?.conditions?.find((c) => c.type === 'PodScheduled'))
      .toMatchObject({
        status: 'False',
        reason: 'Unschedulable',
        message: '0/1 nodes are available: 1 Insufficient memory.',
      });
    const [pending] = await pods('late');
    expect(pending!.status?.phase).toBe('Pending');
    expect(pending!.spec?.nodeName).toBeUndefined();
    const events = await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${pending!.metadata!.name}`,
    });
    expect(events.items.map((e) => [e.type, e.reason])).toContainEqual(['Warning', 'FailedScheduling']);

    await apps.deleteNamespacedDeployment({ name: 'big', namespace });
    await expect.poll(async () => (await read('late')).status?.readyReplicas).toBe(1);
    expect((await pods('late'))[0]!.spec?.nodeName).toBe('kube-standin-node');
  });

  it('registers the runtime node as a Node object', async () => {
    await start(new SimulatedPodRuntime({ capacity: { memory: '8Gi' } }));
    const node = await standin!.kubeConfig().makeApiClient(CoreV1Api).readNode({ name: 'kube-standin-node' });
    expect(node.status?.allocatable).toMatchObject({ memory: '8Gi' });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });
});
