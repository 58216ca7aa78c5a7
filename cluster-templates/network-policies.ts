import type {
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { PORTS } from '../functions/core/naming.ts';
import type { PlatformSettings } from '../functions/core/platform.ts';
import {
  flinkPodLabels,
  LABELS,
  objectMeta,
  PLATFORM_NAME,
  platformLabels,
  selectorLabels,
  TENANT_LABEL,
  ZOOKEEPER_PROXY_APP,
} from './labels.ts';

/**
 * A NetworkPolicy in its wire form. client-node's model names the ingress rule's `from` field `_from` and only its
 * serializer maps the two; templates build what the API server and kubectl read. An applier
 * must therefore never hand these objects to client-node's serializer as if they were models: it would drop `from`,
 * and a rule without `from` admits every source. `loadAllYaml` of the rendered YAML gives proper models.
 */
export type NetworkPolicyIngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
export type NetworkPolicy = Omit<V1NetworkPolicy, 'spec'> & {
  spec?: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: NetworkPolicyIngressRule[] };
};

/** The label the API server puts on every namespace; unlike other labels, nobody can set it to a lie. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const DEFAULT_ZOOKEEPER_PORT = 2181;

/** The EKS Pod Identity Agent, which hands Flink pods the tenant role's credentials, listens here on every node. */
export const POD_IDENTITY_AGENT = { cidr: '169.254.170.23/32', port: 80 } as const;

export const NETWORK_POLICY_NAMES = {
  defaultDeny: 'default-deny',
  flinkInternal: 'flink-cluster-internal',
  uiFromIngress: 'flink-cluster-ui-from-ingress-controller',
  metricsFromMonitoring: 'metrics-from-monitoring',
  proxyFromFlink: 'zookeeper-proxy-from-flink',
  flinkEgress: 'flink-cluster-egress',
  proxyEgress: 'zookeeper-proxy-egress',
} as const;

/**
 * The tenant namespace's isolation. Everything is denied, in and out, then each policy opens one path:
 * Flink to Flink on RPC, blob and data ports (not REST); the ingress controller to the JobManager's REST port;
 * Prometheus to the metrics ports; Flink to its proxy; Flink out to DNS, its namespace and the internet minus the
 * platform's blocked ranges; the proxy out to DNS and the shared ZooKeeper only.
 *
 * With `alb-oidc` and `target-type: ip`, the ALB reaches pods from its subnets' addresses, not from a pod in
 * `ingressControllerNamespace`; the REST rule then admits nothing until the platform names the ALB subnets.
 */
export function buildNetworkPolicies(cluster: EffectiveCluster): NetworkPolicy[] {
  return [
    defaultDeny(cluster),
    flinkInternal(cluster),
    uiFromIngressController(cluster),
    metricsFromMonitoring(cluster),
    proxyFromFlink(cluster),
    flinkEgress(cluster),
    proxyEgress(cluster),
  ];
}

function policy(cluster: EffectiveCluster, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(cluster, 'networkPolicy', name),
    spec,
  };
}

function defaultDeny(cluster: EffectiveCluster): NetworkPolicy {
  // Egress is denied too, so a pod nobody wrote a policy for is cut off rather than open.
  return policy(cluster, NETWORK_POLICY_NAMES.defaultDeny, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
}

function flinkInternal(cluster: EffectiveCluster): NetworkPolicy {
  const flinkPods = { matchLabels: flinkPodLabels(cluster) };
  return policy(cluster, NETWORK_POLICY_NAMES.flinkInternal, {
    podSelector: flinkPods,
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: flinkPods }], ports: flinkInternalPorts() }],
  });
}

/** RPC, blob, data and metric query ports: the platform pins every one, so no port range is opened. */
export function flinkInternalPorts(): V1NetworkPolicyPort[] {
  return [PORTS.taskManagerData, PORTS.taskManagerRpc, PORTS.jobManagerRpc, PORTS.blob, PORTS.metricsQuery].map(
    (port) => tcp(port),
  );
}

function uiFromIngressController(cluster: EffectiveCluster): NetworkPolicy {
  return policy(cluster, NETWORK_POLICY_NAMES.uiFromIngress, {
    podSelector: { matchLabels: selectorLabels(cluster, 'jobManager') },
    policyTypes: ['Ingress'],
    ingress: [{ from: [namespacePeer(cluster.platform.ingressControllerNamespace)], ports: [tcp(PORTS.rest)] }],
  });
}

function metricsFromMonitoring(cluster: EffectiveCluster): NetworkPolicy {
  return policy(cluster, NETWORK_POLICY_NAMES.metricsFromMonitoring, {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [namespacePeer(cluster.platform.monitoringNamespace)],
        ports: [tcp(PORTS.metrics), tcp(PORTS.zookeeperProxyMetrics)],
      },
    ],
  });
}

function proxyFromFlink(cluster: EffectiveCluster): NetworkPolicy {
  return policy(cluster, NETWORK_POLICY_NAMES.proxyFromFlink, {
    podSelector: { matchLabels: selectorLabels(cluster, 'zookeeperProxy') },
    policyTypes: ['Ingress'],
    // A podSelector without a namespaceSelector means pods of this namespace only.
    ingress: [
      { from: [{ podSelector: { matchLabels: flinkPodLabels(cluster) } }], ports: [tcp(PORTS.zookeeperProxy)] },
    ],
  });
}

function flinkEgress(cluster: EffectiveCluster): NetworkPolicy {
  const { blockedEgressCidrs, tenantRoleArn } = cluster.platform;
  return policy(cluster, NETWORK_POLICY_NAMES.flinkEgress, {
    podSelector: { matchLabels: flinkPodLabels(cluster) },
    policyTypes: ['Egress'],
    egress: [
      dnsEgress(),
      // Own namespace: the other Flink processes and the proxy (which admits Flink on 7451 only).
      { to: [{ podSelector: {} }] },
      // Jobs reach the tenant bucket and their own sources and sinks; the platform blocks e.g. node and pod ranges.
      {
        to: [
          {
            ipBlock: {
              cidr: '0.0.0.0/0',
              ...(blockedEgressCidrs.length > 0 ? { except: [...blockedEgressCidrs] } : {}),
            },
          },
        ],
      },
      // Allowed even when a blocked range (link-local, to shut out the instance metadata) covers it.
      ...(tenantRoleArn
        ? [{ to: [{ ipBlock: { cidr: POD_IDENTITY_AGENT.cidr } }], ports: [tcp(POD_IDENTITY_AGENT.port)] }]
        : []),
    ],
  });
}

function proxyEgress(cluster: EffectiveCluster): NetworkPolicy {
  return policy(cluster, NETWORK_POLICY_NAMES.proxyEgress, {
    podSelector: { matchLabels: selectorLabels(cluster, 'zookeeperProxy') },
    policyTypes: ['Egress'],
    egress: [
      dnsEgress(),
      {
        to: [namespacePeer(cluster.platform.zookeeperNamespace)],
        ports: zookeeperClientPorts(cluster.platform).map((port) => tcp(port)),
      },
    ],
  });
}

/**
 * The policy of the shared ZooKeeper's namespace (platform-level; infra applies it once): ZooKeeper's client port
 * admits only tenant proxies, i.e. pods labelled `app.kubernetes.io/name: zookeeper-proxy` in a tenant namespace.
 * This is what confines Flink to its proxy: a Flink pod may reach ZooKeeper's address, but ZooKeeper refuses it.
 * Pods of the ZooKeeper namespace itself (the ensemble's peers) keep every port.
 */
export function buildZooKeeperIngressPolicy(platform: PlatformSettings): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'zookeeper-from-tenant-proxies',
      namespace: platform.zookeeperNamespace,
      labels: platformLabels('zookeeper', 'network-policy'),
    },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              // Only namespaces the platform made for a tenant; the label selector alone would admit any namespace.
              namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: 'Exists' }] },
              podSelector: {
                matchLabels: { [LABELS.name]: ZOOKEEPER_PROXY_APP, [LABELS.managedBy]: PLATFORM_NAME },
              },
            },
          ],
          ports: zookeeperClientPorts(platform).map((port) => tcp(port)),
        },
        { from: [{ podSelector: {} }] },
      ],
    },
  };
}

/** The client ports of `platform.zookeeper.upstream` (`host:port[,host:port…][/chroot]`); 2181 where none is given. */
export function zookeeperClientPorts(platform: PlatformSettings): number[] {
  const hosts = platform.zookeeper.upstream.split('/')[0]!.split(',');
  const ports = hosts.map((host) => {
    const match = /:(\d+)$/.exec(host.trim());
    return match ? Number(match[1]) : DEFAULT_ZOOKEEPER_PORT;
  });
  return [...new Set(ports)].sort((a, b) => a - b);
}

function dnsEgress() {
  return {
    to: [namespacePeer('kube-system')],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
}

function namespacePeer(namespace: string): V1NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } };
}

function tcp(port: number): V1NetworkPolicyPort {
  return { protocol: 'TCP', port };
}
