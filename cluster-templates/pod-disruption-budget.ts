import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { COMPONENT_NAMES } from '../functions/core/naming.ts';
import { objectMeta, selectorLabels } from './labels.ts';

/**
 * Lets node drains evict one TaskManager at a time, so a drain never takes away all task slots at once.
 *
 * The single JobManager gets no budget on purpose: with one replica, any budget that protects it (`minAvailable: 1`
 * or `maxUnavailable: 0`) blocks every drain of its node until someone deletes the pod by hand, while ZooKeeper HA
 * already makes its eviction safe: the new pod wins the election and recovers the jobs from the HA storage.
 */
export function buildTaskManagerDisruptionBudget(cluster: EffectiveCluster): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(cluster, 'taskManager', COMPONENT_NAMES.taskManager),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(cluster, 'taskManager') },
    },
  };
}
