import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule } from '@kubernetes/client-node';
import { platformLabels } from '../../cluster-templates/labels.ts';

/** The Kubernetes group the control plane's EKS access entry puts its IAM role in. */
export const CONTROL_PLANE_GROUP = 'flinkplane:control-plane';
/** Name of the ClusterRole and its binding. */
export const CONTROL_PLANE_CLUSTER_ROLE = 'flinkplane-control-plane';

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
