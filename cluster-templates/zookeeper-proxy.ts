import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { FlinkplaneError } from '../functions/core/errors.ts';
import { COMPONENT_NAMES, PORTS } from '../functions/core/naming.ts';
import type { ZooKeeperIdentity } from '../functions/core/ports.ts';
import { FIXED_SIZES } from '../functions/core/sizing.ts';
import { objectMeta, partLabels, selectorLabels } from './labels.ts';
import {
  containerSecurityContext,
  fixedResources,
  podSecurityContext,
  prometheusAnnotations,
  tmpMount,
  tmpVolume,
  zoneNodeSelector,
} from './pod.ts';

export const IDENTITY_KEY = 'identity';
/** The control plane's ZooKeeper ACL id: the proxy grants it ALL wherever it rewrites an open ACL, so purge can delete. */
export const GRANT_ACL_KEY = 'grant-acl';
const IDENTITY_DIR = '/etc/zookeeper-proxy';
const IDENTITY_VOLUME = 'identity';

/**
 * The Secret `zookeeper-proxy-identity` with `identity` = `user:password`. Only the deploy workflow, which holds the
 * password, builds it; a render without an identity has no Secret at all rather than a placeholder that an apply
 * could write over the real one.
 */
export function buildZooKeeperProxySecret(
  cluster: EffectiveCluster,
  identity: ZooKeeperIdentity,
  controlPlaneAclId?: string,
): V1Secret {
  const malformed =
    identity.user.length === 0 || identity.user.includes(':') || /[\r\n]/.test(identity.user + identity.password);
  if (malformed) {
    const message = 'The ZooKeeper identity needs a non-empty user without ":" and a single-line password';
    throw new FlinkplaneError('internal', message, { tenant: cluster.tenant });
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(cluster, 'zookeeperProxy', COMPONENT_NAMES.zookeeperProxySecret),
    type: 'Opaque',
    // `data`, not `stringData`: it is what the API server returns, so a diff against the live object converges.
    data: {
      [IDENTITY_KEY]: Buffer.from(`${identity.user}:${identity.password}`, 'utf8').toString('base64'),
      ...(controlPlaneAclId
        ? { [GRANT_ACL_KEY]: Buffer.from(`digest:${controlPlaneAclId}\n`, 'utf8').toString('base64') }
        : {}),
    },
  };
}

/** The proxy's arguments: it listens for the tenant's Flink and confines it to the tenant's chroot upstream. */
export function zookeeperProxyArgs(cluster: EffectiveCluster): string[] {
  return [
    '--listen',
    `0.0.0.0:${PORTS.zookeeperProxy}`,
    '--upstream',
    cluster.platform.zookeeper.upstream,
    '--chroot',
    cluster.names.zookeeperChroot,
    '--auth-file',
    `${IDENTITY_DIR}/${IDENTITY_KEY}`,
    // Optional key: a render without the control plane's id mounts no such file, and the proxy reads none.
    '--grant-acl-file',
    `${IDENTITY_DIR}/${GRANT_ACL_KEY}`,
    '--metrics',
    `0.0.0.0:${PORTS.zookeeperProxyMetrics}`,
  ];
}

/**
 * The Deployment `zookeeper-proxy`: one proxy with fixed 0.1 CPU and 1024 MiB. It runs under the namespace's
 * `default` service account, not the Flink one, so it never gets the tenant's IAM role.
 */
export function buildZooKeeperProxyDeployment(cluster: EffectiveCluster): V1Deployment {
  const { cpu, memoryMB } = FIXED_SIZES.zookeeperProxy;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(cluster, 'zookeeperProxy', COMPONENT_NAMES.zookeeperProxy),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(cluster, 'zookeeperProxy') },
      template: {
        metadata: {
          labels: partLabels(cluster, 'zookeeperProxy'),
          annotations: prometheusAnnotations(PORTS.zookeeperProxyMetrics),
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          nodeSelector: zoneNodeSelector(cluster),
          containers: [
            {
              name: COMPONENT_NAMES.zookeeperProxy,
              image: cluster.platform.images.zookeeperProxy,
              args: zookeeperProxyArgs(cluster),
              terminationMessagePolicy: 'FallbackToLogsOnError',
              ports: [
                { name: 'zookeeper', containerPort: PORTS.zookeeperProxy, protocol: 'TCP' },
                { name: 'metrics', containerPort: PORTS.zookeeperProxyMetrics, protocol: 'TCP' },
              ],
              resources: fixedResources(cpu, memoryMB),
              readinessProbe: { tcpSocket: { port: 'zookeeper' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: {
                tcpSocket: { port: 'zookeeper' },
                initialDelaySeconds: 10,
                periodSeconds: 20,
                failureThreshold: 3,
              },
              securityContext: containerSecurityContext(true),
              volumeMounts: [{ name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR, readOnly: true }, tmpMount()],
            },
          ],
          volumes: [
            {
              name: IDENTITY_VOLUME,
              // Not optional: without its identity the proxy must not start (it would be refused upstream anyway).
              secret: { secretName: COMPONENT_NAMES.zookeeperProxySecret, defaultMode: 0o440 },
            },
            tmpVolume(),
          ],
        },
      },
    },
  };
}

/** The Service `zookeeper-proxy`: `high-availability.zookeeper.quorum` points at `zookeeper-proxy.<namespace>:7451`. */
export function buildZooKeeperProxyService(cluster: EffectiveCluster): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(cluster, 'zookeeperProxy', COMPONENT_NAMES.zookeeperProxy),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(cluster, 'zookeeperProxy'),
      ports: [{ name: 'zookeeper', port: PORTS.zookeeperProxy, targetPort: 'zookeeper', protocol: 'TCP' }],
    },
  };
}
