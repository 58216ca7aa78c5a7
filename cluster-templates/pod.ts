import type {
  V1Container,
  V1ContainerPort,
  V1PodSecurityContext,
  V1PodTemplateSpec,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import type { FlinkRole } from '../functions/core/flink-configuration.ts';
import { COMPONENT_NAMES, PORTS } from '../functions/core/naming.ts';
import { configChecksum, configMounts, configVolume } from './config-map.ts';
import { type Part, partLabels, selectorLabels } from './labels.ts';

/** The official Flink image's `flink` user and group; the proxy runs as the same non-root id. */
export const POD_USER_ID = 9999;

/** Pod template annotation that changes when the configuration a pod mounts changes, so a changed config rolls it. */
export const CONFIG_CHECKSUM_ANNOTATION = 'flinkplane.io/config-checksum';

const TMP_VOLUME = 'tmp';

/** Kubernetes CPU quantity in whole millicores (the spec allows no finer step): 0.3 cores is `300m`. */
export function cpuQuantity(cores: number): string {
  return `${Math.round(cores * 1000)}m`;
}

/** Kubernetes memory quantity: Flink's `m` (`…memory.process.size`) is a mebibyte, so MB maps to `Mi`. */
export function memoryQuantity(memoryMB: number): string {
  return `${memoryMB}Mi`;
}

/** Requests equal to limits: the pod is Guaranteed QoS, and Flink's memory model is sized to exactly this. */
export function fixedResources(cpu: number, memoryMB: number): V1ResourceRequirements {
  const amounts = { cpu: cpuQuantity(cpu), memory: memoryQuantity(memoryMB) };
  return { requests: { ...amounts }, limits: { ...amounts } };
}

/** Meets the Pod Security Standard `restricted`, which the tenant namespace enforces. */
export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: POD_USER_ID,
    runAsGroup: POD_USER_ID,
    fsGroup: POD_USER_ID,
    // Re-owning the whole JAR volume on every start is slow once it holds many JARs; only do it when the root differs.
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Container hardening. Flink keeps a writable root filesystem: the image's entrypoint and scripts write under
 * `/opt/flink` (logs, the rendered configuration); the proxy needs none and gets a read-only one.
 */
export function containerSecurityContext(readOnlyRootFilesystem: boolean): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

/** An `emptyDir` for `/tmp` (Flink's `io.tmp.dirs` spills there), so no pod writes temporary files to the image. */
export function tmpVolume(): V1Volume {
  return { name: TMP_VOLUME, emptyDir: {} };
}

export function tmpMount(): V1VolumeMount {
  return { name: TMP_VOLUME, mountPath: '/tmp' };
}

/** Schedules the pods in the tenant's zone; the JAR volume is zonal (EBS) and binds in the zone of its first pod. */
export function zoneNodeSelector(cluster: EffectiveCluster): Record<string, string> {
  return { 'topology.kubernetes.io/zone': cluster.spec.zone };
}

/** The annotations the platform's Prometheus discovers scrape targets by. */
export function prometheusAnnotations(port: number): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' };
}

/** What differs between the JobManager and the TaskManager pod. */
export interface FlinkPodOptions {
  readonly role: FlinkRole;
  readonly part: Extract<Part, 'jobManager' | 'taskManager'>;
  readonly cpu: number;
  readonly memoryMB: number;
  readonly ports: readonly V1ContainerPort[];
  readonly probes: Pick<V1Container, 'livenessProbe' | 'readinessProbe' | 'startupProbe'>;
  /** Volumes beyond the configuration and `/tmp`. @default none */
  readonly volumes?: readonly V1Volume[];
  readonly volumeMounts?: readonly V1VolumeMount[];
}

/** The pod template of a Flink process: the platform image started in `role` with its rendered configuration. */
export function flinkPodTemplate(cluster: EffectiveCluster, options: FlinkPodOptions): V1PodTemplateSpec {
  return {
    metadata: {
      labels: partLabels(cluster, options.part),
      annotations: {
        ...prometheusAnnotations(PORTS.metrics),
        [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(cluster, options.role),
      },
    },
    spec: {
      serviceAccountName: cluster.names.serviceAccount,
      // ZooKeeper HA needs no Kubernetes API; EKS Pod Identity projects its own token whatever this says.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurityContext(),
      nodeSelector: zoneNodeSelector(cluster),
      containers: [
        {
          name: options.role,
          image: cluster.image,
          args: [options.role],
          env: [
            // The image's entrypoint writes this into the configuration; it must agree with the rendered file.
            { name: 'JOB_MANAGER_RPC_ADDRESS', value: COMPONENT_NAMES.jobManager },
          ],
          ports: [...options.ports],
          // A JVM that fails to start says why in its last log lines: they become the termination message.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          resources: fixedResources(options.cpu, options.memoryMB),
          ...options.probes,
          securityContext: containerSecurityContext(false),
          volumeMounts: [...configMounts(cluster, options.role), tmpMount(), ...(options.volumeMounts ?? [])],
        },
      ],
      volumes: [configVolume(), tmpVolume(), ...(options.volumes ?? [])],
    },
  };
}

/** The Deployment selector of a part. */
export function podSelector(cluster: EffectiveCluster, part: Part) {
  return { matchLabels: selectorLabels(cluster, part) };
}
