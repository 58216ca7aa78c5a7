/** Who the console acts as. The token never leaves this tab: sessionStorage ends with it. */
export type Principal = { readonly kind: 'operator' } | { readonly kind: 'tenant'; readonly tenant: string };

export interface Session {
  readonly token: string;
  readonly principal: Principal;
}

const STORAGE_KEY = 'flinkplane.token';

/** The tenant a token names (`fpt_<tenant>_<43 chars>`), as the server reads it; undefined for other tokens. */
export function tokenTenant(token: string): string | undefined {
  return /^fpt_([a-z][a-z0-9-]*)_[A-Za-z0-9_-]{43}$/.exec(token)?.[1];
}

/** The principal a token stands for: a tenant token names its tenant, any other valid token is the operator's. */
export function principalOf(token: string): Principal {
  const tenant = tokenTenant(token);
  return tenant ? { kind: 'tenant', tenant } : { kind: 'operator' };
}

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage can be disabled; the session then lasts until the page is reloaded.
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing was stored.
  }
}
