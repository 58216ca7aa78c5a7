import type { V1ContainerPort, V1Deployment } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { COMPONENT_NAMES, PORTS } from '../functions/core/naming.ts';
import { objectMeta } from './labels.ts';
import { flinkPodTemplate, podSelector } from './pod.ts';

export const TASKMANAGER_PORTS: readonly V1ContainerPort[] = [
  { name: 'rpc', containerPort: PORTS.taskManagerRpc, protocol: 'TCP' },
  { name: 'metrics', containerPort: PORTS.metrics, protocol: 'TCP' },
];

/** The Deployment `flink-cluster-taskmanager`: `instances` TaskManagers that register with the JobManager. */
export function buildTaskManagerDeployment(cluster: EffectiveCluster): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(cluster, 'taskManager', COMPONENT_NAMES.taskManager),
    spec: {
      replicas: cluster.spec.taskManager.instances,
      selector: podSelector(cluster, 'taskManager'),
      template: flinkPodTemplate(cluster, {
        role: 'taskmanager',
        part: 'taskManager',
        cpu: cluster.spec.taskManager.cpu,
        memoryMB: cluster.spec.taskManager.memoryMB,
        ports: TASKMANAGER_PORTS,
        probes: {
          livenessProbe: {
            tcpSocket: { port: 'rpc' },
            initialDelaySeconds: 30,
            periodSeconds: 60,
            failureThreshold: 3,
          },
        },
      }),
    },
  };
}
