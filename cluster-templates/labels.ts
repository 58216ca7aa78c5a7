import type { V1ObjectMeta } from '@kubernetes/client-node';
import { RETAIN_LABEL, TENANT_LABEL } from '../functions/core/destroy-contract.ts';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';

export {
  deleteOnDestroySelector,
  RETAIN_LABEL,
  retainedSelector,
  TENANT_LABEL,
  tenantSelector,
} from '../functions/core/destroy-contract.ts';
/** Value of `app.kubernetes.io/part-of` and `app.kubernetes.io/managed-by`. */
export const PLATFORM_NAME = 'flinkplane';

/** `app.kubernetes.io/name` of the Flink processes and the objects that serve only them. */
export const FLINK_APP = 'flink';
/** `app.kubernetes.io/name` of the proxy; the ZooKeeper namespace admits pods by it. */
export const ZOOKEEPER_PROXY_APP = 'zookeeper-proxy';
/** `app.kubernetes.io/name` of the objects that are the tenant's as a whole (namespace, isolation). */
export const TENANT_APP = 'flinkplane-tenant';

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'app.kubernetes.io/version',
} as const;

interface PartDefinition {
  readonly app: string;
  readonly component: string;
  /** Whether destroy keeps objects of this part. */
  readonly retained: boolean;
}

/**
 * The parts of a tenant cluster: which application each belongs to, its role, and whether destroy keeps it. This is
 * the one place that decides retention: the namespace (so the tenant's objects and quota stay put), the JAR volume
 * (uploaded JARs and the blob store survive a relaunch) and the network policies (isolation holds as long as the
 * namespace exists, also while a destroy is half done).
 */
export const PARTS = {
  namespace: { app: TENANT_APP, component: 'namespace', retained: true },
  networkPolicy: { app: TENANT_APP, component: 'network-policy', retained: true },
  jarVolume: { app: FLINK_APP, component: 'jar-volume', retained: true },
  serviceAccount: { app: FLINK_APP, component: 'service-account', retained: false },
  configuration: { app: FLINK_APP, component: 'configuration', retained: false },
  jobManager: { app: FLINK_APP, component: 'jobmanager', retained: false },
  taskManager: { app: FLINK_APP, component: 'taskmanager', retained: false },
  ui: { app: FLINK_APP, component: 'ui', retained: false },
  zookeeperProxy: { app: ZOOKEEPER_PROXY_APP, component: 'zookeeper-proxy', retained: false },
} as const satisfies Record<string, PartDefinition>;

export type Part = keyof typeof PARTS;

/** `app.kubernetes.io/instance`: one installation per tenant, named after its namespace so it is unique cluster-wide. */
export function instanceName(cluster: EffectiveCluster): string {
  return cluster.names.namespace;
}

/** The labels every object of a part carries. */
export function partLabels(cluster: EffectiveCluster, part: Part): Record<string, string> {
  const definition = PARTS[part];
  return {
    [LABELS.name]: definition.app,
    [LABELS.instance]: instanceName(cluster),
    [LABELS.component]: definition.component,
    [LABELS.partOf]: PLATFORM_NAME,
    [LABELS.managedBy]: PLATFORM_NAME,
    [LABELS.version]: partVersion(cluster, part),
    [TENANT_LABEL]: cluster.tenant,
    [RETAIN_LABEL]: definition.retained ? 'true' : 'false',
  };
}

/**
 * The labels a Deployment selects its pods by and a Service routes by. Deployment selectors are immutable, so these
 * leave out everything that may change between deploys (version, retention).
 */
export function selectorLabels(cluster: EffectiveCluster, part: Part): Record<string, string> {
  const definition = PARTS[part];
  return {
    [LABELS.name]: definition.app,
    [LABELS.instance]: instanceName(cluster),
    [LABELS.component]: definition.component,
  };
}

/** Selects both Flink processes (JobManager and TaskManagers) of the tenant. */
export function flinkPodLabels(cluster: EffectiveCluster): Record<string, string> {
  return { [LABELS.name]: FLINK_APP, [LABELS.instance]: instanceName(cluster) };
}

/** Metadata of a namespaced object of a part. */
export function objectMeta(
  cluster: EffectiveCluster,
  part: Part,
  name: string,
  annotations?: Record<string, string>,
): V1ObjectMeta {
  return {
    name,
    namespace: cluster.names.namespace,
    labels: partLabels(cluster, part),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/** Labels of platform-level objects that belong to no tenant (e.g. the ZooKeeper namespace's policy). */
export function platformLabels(app: string, component: string): Record<string, string> {
  return {
    [LABELS.name]: app,
    [LABELS.component]: component,
    [LABELS.partOf]: PLATFORM_NAME,
    [LABELS.managedBy]: PLATFORM_NAME,
  };
}

// A label value: at most 63 characters, alphanumerics with '-', '_' or '.' inside.
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The Flink release for the Flink objects and the tenant-wide ones; the proxy's own image tag for the proxy, so a
 * Flink upgrade does not restart the proxy.
 */
function partVersion(cluster: EffectiveCluster, part: Part): string {
  if (PARTS[part].app !== ZOOKEEPER_PROXY_APP) return cluster.version.release;
  return imageTag(cluster.platform.images.zookeeperProxy);
}

/** The tag of an image reference when it is a valid label value, else `unknown` (e.g. a digest-only reference). */
export function imageTag(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  const tag = colon === -1 ? '' : lastPart.slice(colon + 1);
  return tag.length > 0 && tag.length <= 63 && LABEL_VALUE.test(tag) ? tag : 'unknown';
}
