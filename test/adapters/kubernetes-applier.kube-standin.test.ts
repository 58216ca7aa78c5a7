import { ApiException, AppsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesApplier, FIELD_MANAGER } from '../../functions/adapters/kubernetes-applier.ts';
import { COMPONENT_NAMES } from '../../functions/core/naming.ts';
import type { KubeObject } from '../../functions/core/ports.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

function configWithToken(url: string, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'standin', server: url, skipTLSVerify: true }],
    users: [{ name: 'flinkplane', token }],
    contexts: [{ name: 'standin', cluster: 'standin', user: 'flinkplane' }],
    currentContext: 'standin',
  });
  return config;
}

const namespace = (name: string) => [[{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]];

/** A namespace with the JobManager and TaskManager Deployments, as the renderer stages them. */
function workloads(name: string, taskManagers: number): KubeObject[][] {
  const deployment = (component: string, replicas: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: component, namespace: name },
    spec: {
      replicas,
      selector: { matchLabels: { app: component } },
      template: {
        metadata: { labels: { app: component } },
        spec: { containers: [{ name: 'flink', image: 'flink:1.20' }] },
      },
    },
  });
  return [
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }],
    [deployment(COMPONENT_NAMES.jobManager, 1), deployment(COMPONENT_NAMES.taskManager, taskManagers)],
  ];
}

describe('Kubernetes applier against a stand-in that checks bearer tokens', () => {
  let standin: KubeStandin;

  /** The logged requests for resources, less client-node's discovery of them (cached per client). */
  const resourceRequests = () =>
    standin.requestLog.filter((entry) => entry.verb !== 'discovery').map((entry) => `${entry.verb} ${entry.resource}`);

  beforeAll(async () => {
    // Pods stay pending: the two observations compare equal only if nothing changes between them.
    standin = await startKubeStandin({ token: 'current-token', readinessDelayMs: 600_000 });
  });
  afterAll(async () => standin?.stop());

  it('signs a new token and tries again when the API server answers 401', async () => {
    let token = 'expired-token';
    let refreshes = 0;
    const applier = createKubernetesApplier({
      kubeConfig: async () => configWithToken(standin.url, token),
      onUnauthorized: () => {
        refreshes += 1;
        token = 'current-token';
      },
    });
    await applier.apply(namespace('refreshed'));
    expect(refreshes).toBe(1);
    expect(
      standin.objects().some((object) => object.kind === 'Namespace' && object.metadata.name === 'refreshed'),
    ).toBe(true);
  });

  it('answers a refused token with a coded error naming the status when nothing can refresh it', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => configWithToken(standin.url, 'wrong-token') });
    await expect(applier.apply(namespace('refused'))).rejects.toMatchObject({
      code: 'internal',
      details: { status: 401 },
    });
  });

  it('observes from the answer of an apply, reading only the pods, and sees what a fresh read sees', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => configWithToken(standin.url, 'current-token') });
    const applied = await applier.apply(workloads('observed', 3));
    standin.clearRequestLog();
    const fromApply = await applier.observe('observed', applied);
    expect(resourceRequests()).toEqual(['list pods']);
    standin.clearRequestLog();
    const fresh = await applier.observe('observed');
    expect(resourceRequests().sort()).toEqual(['list deployments', 'list pods']);
    expect(fromApply).toEqual(fresh);
    expect(fromApply).toMatchObject({ jobManagerReady: false, taskManagersDesired: 3 });
  });

  it('reads the Deployments again when the apply it is given was to another namespace', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => configWithToken(standin.url, 'current-token') });
    const applied = await applier.apply(workloads('elsewhere', 2));
    await applier.apply(workloads('here', 4));
    standin.clearRequestLog();
    const observed = await applier.observe('here', applied);
    expect(resourceRequests().sort()).toEqual(['list deployments', 'list pods']);
    expect(observed.taskManagersDesired).toBe(4);
  });
});

describe("Kubernetes applier's field ownership against another manager (kube stand-in, official client)", () => {
  let standin: KubeStandin;

  beforeAll(async () => {
    standin = await startKubeStandin({ readinessDelayMs: 600_000 });
  });
  afterAll(async () => standin?.stop());

  /** What the applier sends for one object, but without `force`: the request its forced apply overrides. */
  async function applyWithoutForce(object: KubeObject): Promise<{ code: number; message: string }> {
    const client = KubernetesObjectApi.makeApiClient(standin.kubeConfig());
    try {
      await client.patch(object, undefined, undefined, FIELD_MANAGER, false, PatchStrategy.ServerSideApply);
      return { code: 200, message: '' };
    } catch (error) {
      if (!(error instanceof ApiException)) throw error;
      return { code: error.code, message: (JSON.parse(error.body as string) as { message: string }).message };
    }
  }

  it('conflicts without force on a field another manager changed, naming it; with force it takes the field back', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => standin.kubeConfig() });
    const stages = workloads('contested', 2);
    await applier.apply(stages);
    // An operator scales the TaskManagers by hand: an Update by another manager takes .spec.replicas.
    await standin
      .kubeConfig()
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeployment({
        name: COMPONENT_NAMES.taskManager,
        namespace: 'contested',
        body: [{ op: 'replace', path: '/spec/replicas', value: 5 }],
        fieldManager: 'kubectl-scale',
      });
    const taskManagers = stages[1]!.find((o) => o.metadata.name === COMPONENT_NAMES.taskManager)!;

    expect(await applyWithoutForce(taskManagers)).toEqual({
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas',
    });
    // The JobManager, whose fields nobody else touched, applies without force.
    const jobManager = stages[1]!.find((o) => o.metadata.name === COMPONENT_NAMES.jobManager)!;
    expect((await applyWithoutForce(jobManager)).code).toBe(200);

    await applier.apply(stages);
    const live = standin
      .objects()
      .find((o) => o.kind === 'Deployment' && o.metadata.name === taskManagers.metadata.name);
    expect((live?.spec as { replicas?: number } | undefined)?.replicas).toBe(2);
    const managers = (live?.metadata.managedFields ?? [])
      .filter((e) => Object.hasOwn((e.fieldsV1 as { 'f:spec'?: object })['f:spec'] ?? {}, 'f:replicas'))
      .map((e) => e.manager);
    expect(managers).toEqual([FIELD_MANAGER]);
    expect((await applyWithoutForce(taskManagers)).code).toBe(200);
  });
});
