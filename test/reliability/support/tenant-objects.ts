import { buildTenantManifests, toKubeObject } from '../../../cluster-templates/index.ts';
import { FIELD_MANAGER } from '../../../functions/adapters/kubernetes-applier.ts';
import type { ClusterSpec } from '../../../functions/core/cluster-spec.ts';
import { buildEffectiveCluster } from '../../../functions/core/effective-cluster.ts';
import type { PlatformSettings } from '../../../functions/core/platform.ts';
import type { KubeObject, ZooKeeperIdentity } from '../../../functions/core/ports.ts';
import type { KubeStandin } from '../../../local/kube-standin/server.ts';

/** Namespaces the stand-in creates on start; they belong to no tenant. */
export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** `Kind/name`, the identity of an object inside one namespace (the namespace itself is `Namespace/<name>`). */
export function objectId(object: { kind?: string; metadata?: { name?: string } }): string {
  return `${object.kind}/${object.metadata?.name}`;
}

/**
 * The objects a tenant's namespace must hold in a settled state: every rendered object while the cluster runs, only
 * the retained ones (namespace, network policies, JAR volume) once it is destroyed.
 */
export function expectedTenantObjects(options: {
  tenant: string;
  spec: ClusterSpec;
  platform: PlatformSettings;
  haEpoch: number;
  identity: ZooKeeperIdentity;
  state: 'RUNNING' | 'DESTROYED';
}): Map<string, KubeObject> {
  const cluster = buildEffectiveCluster(options.tenant, options.spec, options.platform, options.haEpoch);
  const manifests = buildTenantManifests(cluster, { zookeeperIdentity: options.identity });
  const kept = options.state === 'RUNNING' ? manifests : manifests.filter((manifest) => manifest.retained);
  return new Map(kept.map((manifest) => [objectId(manifest.object), toKubeObject(manifest.object)]));
}

/**
 * Whether the control plane wrote this object (server-side apply as its field manager). What the cluster writes on
 * its own (Pods of a Deployment, Events, the Node) is not the control plane's to create or delete.
 */
export function appliedByControlPlane(object: { metadata: unknown }): boolean {
  const managers = (object.metadata as { managedFields?: { manager?: string }[] }).managedFields ?? [];
  return managers.some((entry) => entry.manager === FIELD_MANAGER);
}

/** What the control plane applied and the stand-in holds for one namespace (the Namespace too), by id. */
export function storedNamespaceObjects(kube: KubeStandin, namespace: string): Map<string, KubeObject> {
  const found = new Map<string, KubeObject>();
  for (const object of kube.objects()) {
    if (!appliedByControlPlane(object)) continue;
    const metadata = object.metadata as { name: string; namespace?: string };
    if (object.kind === 'Namespace' && metadata.name === namespace) found.set(objectId(object), object as KubeObject);
    if (metadata.namespace === namespace) found.set(objectId(object), object as KubeObject);
  }
  return found;
}

/**
 * Where `actual` differs from `expected` when every field of `expected` must be in `actual` with the same value
 * (the API server adds defaults, never changes what was applied). Lists of scalars compare in order; lists of objects
 * as sets, because server-side apply merges keyed lists (volume mounts by path, ports by number) in its own order.
 */
export function subsetDifferences(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected a list of ${expected.length}, found ${JSON.stringify(actual)?.slice(0, 200)}`];
    }
    return expected.flatMap((item, index) => {
      if (item === null || typeof item !== 'object') return subsetDifferences(item, actual[index], `${path}[${index}]`);
      const matched = actual.some((candidate) => subsetDifferences(item, candidate).length === 0);
      return matched ? [] : [`${path}: no element matches ${JSON.stringify(item).slice(0, 200)}`];
    });
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${path}: expected an object, found ${JSON.stringify(actual)?.slice(0, 200)}`];
    }
    return Object.entries(expected).flatMap(([key, value]) =>
      value === undefined ? [] : subsetDifferences(value, (actual as Record<string, unknown>)[key], `${path}.${key}`),
    );
  }
  return Object.is(expected, actual)
    ? []
    : [`${path}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`];
}
