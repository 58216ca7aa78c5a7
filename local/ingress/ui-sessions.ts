import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../../functions/core/principal.ts';

/** How long a sign-in code from the console may wait to be redeemed at the vhost. */
export const CODE_TTL_MS = 60_000;
/** How long a vhost session lasts; signing in through the console again starts a new one. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const MAX_ENTRIES = 10_000;

interface Grant {
  readonly principal: Principal;
  /** The tenant whose vhost the grant is for: never valid at another. */
  readonly tenant: string;
  readonly expiresAt: number;
}

/** What redeeming a sign-in code at a vhost gives. */
export type Redeemed =
  | { readonly kind: 'session'; readonly id: string; readonly principal: Principal; readonly expiresAt: number }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'other-tenant' };

/**
 * The hand-off from the console (on its own origin) to a tenant's vhost: the console's API call mints a short-lived,
 * single-use code bound to one tenant; the vhost redeems it for a session of its own, bound to the same tenant. Both
 * live in memory only, keyed by their hash, so a restart signs everyone out of the vhosts.
 */
export class UiSessions {
  private readonly codes = new Map<string, Grant>();
  private readonly sessions = new Map<string, Grant>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new sign-in code for `principal` at `tenant`'s vhost; the caller has checked the principal may open it. */
  mintCode(principal: Principal, tenant: string): { code: string; expiresAt: number } {
    const code = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + CODE_TTL_MS;
    remember(this.codes, hash(code), { principal, tenant, expiresAt }, this.now());
    return { code, expiresAt };
  }

  /** Spends a code (whatever the outcome, so it never works twice) and opens a session at `tenant`'s vhost. */
  redeem(code: string, tenant: string): Redeemed {
    const key = hash(code);
    const grant = this.codes.get(key);
    this.codes.delete(key);
    if (!grant || grant.expiresAt <= this.now()) return { kind: 'invalid' };
    if (grant.tenant !== tenant) return { kind: 'other-tenant' };
    const id = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + SESSION_TTL_MS;
    remember(this.sessions, hash(id), { principal: grant.principal, tenant, expiresAt }, this.now());
    return { kind: 'session', id, principal: grant.principal, expiresAt };
  }

  /** The principal of a session at `tenant`'s vhost; undefined for an unknown, expired or other tenant's session. */
  principal(id: string, tenant: string): Principal | undefined {
    const key = hash(id);
    const grant = this.sessions.get(key);
    if (!grant) return undefined;
    if (grant.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return grant.tenant === tenant ? grant.principal : undefined;
  }

  /** Ends a session (sign-out at the vhost). */
  end(id: string): void {
    this.sessions.delete(hash(id));
  }
}

/** Stores a grant, first dropping expired ones and then the oldest when full, so memory stays bounded. */
function remember(grants: Map<string, Grant>, key: string, grant: Grant, now: number): void {
  if (grants.size >= MAX_ENTRIES) {
    for (const [existing, value] of grants) if (value.expiresAt <= now) grants.delete(existing);
    while (grants.size >= MAX_ENTRIES) grants.delete(grants.keys().next().value!);
  }
  grants.set(key, grant);
}

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
