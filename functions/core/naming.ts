import type { PlatformSettings } from './platform.ts';

/** Fixed names of the reference: the same in every tenant namespace. */
export const COMPONENT_NAMES = {
  jobManager: 'flink-cluster-jobmanager',
  taskManager: 'flink-cluster-taskmanager',
  volume: 'faas-volume',
  zookeeperProxy: 'zookeeper-proxy',
  bucketComponent: 'flink-cluster-bucket',
  configMap: 'flink-cluster-config',
  serviceAccount: 'flink-cluster',
  ingress: 'flink-cluster-ui',
  zookeeperProxySecret: 'zookeeper-proxy-identity',
} as const;

export const PORTS = {
  jobManagerRpc: 6123,
  blob: 6124,
  rest: 8081,
  taskManagerRpc: 6122,
  taskManagerData: 6121,
  metricsQuery: 6125,
  metrics: 9163,
  zookeeperProxy: 7451,
  zookeeperProxyMetrics: 9164,
} as const;

/** Flink's ZooKeeper root inside the tenant chroot; the proxy maps it under `/<root>/tenants/<tenant>`. */
export const FLINK_ZOOKEEPER_ROOT = '/flink';

/** The names a tenant's cluster derives from the tenant name and the platform settings. */
export interface TenantNames {
  readonly tenant: string;
  readonly namespace: string;
  readonly bucket: string;
  readonly vhost: string;
  readonly uiUrl: string;
  readonly zookeeperChroot: string;
  readonly zookeeperProxyAddress: string;
  /** The digest user the tenant's proxy authenticates upstream as. */
  readonly zookeeperIdentity: string;
  readonly serviceAccount: string;
}

/** Derives every per-tenant name from a (valid) tenant name. */
export function tenantNames(tenant: string, platform: PlatformSettings): TenantNames {
  const namespace = `tenant-${tenant}`;
  const vhost = `flink-cluster-ui-${tenant}.${platform.domain}`;
  return {
    tenant,
    namespace,
    bucket: `${platform.bucketPrefix}${tenant}`,
    vhost,
    uiUrl: `${platform.ui.scheme}://${vhost}${platform.ui.port === undefined ? '' : `:${platform.ui.port}`}`,
    zookeeperChroot: `${platform.zookeeper.rootPath}/tenants/${tenant}`,
    zookeeperProxyAddress: `${COMPONENT_NAMES.zookeeperProxy}.${namespace}:${PORTS.zookeeperProxy}`,
    zookeeperIdentity: `tenant-${tenant}`,
    serviceAccount: COMPONENT_NAMES.serviceAccount,
  };
}

/**
 * The HA cluster id of a tenant's HA epoch. It stays the same across destroy and redeploy, so Flink finds its jobs
 * again; `restore: clean` moves to the next epoch and with it to a new ZooKeeper path and storage prefix.
 */
export function haClusterId(tenant: string, epoch: number): string {
  return `${tenant}-ha${epoch}`;
}

/** Where a HA epoch keeps its state in the tenant bucket and under the tenant chroot. */
export function haLocations(names: TenantNames, clusterId: string) {
  return {
    storageDir: `s3://${names.bucket}/${clusterId}/ha`,
    checkpointsDir: `s3://${names.bucket}/${clusterId}/checkpoints`,
    /** Savepoints stay at one place across epochs, so a clean start can still be restored from one by hand. */
    savepointsDir: `s3://${names.bucket}/savepoints`,
    zookeeperPath: `${names.zookeeperChroot}${FLINK_ZOOKEEPER_ROOT}/${clusterId}`,
    bucketPrefix: `${clusterId}/`,
  } as const;
}
