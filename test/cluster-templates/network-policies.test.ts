import type { V1Deployment, V1LabelSelector, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  buildTenantManifests,
  buildZooKeeperIngressPolicy,
  type NetworkPolicy,
  type TenantObject,
} from '../../cluster-templates/index.ts';
import type { PlatformSettings } from '../../functions/core/platform.ts';
import { clusterOf, find, IDENTITY, NGINX_PLATFORM } from './fixtures.ts';

// A small evaluator of NetworkPolicy semantics (no Kubernetes cluster runs in these tests): a connection is allowed
// when the source's egress and the destination's ingress both allow it; a pod no policy selects is unrestricted.

interface Pod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}
type Endpoint = { readonly pod: Pod } | { readonly ip: string };

interface World {
  readonly policies: readonly NetworkPolicy[];
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

function selects(selector: V1LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([name, value]) => labels[name] === value);
  const byExpression = (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        return value !== undefined && (expression.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(expression.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown operator ${expression.operator}`);
    }
  });
  return byLabel && byExpression;
}

function ipNumber(ip: string): number {
  return ip.split('.').reduce((total, part) => total * 256 + Number(part), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(base) / size);
}

function peerMatches(world: World, peer: V1NetworkPolicyPeer, policyNamespace: string, endpoint: Endpoint): boolean {
  if (peer.ipBlock) {
    if (!('ip' in endpoint)) return false;
    return (
      inCidr(endpoint.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((cidr) => inCidr(endpoint.ip, cidr))
    );
  }
  if (!('pod' in endpoint)) return false;
  const { pod } = endpoint;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, world.namespaces.get(pod.namespace) ?? {})) return false;
    return peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
  }
  return pod.namespace === policyNamespace && selects(peer.podSelector, pod.labels);
}

function portMatches(ports: readonly V1NetworkPolicyPort[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((candidate) => {
    if ((candidate.protocol ?? 'TCP') !== protocol) return false;
    if (candidate.port === undefined) return true;
    if (typeof candidate.port !== 'number') throw new Error('named ports are not evaluated');
    return candidate.endPort ? port >= candidate.port && port <= candidate.endPort : port === candidate.port;
  });
}

function policiesFor(world: World, pod: Pod, type: 'Ingress' | 'Egress'): NetworkPolicy[] {
  return world.policies.filter(
    (policy) =>
      policy.metadata?.namespace === pod.namespace &&
      (policy.spec?.policyTypes ?? ['Ingress']).includes(type) &&
      selects(policy.spec?.podSelector, pod.labels),
  );
}

function ingressAllows(world: World, target: Pod, source: Endpoint, port: number, protocol = 'TCP'): boolean {
  const policies = policiesFor(world, target, 'Ingress');
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    (policy.spec?.ingress ?? []).some(
      (rule) =>
        portMatches(rule.ports, port, protocol) &&
        (!rule.from ||
          rule.from.length === 0 ||
          rule.from.some((peer) => peerMatches(world, peer, target.namespace, source))),
    ),
  );
}

function egressAllows(world: World, source: Pod, target: Endpoint, port: number, protocol = 'TCP'): boolean {
  const policies = policiesFor(world, source, 'Egress');
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    (policy.spec?.egress ?? []).some(
      (rule) =>
        portMatches(rule.ports, port, protocol) &&
        (!rule.to ||
          rule.to.length === 0 ||
          rule.to.some((peer) => peerMatches(world, peer, source.namespace, target))),
    ),
  );
}

function connects(world: World, source: Pod, target: Endpoint, port: number, protocol = 'TCP'): boolean {
  if (!egressAllows(world, source, target, port, protocol)) return false;
  return 'pod' in target ? ingressAllows(world, target.pod, { pod: source }, port, protocol) : true;
}

// The world: two tenants as rendered, the ZooKeeper namespace's policy, and the platform's other namespaces.

function tenantObjects(tenant: string, spec = {}, platform: PlatformSettings = NGINX_PLATFORM): TenantObject[] {
  return buildTenantManifests(clusterOf(tenant, spec, platform), { zookeeperIdentity: IDENTITY }).map((m) => m.object);
}

function podOf(objects: readonly TenantObject[], deployment: string): Pod {
  const found = find<V1Deployment>(objects, 'Deployment', deployment);
  return { namespace: found.metadata!.namespace!, labels: found.spec!.template.metadata!.labels! };
}

function worldOf(...tenants: TenantObject[][]): World {
  const namespaces = new Map<string, Record<string, string>>();
  for (const name of ['ingress-nginx', 'monitoring', 'kube-system', 'flinkplane-zookeeper', 'default']) {
    namespaces.set(name, { 'kubernetes.io/metadata.name': name });
  }
  const policies: NetworkPolicy[] = [buildZooKeeperIngressPolicy(NGINX_PLATFORM)];
  for (const objects of tenants) {
    for (const object of objects) {
      if (object.kind === 'Namespace') {
        const name = object.metadata!.name!;
        namespaces.set(name, { ...object.metadata!.labels, 'kubernetes.io/metadata.name': name });
      }
      if (object.kind === 'NetworkPolicy') policies.push(object as NetworkPolicy);
    }
  }
  return { policies, namespaces };
}

const acme = tenantObjects('acme');
const globex = tenantObjects('globex');
const world = worldOf(acme, globex);
const jobManager = podOf(acme, 'flink-cluster-jobmanager');
const taskManager = podOf(acme, 'flink-cluster-taskmanager');
const proxy = podOf(acme, 'zookeeper-proxy');
const otherJobManager = podOf(globex, 'flink-cluster-jobmanager');
const otherTaskManager = podOf(globex, 'flink-cluster-taskmanager');
const otherProxy = podOf(globex, 'zookeeper-proxy');
const ingressController: Pod = { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
const prometheus: Pod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
const coreDns: Pod = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
const zookeeper: Pod = { namespace: 'flinkplane-zookeeper', labels: { 'app.kubernetes.io/name': 'zookeeper' } };

describe('tenant network policies', () => {
  it('admits the ingress controller to the JobManager REST port', () => {
    expect(ingressAllows(world, jobManager, { pod: ingressController }, 8081)).toBe(true);
    expect(ingressAllows(world, jobManager, { pod: ingressController }, 6123)).toBe(false);
    expect(ingressAllows(world, taskManager, { pod: ingressController }, 8081)).toBe(false);
  });

  it('refuses every other pod on the JobManager REST port, the tenant own ones included', () => {
    for (const source of [taskManager, proxy, otherJobManager, otherTaskManager, prometheus, coreDns]) {
      expect(ingressAllows(world, jobManager, { pod: source }, 8081), JSON.stringify(source)).toBe(false);
    }
  });

  it('admits only the ingress controller to 8081 in every policy that opens it', () => {
    const rules = world.policies
      .filter((policy) => policy.metadata?.namespace === 'tenant-acme')
      .flatMap((policy) => policy.spec?.ingress ?? [])
      .filter((rule) => portMatches(rule.ports, 8081, 'TCP'));
    expect(rules.map((rule) => rule.from)).toEqual([
      [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
    ]);
  });

  it('lets the Flink processes reach each other on the pinned RPC, blob, data and query ports only', () => {
    expect(connects(world, taskManager, { pod: jobManager }, 6123)).toBe(true);
    expect(connects(world, taskManager, { pod: jobManager }, 6124)).toBe(true);
    expect(connects(world, jobManager, { pod: taskManager }, 6122)).toBe(true);
    expect(connects(world, taskManager, { pod: taskManager }, 6121)).toBe(true);
    expect(connects(world, jobManager, { pod: taskManager }, 6125)).toBe(true);
    expect(connects(world, taskManager, { pod: taskManager }, 41_234)).toBe(false);
    expect(connects(world, taskManager, { pod: jobManager }, 8081)).toBe(false);
  });

  it("refuses another tenant's pods on every Flink port", () => {
    for (const port of [6121, 6122, 6123, 6124, 6125, 8081, 9163, 41_234]) {
      expect(ingressAllows(world, jobManager, { pod: otherTaskManager }, port), String(port)).toBe(false);
      expect(ingressAllows(world, taskManager, { pod: otherJobManager }, port), String(port)).toBe(false);
    }
  });

  it('admits only the tenant own Flink pods to its proxy', () => {
    expect(connects(world, jobManager, { pod: proxy }, 7451)).toBe(true);
    expect(connects(world, taskManager, { pod: proxy }, 7451)).toBe(true);
    expect(ingressAllows(world, proxy, { pod: otherTaskManager }, 7451)).toBe(false);
    expect(ingressAllows(world, proxy, { pod: otherProxy }, 7451)).toBe(false);
    expect(ingressAllows(world, proxy, { pod: prometheus }, 7451)).toBe(false);
    expect(ingressAllows(world, proxy, { pod: ingressController }, 7451)).toBe(false);
  });

  it("refuses pods of another namespace that carry the tenant's Flink labels", () => {
    const lookalike: Pod = { namespace: 'tenant-globex', labels: taskManager.labels };
    expect(ingressAllows(world, proxy, { pod: lookalike }, 7451)).toBe(false);
    expect(ingressAllows(world, jobManager, { pod: lookalike }, 6123)).toBe(false);
  });

  it('admits only the monitoring namespace to the metrics ports', () => {
    expect(ingressAllows(world, jobManager, { pod: prometheus }, 9163)).toBe(true);
    expect(ingressAllows(world, taskManager, { pod: prometheus }, 9163)).toBe(true);
    expect(ingressAllows(world, proxy, { pod: prometheus }, 9164)).toBe(true);
    expect(ingressAllows(world, jobManager, { pod: ingressController }, 9163)).toBe(false);
    expect(ingressAllows(world, proxy, { pod: otherTaskManager }, 9164)).toBe(false);
  });

  it('lets Flink out to DNS, the internet and the Pod Identity agent, but not to blocked ranges', () => {
    expect(connects(world, taskManager, { pod: coreDns }, 53, 'UDP')).toBe(true);
    expect(connects(world, jobManager, { ip: '52.218.1.10' }, 443)).toBe(true);
    expect(connects(world, jobManager, { ip: '10.0.3.4' }, 443)).toBe(false);
    expect(connects(world, taskManager, { ip: '169.254.169.254' }, 80)).toBe(false);
    expect(connects(world, taskManager, { ip: '169.254.170.23' }, 80)).toBe(true);
  });

  it('lets the proxy out only to DNS and the shared ZooKeeper client port', () => {
    expect(connects(world, proxy, { pod: coreDns }, 53, 'TCP')).toBe(true);
    expect(connects(world, proxy, { pod: zookeeper }, 2181)).toBe(true);
    expect(connects(world, proxy, { pod: zookeeper }, 2888)).toBe(false);
    expect(connects(world, proxy, { ip: '52.218.1.10' }, 443)).toBe(false);
    expect(connects(world, proxy, { pod: jobManager }, 6123)).toBe(false);
  });

  it('cuts off a pod no policy was written for', () => {
    const stray: Pod = { namespace: 'tenant-acme', labels: { app: 'debug' } };
    expect(ingressAllows(world, stray, { pod: jobManager }, 8080)).toBe(false);
    expect(egressAllows(world, stray, { ip: '52.218.1.10' }, 443)).toBe(false);
    expect(egressAllows(world, stray, { pod: coreDns }, 53, 'UDP')).toBe(false);
  });
});

describe("ZooKeeper namespace's policy", () => {
  it('admits tenant proxies to the client port', () => {
    expect(ingressAllows(world, zookeeper, { pod: proxy }, 2181)).toBe(true);
    expect(ingressAllows(world, zookeeper, { pod: otherProxy }, 2181)).toBe(true);
  });

  it('refuses Flink pods, so they reach ZooKeeper only through their proxy', () => {
    expect(ingressAllows(world, zookeeper, { pod: jobManager }, 2181)).toBe(false);
    expect(ingressAllows(world, zookeeper, { pod: taskManager }, 2181)).toBe(false);
  });

  it('refuses a pod that only looks like a proxy outside a tenant namespace', () => {
    const impostor: Pod = { namespace: 'default', labels: proxy.labels };
    expect(ingressAllows(world, zookeeper, { pod: impostor }, 2181)).toBe(false);
  });

  it("keeps the ensemble's own traffic open", () => {
    expect(ingressAllows(world, zookeeper, { pod: zookeeper }, 2888)).toBe(true);
  });

  it('admits the client ports of the platform upstream', () => {
    const platform = {
      ...NGINX_PLATFORM,
      zookeeper: { upstream: 'zk-0.zk:2281,zk-1.zk:2281/ignored', rootPath: '/fp' },
    };
    const ports = buildZooKeeperIngressPolicy(platform).spec?.ingress?.[0]?.ports;
    expect(ports).toEqual([{ protocol: 'TCP', port: 2281 }]);
  });
});
