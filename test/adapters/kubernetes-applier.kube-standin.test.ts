import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesApplier } from '../../functions/adapters/kubernetes-applier.ts';
import { COMPONENT_NAMES } from '../../functions/core/naming.ts';
import type { KubeObject, KubernetesFacts } from '../../functions/core/ports.ts';
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

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

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
