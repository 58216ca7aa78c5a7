import type { V1Namespace } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { partLabels } from './labels.ts';

/**
 * Pod Security Admission labels: the namespace admits only pods that meet the `restricted` standard, so no object
 * applied into it later (by mistake or by a compromised applier) can run privileged or as root.
 */
const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
} as const;

/** The tenant's Namespace `tenant-<tenant>`. Retained on destroy; everything else of the tenant lives in it. */
export function buildNamespace(cluster: EffectiveCluster): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: cluster.names.namespace,
      labels: { ...partLabels(cluster, 'namespace'), ...POD_SECURITY_LABELS },
    },
  };
}
