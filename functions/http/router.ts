import type { ControlPlane } from '../core/control-plane.ts';
import { FlinkplaneError } from '../core/errors.ts';
import { authorizeTenant, type Principal, requireOperator } from '../core/principal.ts';
import type { Authenticator } from './authenticator.ts';
import { type ErrorLogger, errorResponse } from './errors.ts';
import type { HttpRequest, HttpResponse, ResponseStream } from './http-types.ts';
import { JOB_HANDLERS } from './job-handlers.ts';
import { logHandlers } from './logs-handlers.ts';
import { buildOpenApiDocument } from './openapi.ts';
import {
  MERGE_PATCH_CONTENT_TYPE,
  type PublicRouteKey,
  ROUTES,
  type RouteDeclaration,
  type RouteKey,
  routeKey,
} from './routes.ts';
import { savepointHandlers } from './savepoint-handlers.ts';
import { ListQuerySchema, PurgeQuerySchema, RegisterTenantSchema } from './schemas.ts';

/** Bodies over this size are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Bodies nested deeper are refused with 400. A valid spec nests at most about 130 levels (a Flink key has at most 256
 * characters), and an invalid value is echoed in the error's details, which JSON.stringify must still be able to write.
 */
export const MAX_BODY_DEPTH = 256;

export interface RouterOptions {
  /**
   * The control plane, or how to get it on first use (a Lambda reads its secret then): the router is built once at
   * cold start, and a plane that cannot be built yet answers with an error body rather than failing the start.
   */
  readonly controlPlane: ControlPlane | (() => Promise<ControlPlane>);
  readonly authenticate: Authenticator;
  readonly log: ErrorLogger;
  /** Extra facts for `/healthz`, e.g. which stores the local control plane runs on. */
  readonly health?: () => Promise<Record<string, unknown>>;
}

/** A route's handler; `job-handlers.ts` and the like declare theirs with it. */
export type Handler = (context: {
  plane: ControlPlane;
  request: HttpRequest;
  params: Record<string, string>;
  principal: Principal;
}) => Promise<Reply>;
type PublicHandler = (request: HttpRequest) => Promise<Reply>;
interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** A text/plain body sent as it comes, instead of `body`. */
  readonly stream?: ResponseStream;
}

interface CompiledRoute {
  readonly declaration: RouteDeclaration;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

/** The API's routes; the same router serves the Lambda handler and the local server. */
export function createRouter(options: RouterOptions): (request: HttpRequest) => Promise<HttpResponse> {
  const { controlPlane } = options;
  const resolvePlane = async () => (typeof controlPlane === 'function' ? controlPlane() : controlPlane);

  const publicHandlers: Record<PublicRouteKey, PublicHandler> = {
    'GET /healthz': async () => ({ status: 200, body: { status: 'ok', ...(await options.health?.()) } }),
    'GET /openapi.json': async () => ({ status: 200, body: buildOpenApiDocument() }),
  };
  // Keyed by the route table: the compiler refuses a declared route without a handler, and a handler without a row.
  const handlers: Record<Exclude<RouteKey, PublicRouteKey>, Handler> = {
    'GET /v1/flink-versions': async ({ plane }) => ({ status: 200, body: plane.versions() }),
    'PUT /v1/tenants/{tenant}/flink-cluster': async ({ plane, request, params, principal }) => {
      // Another tenant is refused before the body is read, so the answer never depends on what it sent.
      authorizeTenant(principal, params.tenant!);
      const ifMatch = parseIfMatch(request);
      return { status: 202, body: await plane.deploy(principal, params.tenant!, jsonBody(request, {}), { ifMatch }) };
    },
    'PATCH /v1/tenants/{tenant}/flink-cluster': async ({ plane, request, params, principal }) => {
      authorizeTenant(principal, params.tenant!);
      const ifMatch = parseIfMatch(request);
      const patch = jsonBody(request, undefined, MERGE_PATCH_CONTENT_TYPE);
      return { status: 202, body: await plane.patch(principal, params.tenant!, patch, { ifMatch }) };
    },
    'GET /v1/tenants/{tenant}/flink-cluster': async ({ plane, request, params, principal }) => {
      try {
        return { status: 200, body: await plane.status(principal, params.tenant!) };
      } catch (error) {
        // A poller (the console) asks `optional=true`: no cluster yet is an answer, not an error the browser logs.
        const absent = error instanceof FlinkplaneError && error.code === 'cluster_not_found';
        if (absent && request.query.optional === 'true') return { status: 200, body: null };
        throw error;
      }
    },
    'DELETE /v1/tenants/{tenant}/flink-cluster': async ({ plane, request, params, principal }) => {
      authorizeTenant(principal, params.tenant!);
      const ifMatch = parseIfMatch(request);
      return { status: 202, body: await plane.destroy(principal, params.tenant!, { ifMatch }) };
    },
    'GET /v1/flink-clusters': async ({ plane, request, principal }) => {
      const query = parseQuery(ListQuerySchema, request);
      return { status: 200, body: await plane.listClusters(principal, query.limit, query.cursor) };
    },
    'GET /v1/tenants': async ({ plane, request, principal }) => {
      const query = parseQuery(ListQuerySchema, request);
      return { status: 200, body: await plane.listTenants(principal, query.limit, query.cursor) };
    },
    'POST /v1/tenants': async ({ plane, request, principal }) => {
      requireOperator(principal);
      const parsed = RegisterTenantSchema.safeParse(jsonBody(request, undefined));
      if (!parsed.success) throw invalidRequest('body', parsed.error.issues.map((issue) => issue.message).join('; '));
      return { status: 201, body: await plane.registerTenant(principal, parsed.data.name) };
    },
    'DELETE /v1/tenants/{tenant}': async ({ plane, request, params, principal }) => {
      if (principal.kind !== 'operator')
        throw new FlinkplaneError('forbidden', 'Purging is for the platform operator only');
      const query = parseQuery(PurgeQuerySchema, request);
      return { status: 200, body: await plane.purge(principal, params.tenant!, query.confirm) };
    },
    'GET /v1/auth/flink-ui': async ({ request, principal }) => {
      // ingress-nginx's auth-url: 2xx lets the request through to the tenant's Flink UI, 401/403 stop it.
      const tenant = request.query.tenant;
      if (!tenant) throw invalidRequest('tenant', 'the query parameter tenant is required');
      if (principal.kind === 'tenant' && principal.tenant !== tenant) {
        throw new FlinkplaneError('forbidden', "You may open only your own tenant's Flink UI", { tenant });
      }
      return { status: 204, body: undefined };
    },
    ...JOB_HANDLERS,
    ...savepointHandlers({ jsonBody }),
    ...logHandlers,
  };
  const routes = (ROUTES as readonly RouteDeclaration[]).map(compile);

  return async (request) => {
    try {
      const path = request.path.length > 1 ? request.path.replace(/\/+$/, '') : request.path;
      const matched = routes
        .map((candidate) => ({ candidate, match: candidate.pattern.exec(path) }))
        .filter((entry) => entry.match);
      // A literal segment wins over a parameter (`/savepoints/retention` is not the snapshot `retention`), as in
      // API Gateway: only the paths with the fewest parameters answer, and name their methods in Allow.
      const fewest = Math.min(...matched.map((entry) => entry.candidate.params.length));
      const matching = matched.filter((entry) => entry.candidate.params.length === fewest);
      if (matching.length === 0) {
        throw new FlinkplaneError('not_found', `There is no route ${request.path}`, { path: request.path });
      }
      const found = matching.find((entry) => entry.candidate.declaration.method === request.method);
      if (!found) {
        const allow = matching.map((entry) => entry.candidate.declaration.method);
        throw new FlinkplaneError('method_not_allowed', `${request.method} is not allowed on ${request.path}`, {
          allow,
        });
      }
      const { declaration } = found.candidate;
      const key = routeKey(declaration);
      if (declaration.access === 'public') {
        return respond(await publicHandlers[key as PublicRouteKey](request), declaration);
      }
      // Authenticate first, so a caller without a valid token learns nothing from how the path is refused.
      const principal = await options.authenticate(request);
      const params = Object.fromEntries(
        found.candidate.params.map((name, index) => [name, decodePathSegment(name, found.match![index + 1]!)]),
      );
      const plane = await resolvePlane();
      const handle = handlers[key as Exclude<RouteKey, PublicRouteKey>];
      return respond(await handle({ plane, request, params, principal }), declaration);
    } catch (error) {
      return withSecurityHeaders(errorResponse(error, options.log, request.requestId));
    }
  };
}

/**
 * Whether the request goes to a route whose body streams (a JAR upload): the local server then hands the body over
 * unread instead of buffering it under the 1 MiB limit of JSON bodies.
 */
export function streamsBody(method: string, path: string): boolean {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return STREAMED.some((route) => route.declaration.method === method && route.pattern.test(trimmed));
}

const STREAMED = (ROUTES as readonly RouteDeclaration[]).filter((route) => route.request?.stream).map(compile);

function compile(declaration: RouteDeclaration): CompiledRoute {
  const params: string[] = [];
  const source = declaration.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { declaration, pattern: new RegExp(`^${source}$`), params };
}

/**
 * `If-Match: "<generation>"` (a weak `W/` prefix is accepted, as is a list of tags): the write goes ahead only while
 * the cluster is at one of those generations. `*` matches any existing cluster.
 */
function parseIfMatch(request: HttpRequest): readonly number[] | '*' | undefined {
  const header = request.headers['if-match']?.trim();
  if (header === undefined || header === '') return undefined;
  if (header === '*') return '*';
  const tags = header.split(',').map((tag) => tag.trim());
  const generations = tags.map((tag) => /^(?:W\/)?"(\d{1,15})"$/.exec(tag)?.[1]);
  if (generations.some((generation) => generation === undefined)) {
    throw new FlinkplaneError('invalid_request', 'Invalid If-Match: give the generation as an entity tag, e.g. "3"', {
      field: 'if-match',
    });
  }
  return generations.map(Number);
}

function respond(reply: Reply, declaration: RouteDeclaration): HttpResponse {
  if (reply.stream) {
    const headers = { 'content-type': 'text/plain; charset=utf-8' };
    return withSecurityHeaders({ status: reply.status, headers, body: '', stream: reply.stream });
  }
  if (reply.body === undefined) return withSecurityHeaders({ status: reply.status, headers: {}, body: '' });
  const generation = (reply.body as { generation?: unknown } | null)?.generation;
  const etag: Record<string, string> =
    declaration.etag && typeof generation === 'number' ? { etag: `"${generation}"` } : {};
  return withSecurityHeaders({
    status: reply.status,
    headers: { 'content-type': 'application/json', ...etag },
    body: JSON.stringify(reply.body),
  });
}

/** Headers every API answer carries, whichever layer produced it. */
export function withSecurityHeaders(response: HttpResponse): HttpResponse {
  return {
    ...response,
    headers: { ...response.headers, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  };
}

export function jsonBody(request: HttpRequest, empty: unknown, contentType = 'application/json'): unknown {
  const body = request.body ?? '';
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
    throw new FlinkplaneError('payload_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes`, {
      limit: MAX_BODY_BYTES,
    });
  }
  if (body.trim() === '') {
    if (empty === undefined) throw invalidRequest('body', 'a JSON body is required');
    return empty;
  }
  const given = request.headers['content-type'] ?? '';
  const expected = contentType.replace(/[+.]/g, '\\$&');
  if (!new RegExp(`^${expected}\\s*(;|$)`, 'i').test(given)) {
    throw new FlinkplaneError('unsupported_media_type', `Send the body as ${contentType}`, {
      contentType: given || null,
      expected: contentType,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch (error) {
    throw invalidRequest('body', `the body is not valid JSON (${(error as Error).message})`);
  }
  if (depthExceeds(parsed, MAX_BODY_DEPTH)) {
    throw invalidRequest('body', `the body nests objects or lists more than ${MAX_BODY_DEPTH} levels deep`);
  }
  return parsed;
}

/** Whether a parsed JSON value nests deeper than `limit`; iterative, since the value may be far too deep to recurse. */
function depthExceeds(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) pending.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** A path parameter, percent-decoded; a malformed escape (`%ZZ`, broken UTF-8) is bad input, not a server fault. */
function decodePathSegment(name: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const message = `Invalid ${name}: the path segment is not valid percent-encoded UTF-8`;
    throw new FlinkplaneError('invalid_request', message, { field: name });
  }
}

export function parseQuery<T>(
  schema: {
    safeParse(
      input: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  request: HttpRequest,
): T {
  const query = Object.fromEntries(Object.entries(request.query).filter(([, value]) => value !== undefined));
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    field: issue.path.join('.') || 'query',
    message: issue.message,
  }));
  throw new FlinkplaneError(
    'invalid_request',
    `Invalid query: ${issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}`,
    { issues },
  );
}

export function invalidRequest(field: string, message: string): FlinkplaneError {
  return new FlinkplaneError('invalid_request', `Invalid ${field}: ${message}`, { field });
}
