import type {
  V1ConfigMap,
  V1Namespace,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1Probe,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { LABELS, PLATFORM_NAME, platformLabels } from '../../cluster-templates/labels.ts';
import { buildZooKeeperIngressPolicy } from '../../cluster-templates/network-policies.ts';
import type { PlatformSettings } from '../../functions/core/platform.ts';

export const ZOOKEEPER_CLIENT_PORT = 2181;
const PEER_PORT = 2888;
const ELECTION_PORT = 3888;
/** The official image's user and group. */
const ZOOKEEPER_UID = 1000;

/** The shared ensemble: sizes and image. */
export interface ZookeeperEnsembleProps {
  /** Namespace of the ensemble; the tenant proxies' egress policy points at it. */
  readonly namespace: string;
  /**
   * Servers in the ensemble; odd, so a majority survives a lost zone.
   * @default 3
   */
  readonly replicas?: number;
  /**
   * The ZooKeeper image; ECR Public's mirror of the Docker official image, so pulls are not rate limited.
   * @default 'public.ecr.aws/docker/library/zookeeper:3.8.4'
   */
  readonly image?: string;
  /** StorageClass of the data volumes. */
  readonly storageClassName: string;
  /**
   * Size of each server's data volume.
   * @default '10Gi'
   */
  readonly storageSize?: string;
}

export const ZOOKEEPER_DEFAULTS = {
  replicas: 3,
  image: 'public.ecr.aws/docker/library/zookeeper:3.8.4',
  storageSize: '10Gi',
} as const;

const NAME = 'zookeeper';
const HEADLESS = 'zookeeper-headless';
const CONFIG = 'zookeeper-config';

/** The client address tenant proxies and the control plane connect to. */
export function zookeeperClientAddress(namespace: string): string {
  return `${NAME}.${namespace}.svc:${ZOOKEEPER_CLIENT_PORT}`;
}

/** The ensemble's `zoo.cfg`: ACLs enforced, no dynamic reconfiguration, only `ruok` of the four-letter words. */
export function zooCfg(namespace: string, replicas: number): string {
  const servers = Array.from(
    { length: replicas },
    (_, index) =>
      `server.${index + 1}=${NAME}-${index}.${HEADLESS}.${namespace}.svc.cluster.local:${PEER_PORT}:${ELECTION_PORT}`,
  );
  return [
    'tickTime=2000',
    'initLimit=10',
    'syncLimit=5',
    'dataDir=/data',
    `clientPort=${ZOOKEEPER_CLIENT_PORT}`,
    'standaloneEnabled=false',
    'reconfigEnabled=false',
    'skipACL=no',
    '4lw.commands.whitelist=ruok',
    'admin.enableServer=false',
    'quorumListenOnAllIPs=true',
    'autopurge.snapRetainCount=5',
    'autopurge.purgeInterval=24',
    ...servers,
    '',
  ].join('\n');
}

/**
 * The shared ZooKeeper ensemble as Kubernetes objects, in apply order: the namespace first (its own stage), then the
 * configuration, services, StatefulSet, disruption budget and the namespace's NetworkPolicy (the one in
 * `cluster-templates`, which admits only tenant proxies on the client port and keeps the peers' ports open).
 */
export function buildZookeeperEnsemble(
  props: ZookeeperEnsembleProps,
  platform: PlatformSettings,
): {
  namespace: V1Namespace;
  objects: (V1ConfigMap | V1Service | V1StatefulSet | V1PodDisruptionBudget | V1NetworkPolicy)[];
} {
  const replicas = props.replicas ?? ZOOKEEPER_DEFAULTS.replicas;
  if (replicas < 3 || replicas % 2 === 0) {
    throw new Error(`The ZooKeeper ensemble needs an odd number of at least 3 servers, not ${replicas}`);
  }
  const { namespace } = props;
  const selector = { [LABELS.name]: NAME, [LABELS.instance]: `${PLATFORM_NAME}-${NAME}` };
  const labels = (component: string) => ({ ...platformLabels(NAME, component), ...selector });
  const ruok: V1Probe = {
    exec: {
      command: [
        '/bin/bash',
        '-c',
        `exec 3<>/dev/tcp/127.0.0.1/${ZOOKEEPER_CLIENT_PORT} && printf ruok >&3 && [ "$(timeout 3 cat <&3)" = imok ]`,
      ],
    },
    timeoutSeconds: 5,
  };

  return {
    namespace: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: { ...platformLabels(NAME, 'namespace'), 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    },
    objects: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: CONFIG, namespace, labels: labels('configuration') },
        data: { 'zoo.cfg': zooCfg(namespace, replicas) },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: HEADLESS, namespace, labels: labels('peers') },
        spec: {
          clusterIP: 'None',
          // Peers must resolve each other before they are ready, or the first quorum never forms.
          publishNotReadyAddresses: true,
          selector,
          ports: [
            { name: 'client', port: ZOOKEEPER_CLIENT_PORT, targetPort: 'client', protocol: 'TCP' },
            { name: 'peer', port: PEER_PORT, targetPort: 'peer', protocol: 'TCP' },
            { name: 'election', port: ELECTION_PORT, targetPort: 'election', protocol: 'TCP' },
          ],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: NAME, namespace, labels: labels('client') },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: [{ name: 'client', port: ZOOKEEPER_CLIENT_PORT, targetPort: 'client', protocol: 'TCP' }],
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: NAME, namespace, labels: labels('server') },
        spec: {
          serviceName: HEADLESS,
          replicas,
          // All servers start together: none is ready before a quorum exists.
          podManagementPolicy: 'Parallel',
          updateStrategy: { type: 'RollingUpdate' },
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: labels('server') },
            spec: {
              automountServiceAccountToken: false,
              terminationGracePeriodSeconds: 30,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: ZOOKEEPER_UID,
                runAsGroup: ZOOKEEPER_UID,
                fsGroup: ZOOKEEPER_UID,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              affinity: {
                podAntiAffinity: {
                  // Never two servers on one node; spread over zones where the nodes allow it (volumes stay in theirs).
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    { labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' },
                  ],
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 100,
                      podAffinityTerm: {
                        labelSelector: { matchLabels: selector },
                        topologyKey: 'topology.kubernetes.io/zone',
                      },
                    },
                  ],
                },
              },
              containers: [
                {
                  name: NAME,
                  image: props.image ?? ZOOKEEPER_DEFAULTS.image,
                  // The server id is the pod ordinal + 1; the configuration comes from the ConfigMap, not the entrypoint.
                  command: [
                    '/bin/bash',
                    '-c',
                    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template literal
                    'echo $(( ${HOSTNAME##*-} + 1 )) > /data/myid && exec zkServer.sh start-foreground',
                  ],
                  env: [{ name: 'JVMFLAGS', value: '-Xms512m -Xmx512m' }],
                  ports: [
                    { name: 'client', containerPort: ZOOKEEPER_CLIENT_PORT, protocol: 'TCP' },
                    { name: 'peer', containerPort: PEER_PORT, protocol: 'TCP' },
                    { name: 'election', containerPort: ELECTION_PORT, protocol: 'TCP' },
                  ],
                  resources: {
                    requests: { cpu: '250m', memory: '1Gi' },
                    limits: { memory: '1Gi' },
                  },
                  readinessProbe: { ...ruok, periodSeconds: 10, failureThreshold: 3 },
                  livenessProbe: { ...ruok, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 4 },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [
                    { name: 'data', mountPath: '/data' },
                    { name: 'config', mountPath: '/conf/zoo.cfg', subPath: 'zoo.cfg', readOnly: true },
                    { name: 'logs', mountPath: '/logs' },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: CONFIG } },
                { name: 'logs', emptyDir: {} },
                { name: 'tmp', emptyDir: {} },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data', labels: labels('data') },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: props.storageClassName,
                resources: { requests: { storage: props.storageSize ?? ZOOKEEPER_DEFAULTS.storageSize } },
              },
            },
          ],
        },
      },
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: NAME, namespace, labels: labels('disruption-budget') },
        spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
      },
      buildZooKeeperIngressPolicy({ ...platform, zookeeperNamespace: namespace }),
    ],
  };
}
