import { StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { renderYaml } from '../../infra/constructs/kubernetes-manifests.ts';
import {
  buildControlPlaneRbac,
  buildZookeeperTunnelRbac,
  CONTROL_PLANE_GROUP,
  controlPlaneRules,
  zookeeperTunnelRules,
} from '../../infra/kubernetes/control-plane-rbac.ts';
import { buildZookeeperEnsemble, zooCfg } from '../../infra/kubernetes/zookeeper.ts';

/** The kubernetes-models class of each kind; `validate()` checks the object against the Kubernetes OpenAPI schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ClusterRole: ClusterRole as never,
  ClusterRoleBinding: ClusterRoleBinding as never,
  Role: Role as never,
  RoleBinding: RoleBinding as never,
  Namespace: Namespace as never,
  ConfigMap: ConfigMap as never,
  Service: Service as never,
  StatefulSet: StatefulSet as never,
  PodDisruptionBudget: PodDisruptionBudget as never,
  NetworkPolicy: NetworkPolicy as never,
};

function validate(object: { kind?: string }): void {
  const { apiVersion: _apiVersion, kind, ...rest } = object as { apiVersion: string; kind: string };
  const Model = MODELS[kind];
  if (!Model) throw new Error(`no schema for ${kind}`);
  new Model(rest as never).validate();
}

const platform = parsePlatformSettings({ storageClassName: 'gp3' });
const ensemble = buildZookeeperEnsemble({ namespace: 'flinkplane-zookeeper', storageClassName: 'gp3' }, platform);
const byKind = (kind: string) => ensemble.objects.filter((object) => object.kind === kind);
// biome-ignore lint/suspicious/noExplicitAny: reading nested Kubernetes fields in assertions
const statefulSet = byKind('StatefulSet')[0] as any;

describe('control-plane RBAC', () => {
  it('uses no wildcard and no right that grants further rights', () => {
    const text = JSON.stringify(controlPlaneRules());
    expect(text).not.toContain('*');
    for (const word of ['escalate', 'bind', 'impersonate', 'rbac', 'nodes', 'watch', 'deletecollection']) {
      expect(text).not.toContain(word);
    }
  });

  it('grants no pod subresource cluster-wide but reading logs: no port-forward, exec, attach or proxy', () => {
    const subresources = controlPlaneRules().filter((rule) => (rule.resources ?? []).some((r) => r.includes('/')));
    // The log routes read pods/log (read-only); nothing that reaches into a pod.
    expect(subresources).toEqual([{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }]);
    expect(JSON.stringify(controlPlaneRules())).not.toMatch(/portforward|exec|attach|proxy/);
  });

  it('binds the ClusterRole to the access-entry group and builds valid objects', () => {
    const [role, binding] = buildControlPlaneRbac();
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: role.metadata?.name,
    });
    expect(binding.subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: CONTROL_PLANE_GROUP },
    ]);
    for (const object of [role, binding]) expect(() => validate(object)).not.toThrow();
  });
});

describe('control-plane ZooKeeper tunnel RBAC', () => {
  const [role, binding] = buildZookeeperTunnelRbac('flinkplane-zookeeper');

  it('grants only get, list on pods and get, create on pods/portforward, in the ZooKeeper namespace', () => {
    const grants = zookeeperTunnelRules().flatMap((rule) =>
      (rule.resources ?? []).map((resource) => `${rule.apiGroups?.join(',')}|${resource}: ${rule.verbs.join(',')}`),
    );
    expect(grants).toEqual(['|pods: get,list', '|pods/portforward: get,create']);
    expect(role.rules).toEqual(zookeeperTunnelRules());
    for (const rule of zookeeperTunnelRules()) {
      expect(rule.resourceNames).toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
    }
    expect(role.metadata?.namespace).toBe('flinkplane-zookeeper');
    expect(binding.metadata?.namespace).toBe('flinkplane-zookeeper');
  });

  it('is a namespaced Role bound to the access-entry group, and valid', () => {
    expect(role.kind).toBe('Role');
    expect(binding.kind).toBe('RoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name });
    expect(binding.subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: CONTROL_PLANE_GROUP },
    ]);
    for (const object of [role, binding]) expect(() => validate(object)).not.toThrow();
  });

  it('follows the ZooKeeper namespace it is given', () => {
    const [otherRole, otherBinding] = buildZookeeperTunnelRbac('shared-zk');
    expect([otherRole.metadata?.namespace, otherBinding.metadata?.namespace]).toEqual(['shared-zk', 'shared-zk']);
  });
});

describe('shared ZooKeeper ensemble', () => {
  it('builds only objects valid against the Kubernetes OpenAPI schema', () => {
    for (const object of [ensemble.namespace, ...ensemble.objects]) {
      expect(() => validate(object), object.kind).not.toThrow();
    }
  });

  it('runs three servers, never two on one node, spread over zones where possible', () => {
    expect(statefulSet.spec.replicas).toBe(3);
    const antiAffinity = statefulSet.spec.template.spec.affinity.podAntiAffinity;
    expect(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe(
      'topology.kubernetes.io/zone',
    );
    expect(statefulSet.spec.volumeClaimTemplates[0].spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'gp3',
    });
    expect(byKind('PodDisruptionBudget')[0]).toMatchObject({ spec: { maxUnavailable: 1 } });
  });

  it('runs as a non-root user with a read-only root file system, no privilege escalation and resource limits', () => {
    const pod = statefulSet.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    expect(pod.automountServiceAccountToken).toBe(false);
    const [container] = pod.containers;
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual({ cpu: '250m', memory: '1Gi' });
    expect(container.resources.limits).toEqual({ memory: '1Gi' });
    expect(ensemble.namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('enforces ACLs, disables reconfiguration and answers only ruok of the four-letter words', () => {
    const cfg = zooCfg('flinkplane-zookeeper', 3).split('\n');
    expect(cfg).toEqual(
      expect.arrayContaining([
        'skipACL=no',
        'reconfigEnabled=false',
        '4lw.commands.whitelist=ruok',
        'clientPort=2181',
        'server.1=zookeeper-0.zookeeper-headless.flinkplane-zookeeper.svc.cluster.local:2888:3888',
        'server.3=zookeeper-2.zookeeper-headless.flinkplane-zookeeper.svc.cluster.local:2888:3888',
      ]),
    );
    expect((byKind('ConfigMap')[0] as { data: Record<string, string> }).data['zoo.cfg']).toBe(
      zooCfg('flinkplane-zookeeper', 3),
    );
  });

  it('serves clients on a Service named zookeeper at port 2181 and peers on a headless Service', () => {
    const services = byKind('Service') as { metadata: { name: string }; spec: Record<string, unknown> }[];
    const client = services.find((service) => service.metadata.name === 'zookeeper');
    expect(client?.spec.ports).toEqual([{ name: 'client', port: 2181, targetPort: 'client', protocol: 'TCP' }]);
    const headless = services.find((service) => service.metadata.name === 'zookeeper-headless');
    expect(headless?.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  });

  it('admits only tenant ZooKeeper proxies on the client port, and the peers to each other', () => {
    // biome-ignore lint/suspicious/noExplicitAny: reading nested Kubernetes fields in assertions
    const policy = byKind('NetworkPolicy')[0] as any;
    expect(policy.metadata.namespace).toBe('flinkplane-zookeeper');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const [fromProxies, fromPeers] = policy.spec.ingress;
    expect(fromProxies.ports).toEqual([{ protocol: 'TCP', port: 2181 }]);
    expect(fromProxies.from).toHaveLength(1);
    expect(fromProxies.from[0].podSelector.matchLabels['app.kubernetes.io/name']).toBe('zookeeper-proxy');
    expect(fromProxies.from[0].namespaceSelector).toEqual({
      matchExpressions: [{ key: 'flinkplane.io/tenant', operator: 'Exists' }],
    });
    // A podSelector without a namespaceSelector: pods of the ZooKeeper namespace only.
    expect(fromPeers).toEqual({ from: [{ podSelector: {} }] });
  });

  it('refuses an ensemble that cannot keep a majority', () => {
    expect(() => buildZookeeperEnsemble({ namespace: 'zk', storageClassName: 'gp3', replicas: 4 }, platform)).toThrow(
      'odd number of at least 3',
    );
    expect(() => buildZookeeperEnsemble({ namespace: 'zk', storageClassName: 'gp3', replicas: 1 }, platform)).toThrow();
  });

  it('renders the namespace and the ensemble as multi-document YAML in apply order', () => {
    const documents = parseAllDocuments(renderYaml([ensemble.namespace, ...ensemble.objects])).map(
      (document) => document.toJS() as { kind: string },
    );
    expect(documents.map((document) => document.kind)).toEqual([
      'Namespace',
      'ConfigMap',
      'Service',
      'Service',
      'StatefulSet',
      'PodDisruptionBudget',
      'NetworkPolicy',
    ]);
  });
});
