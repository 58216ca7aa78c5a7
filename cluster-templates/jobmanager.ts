import type { V1ContainerPort, V1Deployment, V1Service } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { COMPONENT_NAMES, PORTS } from '../functions/core/naming.ts';
import { objectMeta, selectorLabels } from './labels.ts';
import { flinkPodTemplate, podSelector } from './pod.ts';
import { jarVolume, jarVolumeMount } from './volume.ts';

/** Named ports of the JobManager; the Service and the network policies refer to the same numbers. */
export const JOBMANAGER_PORTS: readonly V1ContainerPort[] = [
  { name: 'rpc', containerPort: PORTS.jobManagerRpc, protocol: 'TCP' },
  { name: 'blob', containerPort: PORTS.blob, protocol: 'TCP' },
  { name: 'rest', containerPort: PORTS.rest, protocol: 'TCP' },
  { name: 'metrics', containerPort: PORTS.metrics, protocol: 'TCP' },
];

/**
 * The Deployment `flink-cluster-jobmanager`: one JobManager that serves the UI and REST API and keeps uploaded JARs
 * on the JAR volume at `/storage`.
 */
export function buildJobManagerDeployment(cluster: EffectiveCluster): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(cluster, 'jobManager', COMPONENT_NAMES.jobManager),
    spec: {
      replicas: 1,
      selector: podSelector(cluster, 'jobManager'),
      // The JAR volume is ReadWriteOnce: a surge pod on another node could not attach it and would hang the rollout.
      // ZooKeeper HA recovers the jobs in the new pod, so stopping the old one first loses nothing.
      strategy: { type: 'Recreate' },
      template: flinkPodTemplate(cluster, {
        role: 'jobmanager',
        part: 'jobManager',
        cpu: cluster.spec.jobManager.cpu,
        memoryMB: cluster.spec.jobManager.memoryMB,
        ports: JOBMANAGER_PORTS,
        probes: {
          // `/config` answers only once the REST endpoint has a leader, i.e. the JobManager has won the election.
          readinessProbe: {
            httpGet: { path: '/config', port: 'rest' },
            initialDelaySeconds: 10,
            periodSeconds: 10,
            failureThreshold: 3,
          },
          livenessProbe: {
            tcpSocket: { port: 'rest' },
            initialDelaySeconds: 30,
            periodSeconds: 30,
            failureThreshold: 3,
          },
        },
        volumes: [jarVolume()],
        volumeMounts: [jarVolumeMount()],
      }),
    },
  };
}

/**
 * The Service `flink-cluster-jobmanager`: `jobmanager.rpc.address` and `rest.address` name it, the TaskManagers reach
 * RPC and blob through it, and the Ingress routes the UI to its REST port.
 */
export function buildJobManagerService(cluster: EffectiveCluster): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(cluster, 'jobManager', COMPONENT_NAMES.jobManager),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(cluster, 'jobManager'),
      ports: JOBMANAGER_PORTS.map((port) => ({
        name: port.name!,
        port: port.containerPort,
        targetPort: port.name!,
        protocol: 'TCP',
      })),
    },
  };
}
