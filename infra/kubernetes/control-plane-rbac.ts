import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { platformLabels } from '../../cluster-templates/labels.ts';

/** The Kubernetes group the control plane's EKS access entry puts its IAM role in. */
export const CONTROL_PLANE_GROUP = 'flinkplane:control-plane';
/** Name of the ClusterRole and its binding. */
export const CONTROL_PLANE_CLUSTER_ROLE = 'flinkplane-control-plane';

/** Name of the Role and RoleBinding in the ZooKeeper namespace that let the control plane tunnel to ZooKeeper. */
export const ZOOKEEPER_TUNNEL_ROLE = 'flinkplane-control-plane-zookeeper-tunnel';

/**
 * The rules of the control plane's ClusterRole: exactly the verbs the Kubernetes applier uses on each kind, as
 * test/infra/control-plane-rbac.kube-standin.test.ts records them over a deploy, observe, redeploy, destroy and purge
 * cycle. Server-side apply is `patch`, and `create` when it creates the object; destroy lists the tenant kinds and
 * deletes those not retained (the JAR volume and the NetworkPolicies stay); purge deletes the namespace and reads it
 * until it is gone; the observer lists Deployments and Pods; the log routes list Pods and read `pods/log`. No wildcard, no `update`, and nothing that grants further
 * rights (no RBAC objects, no `escalate`/`bind`/`impersonate`). It is a ClusterRole because the control plane creates
 * the tenant namespaces themselves.
 */
export function controlPlaneRules(): V1PolicyRule[] {
  const destroyable = ['create', 'delete', 'list', 'patch'];
  const retained = ['create', 'list', 'patch'];
  return [
    { apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'delete', 'get', 'patch'] },
    { apiGroups: [''], resources: ['serviceaccounts', 'configmaps', 'secrets', 'services'], verbs: destroyable },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: retained },
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: destroyable },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: destroyable },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: retained },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: destroyable },
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
