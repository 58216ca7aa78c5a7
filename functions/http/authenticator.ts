import { FlinkplaneError } from '../core/errors.ts';
import type { ClusterStore } from '../core/ports.ts';
import { hashToken, type Principal, secretsEqual, tokenTenant } from '../core/principal.ts';
import type { HttpRequest } from './http-types.ts';

/** Finds out who is calling, or throws `unauthenticated`. */
export type Authenticator = (request: HttpRequest) => Promise<Principal>;

const SESSION_COOKIE = 'flinkplane_token';

/**
 * Bearer tokens, for the local control plane: the operator token from `FLINKPLANE_ADMIN_TOKEN`, tenant tokens
 * issued by `POST /v1/tenants` and checked against their stored hash. The console's cookie carries the same token.
 */
export function createBearerTokenAuthenticator(options: { adminToken: string; store: ClusterStore }): Authenticator {
  checkOperatorToken(options.adminToken);
  return async (request) => {
    const token = bearerToken(request) ?? cookieToken(request);
    if (!token) throw unauthenticated('Send an API token as "Authorization: Bearer <token>"');
    if (secretsEqual(token, options.adminToken)) return { kind: 'operator', id: 'admin-token' };
    const tenant = tokenTenant(token);
    const record = tenant ? await options.store.getTenant(tenant) : undefined;
    if (!record || !secretsEqual(hashToken(token), record.tokenHash))
      throw unauthenticated('The API token is not valid');
    return { kind: 'tenant', tenant: record.name, registered: true };
  };
}

/** Refuses an operator token too short to be a secret; a process checks it before it starts anything. */
export function checkOperatorToken(token: string): void {
  if (token.length < 16) throw new Error('The operator token must have at least 16 characters');
}

/** Claims from API Gateway's JWT authorizer, which has already verified the token's signature, issuer and audience. */
export function createJwtClaimsAuthenticator(options: {
  tenantClaim: string;
  operatorClaim: string;
  operatorValue: string;
}): Authenticator {
  return async (request) => {
    const claims = request.claims;
    if (!claims) throw unauthenticated('The request carries no verified token');
    if (claimValues(claims[options.operatorClaim]).includes(options.operatorValue)) {
      return { kind: 'operator', id: String(claims.sub ?? 'operator') };
    }
    const tenant = claims[options.tenantClaim];
    if (typeof tenant === 'string' && tenant.length > 0) return { kind: 'tenant', tenant };
    throw new FlinkplaneError('forbidden', `The token names no tenant (claim ${options.tenantClaim})`);
  };
}

/** Cognito sends groups as a JSON array or as API Gateway's `[a b]` string form. */
function claimValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter(Boolean);
}

function bearerToken(request: HttpRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>"');
  return match[1];
}

function cookieToken(request: HttpRequest): string | undefined {
  const cookie = request.headers.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name !== SESSION_COOKIE) continue;
    try {
      return decodeURIComponent(rest.join('='));
    } catch {
      throw unauthenticated('The session cookie is malformed');
    }
  }
  return undefined;
}

function unauthenticated(message: string): FlinkplaneError {
  return new FlinkplaneError('unauthenticated', message);
}
