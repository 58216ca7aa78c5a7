import type { ClusterSpec } from './cluster-spec.ts';
import { buildEffectiveCluster } from './effective-cluster.ts';
import type { ConfigEntry } from './flink-configuration.ts';
import { COMPONENT_NAMES, haClusterId, haLocations, tenantNames } from './naming.ts';
import type { PlatformSettings } from './platform.ts';
import type { ActiveOperation, ClusterRecord, ClusterState, LastError, ObservedStatus } from './ports.ts';
import { FIXED_SIZES } from './sizing.ts';

/** A resource kept while the cluster is destroyed, so a redeploy restores the jobs. */
export interface RetainedResource {
  readonly kind: 'bucket' | 'zookeeper-namespace' | 'volume' | 'ha-state';
  readonly name: string;
}

/** What the API answers for a cluster. It never carries a credential. */
export interface ClusterView {
  readonly tenant: string;
  readonly state: ClusterState;
  readonly generation: number;
  readonly spec: ClusterSpec;
  readonly flinkConfiguration: {
    readonly jobmanager: readonly ConfigEntry[];
    readonly taskmanager: readonly ConfigEntry[];
  };
  readonly uiUrl: string;
  readonly zookeeperProxy: string;
  readonly zookeeperNamespace: string;
  readonly namespace: string;
  readonly bucket: string;
  readonly volume: { readonly name: string; readonly sizeGiB: number };
  readonly haClusterId: string;
  readonly previousHaClusterIds: readonly string[];
  readonly retained: readonly RetainedResource[];
  readonly observed: ObservedStatus | null;
  readonly operation: ActiveOperation | null;
  readonly lastError: LastError | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deployedAt: string | null;
  readonly destroyedAt: string | null;
}

/** The view of a stored cluster record. */
export function clusterView(record: ClusterRecord, platform: PlatformSettings): ClusterView {
  const cluster = buildEffectiveCluster(record.tenant, record.spec, platform, record.haEpoch);
  const names = tenantNames(record.tenant, platform);
  const currentId = haClusterId(record.tenant, record.haEpoch);
  const retained: RetainedResource[] =
    record.state === 'DESTROYED'
      ? [
          { kind: 'bucket', name: names.bucket },
          { kind: 'zookeeper-namespace', name: names.zookeeperChroot },
          { kind: 'volume', name: `${names.namespace}/${COMPONENT_NAMES.volume}` },
          { kind: 'ha-state', name: haLocations(names, currentId).zookeeperPath },
        ]
      : [];
  for (const previousId of record.previousHaClusterIds) {
    retained.push({ kind: 'ha-state', name: haLocations(names, previousId).zookeeperPath });
  }
  return {
    tenant: record.tenant,
    state: record.state,
    generation: record.generation,
    spec: record.spec,
    flinkConfiguration: cluster.configuration,
    uiUrl: names.uiUrl,
    zookeeperProxy: names.zookeeperProxyAddress,
    zookeeperNamespace: names.zookeeperChroot,
    namespace: names.namespace,
    bucket: names.bucket,
    volume: { name: COMPONENT_NAMES.volume, sizeGiB: FIXED_SIZES.jarVolumeGiB },
    haClusterId: currentId,
    previousHaClusterIds: record.previousHaClusterIds,
    retained,
    observed: record.observed ?? null,
    operation: record.operation ?? null,
    lastError: record.lastError ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    deployedAt: record.deployedAt ?? null,
    destroyedAt: record.destroyedAt ?? null,
  };
}
