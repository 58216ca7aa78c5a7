/**
 * The local ingress controller: it serves every tenant's Flink UI vhost `flink-cluster-ui-<tenant>.<domain>` on the
 * local control plane's own port, chosen by the Host header, and follows the tenant's Ingress object in the
 * Kubernetes stand-in to a ready JobManager Pod, as ingress-nginx would. Like the Ingress on AWS it always
 * authenticates: the tenant's or the operator's API token as a bearer token, or a session of the vhost's own that the
 * console hands off through a single-use sign-in code (the console lives on another origin, so its sign-in is not
 * visible here). Flink never sees the platform's credentials.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FlinkplaneError, isFlinkplaneError } from '../../functions/core/errors.ts';
import { tenantNames } from '../../functions/core/naming.ts';
import type { PlatformSettings } from '../../functions/core/platform.ts';
import { authorizeTenant, type Principal } from '../../functions/core/principal.ts';
import { validateTenantName } from '../../functions/core/tenant-name.ts';
import type { Authenticator } from '../../functions/http/authenticator.ts';
import { type ErrorLogger, errorResponse } from '../../functions/http/errors.ts';
import type { HttpResponse } from '../../functions/http/http-types.ts';
import { withSecurityHeaders } from '../../functions/http/router.ts';
import { forwardedHeaders, type Upstream, type UpstreamFailure, UpstreamProxy } from './proxy.ts';
import { type IngressRoutes, type Vhost, vhostOf } from './routes.ts';
import { SESSION_TTL_MS, UiSessions } from './ui-sessions.ts';

/** `POST` on the API's origin, with the caller's API token: answers a one-time sign-in link to a tenant's vhost. */
export const SIGN_IN_PATH = '/v1/auth/flink-ui/sign-in';
/** Where the sign-in link lands on the vhost; the platform reserves this prefix on every vhost. */
export const CALLBACK_PATH = '/.flinkplane/callback';
/** Ends the vhost's session and goes back to the console. */
export const SIGN_OUT_PATH = '/.flinkplane/sign-out';
/** The vhost's own session cookie (host-only, HttpOnly, SameSite=Lax). */
export const SESSION_COOKIE = 'flinkplane_ui';
/** The API's cookie (see the bearer token authenticator); a credential too, so it never reaches Flink either. */
const API_COOKIE = 'flinkplane_token';

export interface LocalIngressOptions {
  readonly platform: PlatformSettings;
  /** Checks API tokens exactly as the API does. */
  readonly authenticate: Authenticator;
  /** The cluster's Ingress rules and endpoints; without them (a real cluster) its own ingress controller serves the vhosts. */
  readonly routes?: IngressRoutes;
  /** The console's origin, where a browser without a session signs in, e.g. `http://127.0.0.1:8080`. */
  readonly consoleUrl: string;
  /** How long connecting to a JobManager may take before the client gets 504. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Where unexpected errors are logged; never given a token, code or cookie. */
  readonly log: ErrorLogger;
  readonly now?: () => number;
}

export interface LocalIngress {
  /** Serves a vhost request, or the sign-in link on the API's origin; answers false for everything else. */
  serve(request: IncomingMessage, response: ServerResponse): boolean;
  /** Tunnels an upgrade request (WebSocket) to a vhost; answers false when the host is not a vhost. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Ends kept-alive upstream connections and open tunnels. */
  close(): void;
}

type Access =
  | { readonly kind: 'allowed'; readonly principal: Principal }
  | { readonly kind: 'denied'; readonly error: FlinkplaneError };

export function createLocalIngress(options: LocalIngressOptions): LocalIngress {
  const { platform, log } = options;
  const sessions = new UiSessions(options.now);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const proxy = new UpstreamProxy(connectTimeoutMs);
  const turns = new Map<string, number>();
  const consoleUrl = options.consoleUrl.replace(/\/+$/, '');

  /** Who the request is, by its bearer token or else by its vhost session; another tenant's is refused. */
  async function access(vhost: Vhost, request: IncomingMessage): Promise<Access> {
    let principal: Principal | undefined;
    try {
      if (request.headers.authorization !== undefined) {
        principal = await options.authenticate(apiRequest(request));
      } else {
        const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
        principal = id ? sessions.principal(id, vhost.tenant) : undefined;
      }
      if (!principal) {
        const message = 'Sign in through the console, or send an API token as "Authorization: Bearer <token>"';
        return { kind: 'denied', error: new FlinkplaneError('unauthenticated', message) };
      }
      if (principal.kind === 'tenant' && principal.tenant !== vhost.tenant) {
        const message = `This is the Flink UI of ${vhost.tenant}; you may open only your own tenant's Flink UI`;
        return { kind: 'denied', error: new FlinkplaneError('forbidden', message, { tenant: vhost.tenant }) };
      }
      return { kind: 'allowed', principal };
    } catch (error) {
      if (isFlinkplaneError(error) && error.code === 'unauthenticated') return { kind: 'denied', error };
      throw error;
    }
  }

  /** The ready endpoint the tenant's Ingress sends this request to, or why there is none. */
  function upstreamFor(vhost: Vhost, request: IncomingMessage): Upstream | FlinkplaneError {
    if (!options.routes) {
      const message = "The Flink UI is served by the Kubernetes cluster's own ingress controller, not by this server";
      return new FlinkplaneError('dependency_unavailable', message, {
        tenant: vhost.tenant,
        reason: 'external_cluster',
      });
    }
    const namespace = tenantNames(vhost.tenant, platform).namespace;
    const route = options.routes.route(namespace, vhost.host, pathOf(request));
    if (route.kind === 'no-ingress') {
      const message = `${vhost.tenant} has no Flink cluster: it was destroyed or never deployed`;
      return new FlinkplaneError('dependency_unavailable', message, { tenant: vhost.tenant, reason: 'no_cluster' });
    }
    if (route.endpoints.length === 0) {
      const message = `The Flink cluster of ${vhost.tenant} is starting: its JobManager is not ready yet`;
      return new FlinkplaneError('dependency_unavailable', message, { tenant: vhost.tenant, reason: 'not_ready' });
    }
    const key = `${namespace}/${route.service}`;
    const turn = turns.get(key) ?? 0;
    turns.set(key, turn + 1);
    return route.endpoints[turn % route.endpoints.length]!;
  }

  function signInUrl(tenant: string, returnTo: string): string {
    return `${consoleUrl}/#/flink-ui/${tenant}?return=${encodeURIComponent(returnTo)}`;
  }

  function unavailable(failure: UpstreamFailure, tenant: string): FlinkplaneError {
    return new FlinkplaneError('dependency_unavailable', failure.message, { tenant, reason: failure.kind });
  }

  async function serveVhost(vhost: Vhost, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (pathOf(request) === CALLBACK_PATH) return callback(vhost, request, response);
    if (pathOf(request) === SIGN_OUT_PATH) return signOut(request, response);
    const checked = await access(vhost, request);
    if (checked.kind === 'denied') {
      request.resume();
      if (checked.error.code === 'unauthenticated' && isBrowserNavigation(request)) {
        return send(response, redirect(signInUrl(vhost.tenant, request.url ?? '/')));
      }
      return send(response, refusal(request, checked.error, vhost.tenant, consoleUrl, log));
    }
    const upstream = upstreamFor(vhost, request);
    if (upstream instanceof FlinkplaneError) {
      request.resume();
      return send(response, refusal(request, upstream, vhost.tenant, consoleUrl, log));
    }
    const headers = forwardedHeaders(request, {
      platformCookies: [SESSION_COOKIE, API_COOKIE],
      scheme: schemeOf(request),
    });
    proxy.forward(request, response, upstream, headers, (failure) => {
      const answer = refusal(request, unavailable(failure, vhost.tenant), vhost.tenant, consoleUrl, log);
      send(response, { ...answer, status: failure.kind === 'connect-timeout' ? 504 : 502 });
    });
  }

  /** Redeems a sign-in code for a session of this vhost (once, for this tenant only) and goes on to the UI. */
  function callback(vhost: Vhost, request: IncomingMessage, response: ServerResponse): void {
    request.resume();
    const query = new URL(request.url ?? '/', 'http://vhost').searchParams;
    const redeemed = sessions.redeem(query.get('code') ?? '', vhost.tenant);
    if (redeemed.kind !== 'session') {
      const error =
        redeemed.kind === 'other-tenant'
          ? new FlinkplaneError(
              'forbidden',
              `This sign-in link is for another tenant's Flink UI, not ${vhost.tenant}'s`,
            )
          : new FlinkplaneError(
              'unauthenticated',
              'This sign-in link has expired or was used already; open the Flink UI from the console again',
            );
      send(response, refusal(request, error, vhost.tenant, consoleUrl, log));
      return;
    }
    const cookie = [
      `${SESSION_COOKIE}=${redeemed.id}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Lax',
      `Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
      ...(platform.ui.scheme === 'https' ? ['Secure'] : []),
    ].join('; ');
    const answer = redirect(safeReturnPath(query.get('return')) ?? '/');
    send(response, { ...answer, headers: { ...answer.headers, 'set-cookie': cookie } });
  }

  function signOut(request: IncomingMessage, response: ServerResponse): void {
    request.resume();
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (id) sessions.end(id);
    const answer = redirect(`${consoleUrl}/`);
    send(response, {
      ...answer,
      headers: { ...answer.headers, 'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` },
    });
  }

  /** `POST /v1/auth/flink-ui/sign-in?tenant=<tenant>[&return=<path>]`: a one-time link to the vhost, for the console. */
  async function signIn(request: IncomingMessage, response: ServerResponse): Promise<void> {
    request.resume();
    if (request.method !== 'POST') {
      throw new FlinkplaneError('method_not_allowed', `${request.method} is not allowed on ${SIGN_IN_PATH}`, {
        allow: ['POST'],
      });
    }
    // Only the Authorization header counts, never the API's cookie, so another site cannot mint a link (CSRF).
    const principal = await options.authenticate(apiRequest(request));
    const query = new URL(request.url ?? '/', 'http://api').searchParams;
    const tenant = query.get('tenant') ?? '';
    if (validateTenantName(tenant).length > 0) {
      throw new FlinkplaneError('invalid_request', 'Invalid tenant: give the query parameter tenant=<tenant name>', {
        field: 'tenant',
      });
    }
    authorizeTenant(principal, tenant);
    const returnTo = query.has('return') ? safeReturnPath(query.get('return')) : '/';
    if (returnTo === undefined) {
      throw new FlinkplaneError('invalid_request', 'Invalid return: it must be a path on the vhost, starting with /', {
        field: 'return',
      });
    }
    const { code, expiresAt } = sessions.mintCode(principal, tenant);
    const url = new URL(CALLBACK_PATH, tenantNames(tenant, platform).uiUrl);
    url.searchParams.set('code', code);
    url.searchParams.set('return', returnTo);
    const body = { url: url.toString(), expiresAt: new Date(expiresAt).toISOString() };
    send(
      response,
      withSecurityHeaders({ status: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    );
  }

  async function upgradeVhost(vhost: Vhost, request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const checked = await access(vhost, request);
    if (checked.kind === 'denied') return sendRaw(socket, errorAnswer(checked.error, log));
    const upstream = upstreamFor(vhost, request);
    if (upstream instanceof FlinkplaneError) return sendRaw(socket, errorAnswer(upstream, log));
    const headers = forwardedHeaders(request, {
      platformCookies: [SESSION_COOKIE, API_COOKIE],
      scheme: schemeOf(request),
    });
    proxy.tunnel(request, socket, head, upstream, headers, (failure) =>
      sendRaw(socket, {
        ...errorAnswer(unavailable(failure, vhost.tenant), log),
        status: failure.kind === 'connect-timeout' ? 504 : 502,
      }),
    );
  }

  return {
    serve(request, response) {
      const vhost = vhostOf(request.headers.host, platform.domain);
      if (vhost === undefined) {
        // With a real cluster its ingress signs users in; the API then has no such route and the console knows it (404).
        if (pathOf(request) !== SIGN_IN_PATH || !options.routes) return false;
        signIn(request, response).catch((error: unknown) =>
          send(response, withSecurityHeaders(errorAnswer(error, log))),
        );
        return true;
      }
      if (vhost === null) {
        request.resume();
        const error = new FlinkplaneError('not_found', `No Flink UI is served at ${request.headers.host}`);
        send(response, refusal(request, error, undefined, consoleUrl, log));
        return true;
      }
      serveVhost(vhost, request, response).catch((error: unknown) => {
        if (response.headersSent) response.destroy();
        else send(response, refusal(request, error, vhost.tenant, consoleUrl, log));
      });
      return true;
    },
    upgrade(request, socket, head) {
      const vhost = vhostOf(request.headers.host, platform.domain);
      if (vhost === undefined) return false;
      if (vhost === null) {
        sendRaw(socket, errorAnswer(new FlinkplaneError('not_found', 'No Flink UI is served at this host'), log));
        return true;
      }
      socket.on('error', () => socket.destroy());
      upgradeVhost(vhost, request, socket, head).catch((error: unknown) => sendRaw(socket, errorAnswer(error, log)));
      return true;
    },
    close: () => proxy.close(),
  };
}

/** The request as the API's authenticator sees it: the Authorization header alone. */
function apiRequest(request: IncomingMessage) {
  const authorization = request.headers.authorization;
  return {
    method: request.method ?? 'GET',
    path: pathOf(request),
    headers: authorization === undefined ? {} : { authorization },
    query: {},
  };
}

function pathOf(request: IncomingMessage): string {
  return new URL(request.url ?? '/', 'http://vhost').pathname;
}

function schemeOf(request: IncomingMessage): 'http' | 'https' {
  return (request.socket as TLSSocket).encrypted ? 'https' : 'http';
}

/** A browser loading a page (not a script's request), which is sent to sign in rather than answered 401. */
function isBrowserNavigation(request: IncomingMessage): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') && (request.headers.accept ?? '').includes('text/html')
  );
}

/** A path on the vhost to go to after signing in; undefined for anything that could leave it (`//evil`, `https:`). */
export function safeReturnPath(value: string | null): string | undefined {
  if (value === null || value === '') return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return undefined;
  return value;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function redirect(location: string): HttpResponse {
  return withSecurityHeaders({
    status: location.startsWith('/') ? 303 : 302,
    headers: { location, 'referrer-policy': 'no-referrer', 'content-type': 'text/plain; charset=utf-8' },
    body: '',
  });
}

/** An error as the documented JSON body, or as a short page for a browser. */
function refusal(
  request: IncomingMessage,
  error: unknown,
  tenant: string | undefined,
  consoleUrl: string,
  log: ErrorLogger,
): HttpResponse {
  const json = withSecurityHeaders(errorAnswer(error, log));
  const headers: Record<string, string> = { ...json.headers };
  if (json.status === 503) headers['retry-after'] = '5';
  if (!(request.headers.accept ?? '').includes('text/html')) return { ...json, headers };
  const message = (JSON.parse(json.body) as { error: { message: string } }).error.message;
  const title = tenant ? `Flink UI of ${tenant}` : 'Flink UI';
  const body = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title></head><body>`,
    `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`,
    `<p><a href="${escapeHtml(consoleUrl)}/">Open the Flinkplane console</a></p></body></html>`,
  ].join('');
  return {
    status: json.status,
    headers: {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    },
    body,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function send(response: ServerResponse, answer: HttpResponse): void {
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body);
}

/** The documented error answer; only unexpected errors are logged (a 503 while a cluster starts is expected). */
function errorAnswer(error: unknown, log: ErrorLogger): HttpResponse {
  const expected = isFlinkplaneError(error) && error.code !== 'internal';
  return errorResponse(error, expected ? () => undefined : log);
}

/** An HTTP answer written raw to the socket of an upgrade request, which then closes. */
function sendRaw(socket: Duplex, answer: HttpResponse): void {
  const body = Buffer.from(answer.body);
  const headers = { ...answer.headers, 'content-length': String(body.length), connection: 'close' };
  const lines = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
}
