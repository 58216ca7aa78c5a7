import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Namespace,
  V1ObjectMeta,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { FlinkplaneError } from '../functions/core/errors.ts';
import type { KubeObject, ZooKeeperIdentity } from '../functions/core/ports.ts';
import { buildConfigMap } from './config-map.ts';
import { buildUiIngress } from './ingress.ts';
import { buildJobManagerDeployment, buildJobManagerService } from './jobmanager.ts';
import { RETAIN_LABEL } from './labels.ts';
import { buildNamespace } from './namespace.ts';
import { buildNetworkPolicies, type NetworkPolicy } from './network-policies.ts';
import { buildTaskManagerDisruptionBudget } from './pod-disruption-budget.ts';
import { buildServiceAccount } from './service-account.ts';
import { buildTaskManagerDeployment } from './taskmanager.ts';
import { buildJarVolumeClaim } from './volume.ts';
import {
  buildZooKeeperProxyDeployment,
  buildZooKeeperProxySecret,
  buildZooKeeperProxyService,
} from './zookeeper-proxy.ts';

export {
  deleteOnDestroySelector,
  RETAIN_LABEL,
  retainedSelector,
  TENANT_LABEL,
  tenantSelector,
} from './labels.ts';
export { buildZooKeeperIngressPolicy, type NetworkPolicy } from './network-policies.ts';

/** Every kind a tenant cluster is made of. */
export type TenantObject =
  | V1Namespace
  | V1ServiceAccount
  | V1Secret
  | V1ConfigMap
  | V1PersistentVolumeClaim
  | NetworkPolicy
  | V1Service
  | V1Deployment
  | V1PodDisruptionBudget
  | V1Ingress;

/** One object with what the applier needs to know about it. */
export interface TenantManifest {
  readonly object: TenantObject;
  /** Whether destroy keeps the object; the same as its `flinkplane.io/retain-on-destroy` label. */
  readonly retained: boolean;
  /** Objects of one stage are independent of each other; each stage needs the ones before it applied. */
  readonly stage: number;
}

export interface TenantManifestOptions {
  /**
   * The proxy's ZooKeeper digest identity. Without it no Secret is built (a render for people, e.g. the CLI, never
   * holds the password); the proxy then waits for a Secret the deploy workflow applies. @default none
   */
  readonly zookeeperIdentity?: ZooKeeperIdentity;
  /**
   * The control plane's ZooKeeper digest ACL id (`user:hash`); the proxy grants it ALL where it rewrites open ACLs,
   * so the operator's purge can delete what the tenant created. Kept in the Secret, never in the pod spec. @default none
   */
  readonly controlPlaneAclId?: string;
}

/**
 * The apply stages. Isolation (network policies) and everything the pods mount exist before any pod starts; the
 * proxy starts before Flink, which looks for its leader through it; the vhost appears last, when its backend exists.
 */
export const APPLY_STAGES = {
  namespace: 0,
  prerequisites: 1,
  services: 2,
  zookeeperProxy: 3,
  flink: 4,
  ui: 5,
} as const;

/** Every object of a tenant's Flink cluster, in dependency order, each with its stage and retention. */
export function buildTenantManifests(cluster: EffectiveCluster, options: TenantManifestOptions = {}): TenantManifest[] {
  const staged = (stage: number, ...objects: TenantObject[]) =>
    objects.map((object): TenantManifest => ({ object, retained: isRetained(object), stage }));
  const identity = options.zookeeperIdentity;
  return [
    ...staged(APPLY_STAGES.namespace, buildNamespace(cluster)),
    ...staged(
      APPLY_STAGES.prerequisites,
      buildServiceAccount(cluster),
      ...(identity ? [buildZooKeeperProxySecret(cluster, identity, options.controlPlaneAclId)] : []),
      buildConfigMap(cluster),
      buildJarVolumeClaim(cluster),
      ...buildNetworkPolicies(cluster),
    ),
    ...staged(APPLY_STAGES.services, buildJobManagerService(cluster), buildZooKeeperProxyService(cluster)),
    ...staged(APPLY_STAGES.zookeeperProxy, buildZooKeeperProxyDeployment(cluster)),
    ...staged(
      APPLY_STAGES.flink,
      buildJobManagerDeployment(cluster),
      buildTaskManagerDeployment(cluster),
      buildTaskManagerDisruptionBudget(cluster),
    ),
    ...staged(APPLY_STAGES.ui, buildUiIngress(cluster)),
  ];
}

/** Whether destroy keeps an object, read from its retain label (so it also works on objects read back live). */
export function isRetained(object: { readonly metadata?: V1ObjectMeta }): boolean {
  return object.metadata?.labels?.[RETAIN_LABEL] === 'true';
}

/** Groups manifests into their stages, in apply order; the objects of one group can be applied in parallel. */
export function applyStages(manifests: readonly TenantManifest[]): TenantManifest[][] {
  const byStage = new Map<number, TenantManifest[]>();
  for (const manifest of manifests) {
    const group = byStage.get(manifest.stage) ?? [];
    group.push(manifest);
    byStage.set(manifest.stage, group);
  }
  return [...byStage.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** The objects destroy deletes, grouped in reverse apply order: the vhost goes first, isolation is never touched. */
export function destroyStages(manifests: readonly TenantManifest[]): TenantManifest[][] {
  return applyStages(manifests.filter((manifest) => !manifest.retained)).reverse();
}

/**
 * The conversion to the core's plain `KubeObject` (what `ManifestRenderer` returns), checked rather than cast: every
 * applied object needs its apiVersion, kind and name.
 */
export function toKubeObject(object: TenantObject): KubeObject {
  const { apiVersion, kind, metadata } = object;
  if (!apiVersion || !kind || !metadata?.name) {
    throw new FlinkplaneError('internal', 'A tenant object lacks its apiVersion, kind or name', {
      apiVersion: apiVersion ?? null,
      kind: kind ?? null,
      name: metadata?.name ?? null,
    });
  }
  return object as unknown as KubeObject;
}

/** Keys that read best first; all other keys follow in code-point order, so output never depends on build order. */
const LEADING_KEYS = ['apiVersion', 'kind', 'metadata', 'name', 'namespace'];

/** Multi-document YAML (`---` before each object) with a stable key order, e.g. for `kubectl apply -f -`. */
export function toYamlDocuments(objects: readonly object[]): string {
  return objects.map((object) => `---\n${stringify(canonical(object), { lineWidth: 0 })}`).join('');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, canonical(item)]));
}

function rank(key: string): number {
  const index = LEADING_KEYS.indexOf(key);
  return index === -1 ? LEADING_KEYS.length : index;
}
