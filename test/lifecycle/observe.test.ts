import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
