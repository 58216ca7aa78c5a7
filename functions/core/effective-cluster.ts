import { type FlinkVersion, findFlinkVersion, flinkImage } from './catalog.ts';
import type { ClusterSpec } from './cluster-spec.ts';
import { FlinkplaneError } from './errors.ts';
import {
  type ConfigEntry,
  type FlinkRole,
  renderConfigurationEntries,
  renderConfigurationFile,
} from './flink-configuration.ts';
import { haClusterId, haLocations, type TenantNames, tenantNames } from './naming.ts';
import type { PlatformSettings } from './platform.ts';

/** Everything the Kubernetes objects of one tenant cluster are built from. */
export interface EffectiveCluster {
  readonly tenant: string;
  readonly spec: ClusterSpec;
  readonly version: FlinkVersion;
  readonly names: TenantNames;
  readonly haClusterId: string;
  readonly ha: ReturnType<typeof haLocations>;
  readonly image: string;
  readonly configuration: Readonly<Record<FlinkRole, readonly ConfigEntry[]>>;
  readonly configurationFiles: Readonly<Record<FlinkRole, string>>;
  readonly platform: PlatformSettings;
}

/** Builds the effective cluster of a validated spec for the given HA epoch. */
export function buildEffectiveCluster(
  tenant: string,
  spec: ClusterSpec,
  platform: PlatformSettings,
  haEpoch: number,
): EffectiveCluster {
  const version = findFlinkVersion(spec.flinkVersion);
  if (!version) {
    throw new FlinkplaneError('invalid_cluster_spec', `flinkVersion "${spec.flinkVersion}" is not offered`, {
      field: 'flinkVersion',
      value: spec.flinkVersion,
    });
  }
  const names = tenantNames(tenant, platform);
  const clusterId = haClusterId(tenant, haEpoch);
  const input = {
    version,
    names,
    haClusterId: clusterId,
    jobManagerMemoryMB: spec.jobManager.memoryMB,
    taskManagerMemoryMB: spec.taskManager.memoryMB,
    tenantConfiguration: spec.flinkConfiguration,
    objectStorage: platform.objectStorage,
  };
  const jobmanager = renderConfigurationEntries(input, 'jobmanager');
  const taskmanager = renderConfigurationEntries(input, 'taskmanager');
  return {
    tenant,
    spec,
    version,
    names,
    haClusterId: clusterId,
    ha: haLocations(names, clusterId),
    image: flinkImage(platform.images.flinkRepository, version),
    configuration: { jobmanager, taskmanager },
    configurationFiles: {
      jobmanager: renderConfigurationFile(jobmanager, version),
      taskmanager: renderConfigurationFile(taskmanager, version),
    },
    platform,
  };
}
