import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { platformLabels } from '../../cluster-templates/labels.ts';

/** The Kubernetes group the control plane's EKS access entry puts its IAM role in. */
export const CONTROL_PLANE_GROUP = 'flinkplane:control-plane';
/** Name of the ClusterRole and its binding. */
export const CONTROL_PLANE_CLUSTER_ROLE = 'flinkplane-control-plane';

/** Name of the Role and RoleBinding in the ZooKeeper namespace that let the control plane tunnel to ZooKeeper. */
export const ZOOKEEPER_TUNNEL_ROLE = 'flinkplane-control-plane-zookeeper-tunnel';

/** What the control plane does to the objects it manages: server-side apply (patch), reads, and deletes. */
export const MANAGE_VERBS = ['get', 'list', 'create', 'patch', 'update', 'delete'] as const;
/** Pods are only observed: their readiness is the cluster's status. */
export const OBSERVE_VERBS = ['get', 'list'] as const;

/**
 * The rules of the control plane's ClusterRole: exactly the kinds the tenant manifests contain, plus pods to read
 * their status. No wildcard and nothing that grants further rights (no RBAC objects, no `escalate`/`bind`/`impersonate`).
 * It is a ClusterRole because the control plane creates the tenant namespaces themselves.
 */
export function controlPlaneRules(): V1PolicyRule[] {
  const manage = [...MANAGE_VERBS];
  return [
    {
      apiGroups: [''],
      resources: ['namespaces', 'serviceaccounts', 'configmaps', 'secrets', 'services', 'persistentvolumeclaims'],
      verbs: manage,
    },
    { apiGroups: [''], resources: ['pods'], verbs: [...OBSERVE_VERBS] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: manage },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses'], verbs: manage },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: manage },
  ];
}

/** The ClusterRole and the binding that gives it to {@link CONTROL_PLANE_GROUP}. */
export function buildControlPlaneRbac(): [V1ClusterRole, V1ClusterRoleBinding] {
  const labels = platformLabels('flinkplane-control-plane', 'rbac');
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CONTROL_PLANE_CLUSTER_ROLE, labels },
      rules: controlPlaneRules(),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: CONTROL_PLANE_CLUSTER_ROLE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CONTROL_PLANE_CLUSTER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: CONTROL_PLANE_GROUP }],
    },
  ];
}

/**
 * The rules of the control plane's Role in the ZooKeeper namespace: find the ZooKeeper pods and open a port-forward to
 * them, the only way the control plane (Lambdas outside the VPC) reaches ZooKeeper (functions/adapters/zookeeper-tunnel.ts).
 * Nothing else there: no exec, attach or proxy, no writes.
 *
 * A WebSocket port-forward is an HTTP GET, which the API server authorizes as `get` on `pods/portforward`; from
 * Kubernetes 1.35 (feature gate AuthorizePodWebsocketUpgradeCreatePermission, on by default) it also checks `create`,
 * the verb SPDY port-forwards (a POST) always needed. Hence both verbs.
 */
export function zookeeperTunnelRules(): V1PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get', 'create'] },
  ];
}

/**
 * The Role and RoleBinding in the ZooKeeper namespace that give {@link zookeeperTunnelRules} to
 * {@link CONTROL_PLANE_GROUP}. Apply them after the namespace exists (with the ensemble's objects).
 */
export function buildZookeeperTunnelRbac(namespace: string): [V1Role, V1RoleBinding] {
  const labels = platformLabels('flinkplane-control-plane', 'rbac');
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: ZOOKEEPER_TUNNEL_ROLE, namespace, labels },
      rules: zookeeperTunnelRules(),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: ZOOKEEPER_TUNNEL_ROLE, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ZOOKEEPER_TUNNEL_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: CONTROL_PLANE_GROUP }],
    },
  ];
}
