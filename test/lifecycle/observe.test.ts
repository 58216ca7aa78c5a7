import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedStatus } from '../../functions/core/ports.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';

// The observer reads Deployments and pods back from the Kubernetes stand-in, which simulates pod readiness.
describe('cluster state from observed pods and deployments (Kubernetes stand-in)', () => {
  let api: LocalApi;
  let token: string;
  const namespace = 'tenant-health';

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 20 });
    token = await api.registerTenant('health');
    await api.request('PUT', '/v1/tenants/health/flink-cluster', { token, body: {} });
    await waitForState(api, 'health', 'RUNNING');
  });
  afterAll(async () => api?.stop());

  it('reports DEGRADED when a running cluster loses a TaskManager, and RUNNING once it is back', async () => {
    const kube = api.local.kube!;
    kube.setReadinessDelay(60_000);
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: 'app.kubernetes.io/component=taskmanager',
    });
    expect(pods.items).toHaveLength(2);
    await core.deleteNamespacedPod({ namespace, name: pods.items[0]!.metadata!.name! });

    const degraded = await waitForState(api, 'health', 'DEGRADED');
    expect(degraded.observed).toMatchObject({ jobManagerReady: true, taskManagersReady: 1, taskManagersDesired: 2 });

    kube.setReadinessDelay(20);
    await waitForState(api, 'health', 'RUNNING');
  });

  it('reports FAILED with the reason from the pods and the deployment, and recovers when healed', async () => {
    const kube = api.local.kube!;
    kube.failDeployment(
      namespace,
      'flink-cluster-taskmanager',
      'ImagePullBackOff',
      'Back-off pulling image "flink:9.9"',
    );
    const failed = await waitForState(api, 'health', 'FAILED');
    expect(failed.observed.failed).toBe(true);
    expect(failed.observed.reason).toContain('ImagePullBackOff');
    expect(failed.observed.reason).toContain('flink-cluster-taskmanager');

    kube.healDeployment(namespace, 'flink-cluster-taskmanager');
    const running = await waitForState(api, 'health', 'RUNNING');
    expect(running.observed.reason).toBeUndefined();
  });

  it('quotes the exit code of a crashing container in the reason', async () => {
    const kube = api.local.kube!;
    kube.failDeployment(namespace, 'flink-cluster-jobmanager', 'CrashLoopBackOff', 'back-off 10s restarting failed');
    const failed = await waitForState(api, 'health', 'FAILED');
    expect(failed.observed.reason).toMatch(
      /flink-cluster-jobmanager-[^:]+: CrashLoopBackOff \(back-off 10s restarting failed\); last exit code \d+/,
    );
    kube.healDeployment(namespace, 'flink-cluster-jobmanager');
    await waitForState(api, 'health', 'RUNNING');
  });
});

// A change is RUNNING only once it has rolled out: the stand-in's Deployment controller replaces pods as its strategy
// says (TaskManagers RollingUpdate, JobManager Recreate), and readiness of new pods is held back here.
describe('RUNNING only once a change has rolled out (Kubernetes stand-in)', () => {
  let api: LocalApi;
  let token: string;
  const namespace = 'tenant-rollout';

  /** Reconciles until the observation matches, then answers the cluster's view. */
  async function observeUntil(check: (view: { state: string; observed: ObservedStatus }) => boolean) {
    for (let attempt = 0; ; attempt += 1) {
      await api.local.plane.reconcile();
      const view = (await api.request('GET', '/v1/tenants/rollout/flink-cluster', { token })).body;
      if (view.observed && check(view)) return view as { state: string; observed: ObservedStatus };
      if (attempt > 400) throw new Error(`no matching observation: ${JSON.stringify(view.observed)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const readyPods = async (component: string) => {
    const core = api.local.kube!.kubeConfig().makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/component=${component}` });
    return pods.items
      .filter((pod) => !pod.metadata?.deletionTimestamp)
      .map((pod) => ({
        name: pod.metadata!.name!,
        memory: pod.spec!.containers[0]!.resources?.limits?.memory,
        ready: !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      }));
  };

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 20 });
    token = await api.registerTenant('rollout');
    await api.request('PUT', '/v1/tenants/rollout/flink-cluster', { token, body: {} });
    await waitForState(api, 'rollout', 'RUNNING');
  });
  afterAll(async () => api?.stop());

  it('stays DEPLOYING after a TaskManager memory change while only the old pods are ready', async () => {
    const kube = api.local.kube!;
    const before = await readyPods('taskmanager');
    expect(before.map((pod) => pod.ready)).toEqual([true, true]);

    kube.setReadinessDelay(600_000);
    const update = await api.request('PUT', '/v1/tenants/rollout/flink-cluster', {
      token,
      body: { taskManager: { memoryMB: 4096 } },
    });
    expect(update.status).toBe(202);
    expect(update.body.state).toBe('DEPLOYING');

    // The controller has surged one new TaskManager (maxSurge 25% of 2 rounds up to 1) that is not ready.
    const rolling = await observeUntil((view) => view.observed.taskManagersUpdated === 1);
    const pods = await readyPods('taskmanager');
    expect(
      pods
        .filter((pod) => pod.ready)
        .map((pod) => pod.name)
        .sort(),
    ).toEqual(before.map((pod) => pod.name).sort());
    expect(pods.filter((pod) => !pod.ready)).toHaveLength(1);
    expect(rolling.state).toBe('DEPLOYING');
    expect(rolling.observed).toMatchObject({
      jobManagerReady: true,
      taskManagersReady: 2,
      taskManagersDesired: 2,
      taskManagersUpdated: 1,
      rolledOut: false,
      failed: false,
    });
    expect(rolling.observed.reason).toContain('flink-cluster-taskmanager: 1 of 2 pods updated');
    // More sweeps do not change the verdict while the new pod stays unready.
    await api.local.plane.reconcile();
    expect((await api.request('GET', '/v1/tenants/rollout/flink-cluster', { token })).body.state).toBe('DEPLOYING');

    kube.setReadinessDelay(20);
    const running = await waitForState(api, 'rollout', 'RUNNING');
    expect(running.observed).toMatchObject({ taskManagersUpdated: 2, taskManagersReady: 2, rolledOut: true });
    expect(running.observed.reason).toBeUndefined();
    const after = await readyPods('taskmanager');
    expect(after.every((pod) => pod.ready && !before.some((old) => old.name === pod.name))).toBe(true);
  });

  it('stays DEPLOYING without a ready JobManager while a JobManager change is recreated', async () => {
    const kube = api.local.kube!;
    kube.setReadinessDelay(600_000);
    const update = await api.request('PUT', '/v1/tenants/rollout/flink-cluster', {
      token,
      body: { taskManager: { memoryMB: 4096 }, jobManager: { memoryMB: 2048 } },
    });
    expect(update.status).toBe(202);

    // Recreate stops the old JobManager before it starts the new one: the downtime shows as jobManagerReady false.
    const recreating = await observeUntil((view) => !view.observed.jobManagerReady);
    expect(recreating.state).toBe('DEPLOYING');
    expect(recreating.observed).toMatchObject({ jobManagerReady: false, rolledOut: false });
    expect((await readyPods('jobmanager')).filter((pod) => pod.ready)).toEqual([]);

    kube.setReadinessDelay(20);
    const running = await waitForState(api, 'rollout', 'RUNNING');
    expect(running.observed).toMatchObject({ jobManagerReady: true, rolledOut: true });
  });
});
