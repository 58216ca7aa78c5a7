import { ApiException, AppsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesApplier, FIELD_MANAGER } from '../../functions/adapters/kubernetes-applier.ts';
import { COMPONENT_NAMES } from '../../functions/core/naming.ts';
import { observedFromFacts, stateFrom } from '../../functions/core/observer.ts';
import type { KubeObject, KubernetesFacts } from '../../functions/core/ports.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { ManualPodRuntime } from '../kube-standin/support/manual-pod-runtime.ts';

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

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

const namespace = (name: string) => [[{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]];

/** A namespace with the JobManager and TaskManager Deployments, as the renderer stages them. */
function workloads(name: string, taskManagers: number, image = 'flink:1.20'): KubeObject[][] {
  const deployment = (component: string, replicas: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: component, namespace: name },
    spec: {
      replicas,
      selector: { matchLabels: { app: component } },
      template: {
        metadata: { labels: { app: component } },
        spec: { containers: [{ name: 'flink', image }] },
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

  it('observes from the answer of an apply, reading only the pods, and names the Deployments a fresh read names', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => configWithToken(standin.url, 'current-token') });
    const applied = await applier.apply(workloads('observed', 3));
    standin.clearRequestLog();
    const fromApply = await applier.observe('observed', applied);
    expect(resourceRequests()).toEqual(['list pods']);
    standin.clearRequestLog();
    const fresh = await applier.observe('observed');
    expect(resourceRequests().sort()).toEqual(['list deployments', 'list pods']);
    // The spec side is the same; the status side of the apply's answer may predate the controller, never run ahead.
    const specs = (facts: KubernetesFacts) =>
      facts.deployments.map(({ name, generation, desired }) => ({ name, generation, desired })).sort(byName);
    expect(specs(fromApply)).toEqual(specs(fresh));
    expect(specs(fromApply)).toEqual([
      { name: COMPONENT_NAMES.jobManager, generation: 1, desired: 1 },
      { name: COMPONENT_NAMES.taskManager, generation: 1, desired: 3 },
    ]);
    for (const deployment of fromApply.deployments) {
      const later = fresh.deployments.find((candidate) => candidate.name === deployment.name)!;
      expect(deployment.observedGeneration).toBeLessThanOrEqual(later.observedGeneration);
      expect(deployment.ready).toBe(0);
    }
  });

  it('reads the Deployments again when the apply it is given was to another namespace', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => configWithToken(standin.url, 'current-token') });
    const applied = await applier.apply(workloads('elsewhere', 2));
    await applier.apply(workloads('here', 4));
    standin.clearRequestLog();
    const observed = await applier.observe('here', applied);
    expect(resourceRequests().sort()).toEqual(['list deployments', 'list pods']);
    const taskManager = observed.deployments.find((deployment) => deployment.name === COMPONENT_NAMES.taskManager);
    expect(taskManager?.desired).toBe(4);
  });
});

// The facts the adapter reports while the stand-in's controller rolls a TaskManager change out, with readiness held by
// the test (no timer decides it), and what the core's observer makes of them.
describe('Kubernetes observer facts during a rollout (stand-in, readiness held by the test)', () => {
  let standin: KubeStandin;
  const runtime = new ManualPodRuntime();
  const ns = 'rolling';

  beforeAll(async () => {
    standin = await startKubeStandin({ podRuntime: runtime });
  });
  afterAll(async () => standin?.stop());

  const podsOf = (prefix: string) =>
    [...runtime.pods.keys()].filter((key) => key.startsWith(`${ns}/${prefix}-`)).map((key) => key.slice(ns.length + 1));
  const taskManagerFacts = async (applier: ReturnType<typeof createKubernetesApplier>) =>
    (await applier.observe(ns)).deployments.find((d) => d.name === COMPONENT_NAMES.taskManager)!;

  it('reports the old pods ready and one new pod updated, and the core keeps the cluster DEPLOYING', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => standin.kubeConfig() });
    await applier.apply(workloads(ns, 2));
    await expect
      .poll(() => podsOf(COMPONENT_NAMES.taskManager).length + podsOf(COMPONENT_NAMES.jobManager).length)
      .toBe(3);
    const old = podsOf(COMPONENT_NAMES.taskManager);
    for (const pod of [...old, ...podsOf(COMPONENT_NAMES.jobManager)]) runtime.setReady(ns, pod, true);
    const state = async () => stateFrom('DEPLOYING', observedFromFacts(await applier.observe(ns)));
    await expect.poll(state).toBe('RUNNING');

    const first = [...runtime.pods.keys()];
    const applied = await applier.apply(workloads(ns, 2, 'flink:2.2'));
    // The apply's answer predates the controller: the new generation is not observed yet.
    const fromApply = (await applier.observe(ns, applied)).deployments.find(
      (d) => d.name === COMPONENT_NAMES.taskManager,
    )!;
    expect(fromApply.generation).toBe(2);
    expect(stateFrom('RUNNING', observedFromFacts(await applier.observe(ns, applied)))).not.toBe('RUNNING');

    // maxSurge 25% of 2 rounds up to one new pod; maxUnavailable rounds down to 0, so both old pods stay.
    await expect.poll(async () => (await taskManagerFacts(applier)).updated).toBe(1);
    const rolling = await taskManagerFacts(applier);
    expect(rolling).toMatchObject({ generation: 2, observedGeneration: 2, desired: 2, replicas: 3, ready: 2 });
    const observed = observedFromFacts(await applier.observe(ns));
    expect(observed).toMatchObject({ taskManagersReady: 2, taskManagersUpdated: 1, rolledOut: false });
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');

    // Each new pod made ready lets the controller retire an old one and surge the next (the JobManager's image
    // changed too: it rolls alongside).
    for (let rounds = 0; (await state()) !== 'RUNNING'; rounds += 1) {
      for (const [key, entry] of runtime.pods) {
        if (!first.includes(key) && !entry.ready) runtime.setReady(ns, key.slice(ns.length + 1), true);
      }
      expect(rounds).toBeLessThan(500);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await taskManagerFacts(applier)).toMatchObject({ updated: 2, replicas: 2, ready: 2 });
    expect(podsOf(COMPONENT_NAMES.taskManager).some((pod) => old.includes(pod))).toBe(false);
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
