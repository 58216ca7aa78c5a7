/**
 * What destroy deletes and what it keeps, shared by the templates (which label every object) and the Kubernetes
 * adapter (which selects by those labels and lists those kinds), so the two cannot drift apart.
 */

/** The tenant an object belongs to; the applier selects a tenant's objects by it. */
export const TENANT_LABEL = 'flinkplane.io/tenant';
/** `"true"` on what destroy keeps, `"false"` on what it deletes; a label, so the applier can select by it. */
export const RETAIN_LABEL = 'flinkplane.io/retain-on-destroy';

/** A kind as the API server names it: its group version and kind. */
export interface DestroyableKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/**
 * The kinds a tenant namespace can hold that destroy may delete (in this order: the vhost first, so no request is
 * routed to pods that are going away); objects labelled as retained are skipped by the selector.
 */
export const DESTROYABLE_KINDS: readonly DestroyableKind[] = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
];

/** Selects every object of a tenant. */
export function tenantSelector(tenant: string): string {
  return `${TENANT_LABEL}=${tenant}`;
}

/** Selects the tenant's objects that destroy deletes. */
export function deleteOnDestroySelector(tenant: string): string {
  return `${TENANT_LABEL}=${tenant},${RETAIN_LABEL}=false`;
}

/** Selects the tenant's objects that destroy keeps (only an operator's purge removes them). */
export function retainedSelector(tenant: string): string {
  return `${TENANT_LABEL}=${tenant},${RETAIN_LABEL}=true`;
}
