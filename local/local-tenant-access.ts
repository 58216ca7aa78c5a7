import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TenantAccess } from '../functions/core/ports.ts';

/** One grant: what an EKS Pod Identity association would link (the tenant's service account to the bucket role). */
export type LocalGrant = { tenant: string; namespace: string; serviceAccount: string };

/**
 * Tenant access for the local control plane, where there is no EKS and so no Pod Identity. It only records what
 * would be associated, so the workflow's grant and revoke steps run and can be checked. Nothing is enforced: s3rver has
 * no IAM, and every local pod (or process) with the s3rver endpoint can read and write every tenant bucket.
 *
 * With `file`, the grants are kept in that JSON file too, so a restarted local control plane still knows them.
 */
export function createLocalTenantAccess(file?: string): TenantAccess & { grants(): LocalGrant[] } {
  const grants = new Map<string, LocalGrant>(load(file).map((grant) => [keyOf(grant), grant]));

  const save = () => {
    if (file === undefined) return;
    mkdirSync(dirname(file), { recursive: true });
    // Write-then-rename, so a crash never leaves half a file.
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify([...grants.values()], null, 2)}\n`);
    renameSync(temporary, file);
  };

  return {
    async grant(tenant, namespace, serviceAccount) {
      const grant = { tenant, namespace, serviceAccount };
      if (grants.has(keyOf(grant))) return;
      grants.set(keyOf(grant), grant);
      save();
    },
    async revoke(tenant, namespace, serviceAccount) {
      if (grants.delete(keyOf({ tenant, namespace, serviceAccount }))) save();
    },
    async hasAccess(tenant, namespace, serviceAccount) {
      return grants.has(keyOf({ tenant, namespace, serviceAccount }));
    },
    grants: () => [...grants.values()],
  };
}

/** Like a Pod Identity association, a grant is identified by namespace and service account. */
function keyOf(grant: LocalGrant): string {
  return `${grant.namespace}/${grant.serviceAccount}`;
}

function load(file: string | undefined): LocalGrant[] {
  if (file === undefined) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every(isGrant)) {
    throw new Error(`${file} does not hold a list of local tenant grants; fix or delete it`);
  }
  return parsed;
}

function isGrant(value: unknown): value is LocalGrant {
  const grant = value as Partial<LocalGrant> | null;
  return (
    typeof grant === 'object' &&
    grant !== null &&
    typeof grant.tenant === 'string' &&
    typeof grant.namespace === 'string' &&
    typeof grant.serviceAccount === 'string'
  );
}
