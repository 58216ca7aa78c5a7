import type { V1ServiceAccount } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { objectMeta } from './labels.ts';

/**
 * Records which IAM role the service account is associated with. With EKS Pod Identity the association itself is
 * made through the EKS API (`CreatePodIdentityAssociation` for namespace + service account), not by an annotation;
 * this one only tells operators and the applier what the association should be.
 */
export const POD_IDENTITY_ROLE_ANNOTATION = 'flinkplane.io/pod-identity-role';

/**
 * The ServiceAccount `flink-cluster` the Flink pods run as. It deliberately has no `eks.amazonaws.com/role-arn`:
 * that is IRSA, whose webhook would inject a web-identity token for a role that trusts the cluster's OIDC provider,
 * not `pods.eks.amazonaws.com`, and it would skip Pod Identity's session tags that scope the shared tenant role to
 * the tenant's bucket.
 */
export function buildServiceAccount(cluster: EffectiveCluster): V1ServiceAccount {
  const roleArn = cluster.platform.tenantRoleArn;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(
      cluster,
      'serviceAccount',
      cluster.names.serviceAccount,
      roleArn ? { [POD_IDENTITY_ROLE_ANNOTATION]: roleArn } : undefined,
    ),
    // Flink with ZooKeeper HA never calls the Kubernetes API.
    automountServiceAccountToken: false,
  };
}
