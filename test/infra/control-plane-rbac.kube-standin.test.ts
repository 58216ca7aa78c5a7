/**
 * The control plane's ClusterRole judged against what the Kubernetes applier actually asks for: a deploy, observe, log
 * read, redeploy, destroy and purge cycle of a rendered tenant runs against the kube stand-in (a double that speaks the
 * Kubernetes API), its request log is read as RBAC attributes (verb, API group, resource), and each must be allowed
 * by the synthesized rules, while every rule grants only what some request used.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderManifestStages } from '../../cluster-templates/manifest-renderer.ts';
import { createKubernetesApplier } from '../../functions/adapters/kubernetes-applier.ts';
import { createPodLogs } from '../../functions/adapters/pod-logs.ts';
import { readablePods } from '../../functions/core/logs.ts';
import { buildControlPlaneRbac } from '../../infra/kubernetes/control-plane-rbac.ts';
import type { KubeRequestLogEntry } from '../../local/kube-standin/server.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { clusterOf, IDENTITY } from '../cluster-templates/fixtures.ts';

/** One RBAC check: `verb group/resource`, as the authorizer sees a request. */
type Attributes = string;

function attributes(verb: string, group: string, resource: string): Attributes {
  return `${verb} ${group}/${resource}`;
}

/**
 * What the authorizer checks for a logged request. An apply that creates its object (201) is also checked as
 * `create`; discovery (non-resource URLs) is granted to every authenticated user by the built-in
 * `system:discovery` role, not by this one.
 */
function requested(entry: KubeRequestLogEntry): Attributes[] {
  if (entry.verb === 'discovery' || entry.resource === undefined) return [];
  const resource = entry.subresource ? `${entry.resource}/${entry.subresource}` : entry.resource;
  const out = [attributes(entry.verb, entry.group ?? '', resource)];
  if (entry.verb === 'patch' && entry.status === 201) out.push(attributes('create', entry.group ?? '', resource));
  return out;
}

function granted(rules: readonly V1PolicyRule[]): Attributes[] {
  return rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => attributes(verb, group, resource))),
    ),
  );
}

let standin: KubeStandin;
const used = new Set<Attributes>();

beforeAll(async () => {
  standin = await startKubeStandin({ readinessDelayMs: 10 });
  const applier = createKubernetesApplier({ kubeConfig: async () => standin.kubeConfig() });
  const cluster = clusterOf('acme');
  const { namespace } = cluster.names;
  const stages = renderManifestStages(cluster, IDENTITY);
  // Deploy (creates), observe from the answer and afresh, redeploy (applies over live objects), destroy, purge.
  const applied = await applier.apply(stages);
  await applier.observe(namespace, applied);
  await applier.observe(namespace);
  await readLogs(createPodLogs({ kubeConfig: async () => standin.kubeConfig() }), namespace);
  await applier.apply(renderManifestStages(clusterOf('acme', { taskManager: { instances: 3 } }), IDENTITY));
  await applier.deleteNotRetained('acme', namespace);
  await applier.deleteNamespace(namespace);
  for (const entry of standin.requestLog) for (const a of requested(entry)) used.add(a);
});

afterAll(async () => standin?.stop());

/** The log routes' calls: list the namespace's pods, then tail a JobManager's log once its container runs. */
async function readLogs(podLogs: ReturnType<typeof createPodLogs>, namespace: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [pod] = readablePods(await podLogs.listPods(namespace));
    const log = pod
      ? await podLogs
          .readLog(namespace, { pod: pod.name, container: pod.containers[0]!, tailLines: 10, follow: false })
          .catch(() => undefined)
      : undefined;
    if (log) {
      for await (const _chunk of log) {
        // Drained: the tail ends by itself.
      }
      return;
    }
    if (Date.now() > deadline) throw new Error(`no readable pod in ${namespace} started`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("control-plane ClusterRole, derived from the applier's requests", () => {
  const [role] = buildControlPlaneRbac();
  const rules = role.rules ?? [];

  it('allows every request of a deploy, observe, log read, redeploy, destroy and purge cycle', () => {
    expect(used.size).toBeGreaterThan(0);
    const allowed = new Set(granted(rules));
    expect([...used].filter((a) => !allowed.has(a)).sort()).toEqual([]);
  });

  it('grants nothing the cycle did not use', () => {
    expect(
      granted(rules)
        .filter((a) => !used.has(a))
        .sort(),
    ).toEqual([]);
  });

  it('grants each verb on a resource once, without wildcards, resource names or non-resource URLs', () => {
    const all = granted(rules);
    expect(new Set(all).size).toBe(all.length);
    expect(JSON.stringify(rules)).not.toContain('*');
    for (const rule of rules) {
      expect(rule.resourceNames).toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });
});
