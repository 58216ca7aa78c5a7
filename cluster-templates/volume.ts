import type { V1PersistentVolumeClaim, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { COMPONENT_NAMES } from '../functions/core/naming.ts';
import { FIXED_SIZES } from '../functions/core/sizing.ts';
import { objectMeta } from './labels.ts';

/** Where the JobManager mounts the JAR volume; `web.upload.dir` and `blob.storage.directory` live under it. */
export const JAR_VOLUME_MOUNT_PATH = '/storage';
const JAR_VOLUME = 'jar-volume';

/**
 * The PersistentVolumeClaim `faas-volume` (20 GiB, ReadWriteOnce) for uploaded JARs and the blob store. Retained on
 * destroy, so a later deploy finds the tenant's JARs again.
 */
export function buildJarVolumeClaim(cluster: EffectiveCluster): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: objectMeta(cluster, 'jarVolume', COMPONENT_NAMES.volume),
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: cluster.platform.storageClassName,
      resources: { requests: { storage: `${FIXED_SIZES.jarVolumeGiB}Gi` } },
    },
  };
}

export function jarVolume(): V1Volume {
  return { name: JAR_VOLUME, persistentVolumeClaim: { claimName: COMPONENT_NAMES.volume } };
}

export function jarVolumeMount(): V1VolumeMount {
  return { name: JAR_VOLUME, mountPath: JAR_VOLUME_MOUNT_PATH };
}
