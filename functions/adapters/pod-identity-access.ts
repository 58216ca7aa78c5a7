import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  type EKSClient,
  ListPodIdentityAssociationsCommand,
  type PodIdentityAssociationSummary,
} from '@aws-sdk/client-eks';
import type { TenantAccess } from '../core/ports.ts';
import { sendOrUnavailable } from './aws-unavailable.ts';
import { TENANT_TAG } from './s3-bucket-store.ts';

const EKS = { name: 'EKS', dependency: 'eks', rules: { throttled: new Set(['ThrottlingException']) } };

export type PodIdentityAccessOptions = {
  eks: EKSClient;
  clusterName: string;
  /** The tenant bucket role the pods assume; its policy scopes S3 access by the `flinkplane.io/tenant` session tag. */
  roleArn: string;
};

/**
 * Tenant pods reach their bucket through an EKS Pod Identity association of the tenant's service account with the
 * bucket role. EKS sets the session tags itself (`kubernetes-namespace`, `kubernetes-service-account`, …); the role's
 * policy scopes S3 by the namespace tag. The association's own `flinkplane.io/tenant` tag is a resource tag for
 * operators, not a session tag. Without an association (after destroy) the pods get no credentials at all.
 */
export function createPodIdentityAccess(options: PodIdentityAccessOptions): TenantAccess {
  const { clusterName, roleArn } = options;
  // EKS not answering within the client's deadline is `dependency_unavailable` (503), like every AWS dependency.
  const eks = { send: sendOrUnavailable(options.eks.send.bind(options.eks), EKS) };

  async function associations(namespace: string, serviceAccount: string): Promise<PodIdentityAssociationSummary[]> {
    const found: PodIdentityAssociationSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await eks.send(
        new ListPodIdentityAssociationsCommand({ clusterName, namespace, serviceAccount, nextToken }),
      );
      found.push(...(page.associations ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return found;
  }

  return {
    async grant(tenant, namespace, serviceAccount) {
      if ((await associations(namespace, serviceAccount)).length > 0) return;
      try {
        await eks.send(
          new CreatePodIdentityAssociationCommand({
            clusterName,
            namespace,
            serviceAccount,
            roleArn,
            tags: { [TENANT_TAG]: tenant },
          }),
        );
      } catch (error) {
        // A concurrent grant created it between our list and create.
        if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
      }
    },

    async revoke(_tenant, namespace, serviceAccount) {
      for (const association of await associations(namespace, serviceAccount)) {
        if (!association.associationId) continue;
        try {
          await eks.send(
            new DeletePodIdentityAssociationCommand({ clusterName, associationId: association.associationId }),
          );
        } catch (error) {
          if (!(error instanceof Error && error.name === 'ResourceNotFoundException')) throw error;
        }
      }
    },

    async hasAccess(_tenant, namespace, serviceAccount) {
      return (await associations(namespace, serviceAccount)).length > 0;
    },
  };
}
