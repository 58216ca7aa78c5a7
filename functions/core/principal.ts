import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FlinkplaneError } from './errors.ts';

/** Who is calling: the platform operator, or one tenant that may act only on itself. */
export type Principal =
  | { readonly kind: 'operator'; readonly id: string }
  | {
      readonly kind: 'tenant';
      readonly tenant: string;
      /** True when authentication itself read the tenant's record (bearer tokens), so it is known to exist. */
      readonly registered?: boolean;
    };

/**
 * Refuses a principal acting on another tenant. The check runs before any lookup, so the answer is the same
 * whether or not that tenant exists.
 */
export function authorizeTenant(principal: Principal, tenant: string): void {
  if (principal.kind === 'operator') return;
  if (principal.tenant !== tenant) {
    throw new FlinkplaneError('forbidden', 'You may act only on your own tenant', { tenant });
  }
}

export function requireOperator(principal: Principal): void {
  if (principal.kind !== 'operator') {
    throw new FlinkplaneError('forbidden', 'This action is for the platform operator only');
  }
}

const TOKEN_PREFIX = 'fpt';

/** A new bearer token for a tenant; it names the tenant so a lookup needs no scan, and is stored only as a hash. */
export function newTenantToken(tenant: string): string {
  return `${TOKEN_PREFIX}_${tenant}_${randomBytes(32).toString('base64url')}`;
}

/** The tenant a token claims to belong to, or undefined when it is not a tenant token. */
export function tokenTenant(token: string): string | undefined {
  const match = /^fpt_([a-z][a-z0-9-]*)_[A-Za-z0-9_-]{43}$/.exec(token);
  return match?.[1];
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares secrets in constant time, so response timing does not leak how much of a guess was right. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
