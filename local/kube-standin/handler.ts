/** The HTTP side of the stand-in: authentication, faults, routing a request to the API, and its answer. */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type KubeApi, PATCH_MEDIA_TYPES } from './api.ts';
import { decodeBody, decodePatch, deleteOptions, readBody, writeOptions } from './decoding.ts';
import type { FaultInjector } from './faults.ts';
import type { PodRuntime } from './node/pod-runtime.ts';
import { isRecord, type KubeObject } from './objects.ts';
import { servePodLog } from './pod-logs.ts';
import { PORT_FORWARD_PROTOCOL, type PortForwarder } from './portforward.ts';
import {
  describeRequest,
  isConnect,
  type KubeRequestLogEntry,
  type Route,
  resolveRoute,
  startEntry,
} from './request-info.ts';
import type { ResourceDef } from './resources.ts';
import type { ServiceProxy } from './service-proxy.ts';
import {
  badRequest,
  injectedFailure,
  type KubeStatus,
  KubeStatusError,
  methodNotAllowed,
  unauthorized,
  unsupportedMediaType,
} from './status.ts';
import { storedJson } from './store.ts';
import { toTable, wantsTable } from './table.ts';
import { serveWatch } from './watch.ts';

const OPEN_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

export type HandlerContext = {
  api: KubeApi;
  faults: FaultInjector;
  token: string | undefined;
  watches: Set<() => void>;
  portForwards: PortForwarder;
  runtime: PodRuntime;
  serviceProxy: ServiceProxy;
};

/**
 * The request's route, described in its log entry, once its token is checked. An unknown path still answers 401
 * before 404, as the real server does, so a caller without a token learns nothing about what exists.
 */
function authorizedRoute(
  ctx: HandlerContext,
  req: IncomingMessage,
  url: URL,
  method: string,
  entry: KubeRequestLogEntry,
): Route {
  let route: Route;
  try {
    route = resolveRoute(url.pathname, req.headers.host ?? '127.0.0.1');
  } catch (error) {
    checkToken(ctx, req, url.pathname);
    throw error;
  }
  if (route.kind !== 'document') describeRequest(entry, route, method, url.searchParams);
  checkToken(ctx, req, url.pathname);
  return route;
}

/** Handles one request and answers its log entry. */
export async function handle(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<KubeRequestLogEntry> {
  const { url, method, entry } = startEntry(req);
  let applied = false;
  try {
    const route = authorizedRoute(ctx, req, url, method, entry);
    if (route.kind === 'stream') {
      if (route.subresource === 'log') {
        if (method !== 'GET') throw methodNotAllowed();
        entry.status = await servePodLog(
          ctx.api.store,
          ctx.runtime,
          route.namespace,
          route.name,
          url.searchParams,
          req,
          res,
        );
      } else {
        entry.status = await ctx.serviceProxy.forward(route.namespace, route.name, route.path, url.search, req, res);
      }
      return entry;
    }
    const body = await readBody(req);
    const decision = ctx.faults.decide(method, route.kind === 'resource' ? route.def.resource : undefined);
    if (decision?.latencyMs) await sleep(decision.latencyMs);
    if (decision?.fault?.kind === 'timeout') {
      entry.fault = 'timeout';
      await sleep(decision.fault.hangMs);
      req.socket.destroy();
      return entry;
    }
    if (decision?.fault?.kind === 'error' && !decision.fault.afterApply) {
      entry.fault = 'error';
      throw injectedFailure(decision.fault.status);
    }
    if (route.kind === 'document') {
      if (method !== 'GET') throw methodNotAllowed();
      if (route.protobuf && (req.headers.accept ?? '').includes('protobuf')) {
        return send(res, entry, 200, route.protobuf.bytes, { 'Content-Type': route.protobuf.mediaType });
      }
      return send(res, entry, 200, route.body);
    }
    if (isConnect(route)) throw badRequest('Upgrade request required');
    if (entry.verb === 'watch') {
      const end = serveWatch(
        ctx.api.store,
        { def: route.def, namespace: route.namespace, query: url.searchParams },
        res,
      );
      ctx.watches.add(end);
      res.on('close', () => ctx.watches.delete(end));
      entry.status = 200;
      return entry;
    }
    const result = dispatch(ctx.api, route, entry, req, url.searchParams, body);
    applied = true;
    if (decision?.fault?.kind === 'error') {
      entry.fault = 'applyThenFail';
      throw injectedFailure(decision.fault.status);
    }
    const accept = req.headers.accept;
    if (wantsTable(accept) && (entry.verb === 'get' || entry.verb === 'list') && !route.subresource) {
      return send(res, entry, result.status, tableOf(route.def, result.body));
    }
    // Each warning is one `Warning: 299 - "<text>"` header, as the real server sends them.
    const warnings = (result.warnings ?? []).map((text) => `299 - ${JSON.stringify(text)}`);
    return send(res, entry, result.status, result.body, warnings.length > 0 ? { Warning: warnings } : {});
  } catch (error) {
    if (error instanceof KubeStatusError) {
      return send(res, entry, error.status.code, error.status, error.headers);
    }
    console.error(`kube stand-in: ${method} ${url.pathname} failed${applied ? ' after applying' : ''}:`, error);
    return send(res, entry, 500, internalError().status);
  }
}

/**
 * Handles a request to upgrade the connection: a WebSocket `pods/{name}/portforward` is forwarded (portforward.ts);
 * everything else, and every check that fails, is answered with a `Status` and the connection closed.
 */
export async function handleUpgrade(
  ctx: HandlerContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<KubeRequestLogEntry> {
  const { url, method, entry } = startEntry(req);
  // A client may drop the connection mid-handshake; there is nothing to clean up then.
  socket.on('error', () => {});
  try {
    const route = authorizedRoute(ctx, req, url, method, entry);
    if (route.kind !== 'resource' || !isConnect(route)) {
      throw badRequest('the kube stand-in upgrades connections only for pods/{name}/portforward');
    }
    // `pods/portforward`, not `pods`, so a test can fault port-forwards without faulting the pod list.
    const decision = ctx.faults.decide(method, `${route.def.resource}/${route.subresource}`);
    if (decision?.latencyMs) await sleep(decision.latencyMs);
    if (decision?.fault?.kind === 'timeout') {
      entry.fault = 'timeout';
      await sleep(decision.fault.hangMs);
      socket.destroy();
      return entry;
    }
    if (decision?.fault?.kind === 'error') {
      entry.fault = 'error';
      throw injectedFailure(decision.fault.status);
    }
    const request = ctx.portForwards.prepare(route.namespace!, route.name!, url.searchParams);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || method !== 'GET') {
      throw badRequest(
        `the kube stand-in forwards ports over WebSocket (GET, ${PORT_FORWARD_PROTOCOL}) only, not ${method} ${req.headers.upgrade ?? ''}`,
      );
    }
    ctx.portForwards.checkHandshake(req);
    entry.status = await ctx.portForwards.accept(req, socket, head, request);
    return entry;
  } catch (error) {
    if (!(error instanceof KubeStatusError)) {
      console.error(`kube stand-in: upgrade of ${method} ${url.pathname} failed:`, error);
    }
    const status = error instanceof KubeStatusError ? error : internalError();
    entry.status = status.status.code;
    refuseUpgrade(socket, status.status, status.headers);
    return entry;
  }
}

/** Writes a `Status` answer straight to an upgrade request's socket and closes it. */
function refuseUpgrade(socket: Duplex, status: KubeStatus, headers: Record<string, string>): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(status);
  const lines = [
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-cache, private',
    `Audit-Id: ${randomUUID()}`,
    'X-Kube-Standin: flinkplane',
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function internalError(): KubeStatusError {
  return new KubeStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Internal error occurred: the kube stand-in failed; see its log',
    reason: 'InternalError',
    code: 500,
  });
}

/** Authentication comes before everything else, as in the real server; 401 even for unknown paths. */
function checkToken(ctx: HandlerContext, req: IncomingMessage, pathname: string): void {
  if (ctx.token === undefined || OPEN_PATHS.has(pathname)) return;
  if (req.headers.authorization !== `Bearer ${ctx.token}`) throw unauthorized();
}

function tableOf(def: ResourceDef, body: unknown): unknown {
  if (!isRecord(body)) return body;
  if (Array.isArray(body.items)) {
    const meta = isRecord(body.metadata) ? body.metadata : {};
    const items = (body.items as KubeObject[]).map((i) => ({ ...i, apiVersion: '', kind: '' }));
    const { resourceVersion, ...extra } = meta;
    return toTable(def, items, String(resourceVersion ?? ''), extra);
  }
  const obj = body as KubeObject;
  return toTable(def, [obj], String(obj.metadata?.resourceVersion ?? ''));
}

function send(
  res: ServerResponse,
  entry: KubeRequestLogEntry,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): KubeRequestLogEntry {
  entry.status = status;
  if (res.headersSent) {
    res.end();
    return entry;
  }
  const text =
    typeof body === 'string' || Buffer.isBuffer(body)
      ? body
      : isRecord(body) && isRecord(body.metadata) && typeof body.kind === 'string'
        ? storedJson(body as KubeObject)
        : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': typeof text === 'string' ? Buffer.byteLength(text) : text.length,
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    'X-Kube-Standin': 'flinkplane',
    ...headers,
  });
  res.end(text);
  return entry;
}

function dispatch(
  api: KubeApi,
  route: Extract<Route, { kind: 'resource' }>,
  entry: KubeRequestLogEntry,
  req: IncomingMessage,
  query: URLSearchParams,
  body: Buffer,
): { status: number; body: unknown; warnings?: string[] } {
  const { def, namespace, name, subresource } = route;
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (def.namespaced && namespace === undefined && entry.verb !== 'list') throw methodNotAllowed();
  const named = ['get', 'update', 'patch', 'delete'].includes(entry.verb);
  if (named !== (name !== undefined)) throw methodNotAllowed();
  switch (entry.verb) {
    case 'get':
      return { status: 200, body: api.get(def, namespace, name!, subresource) };
    case 'list':
      return {
        status: 200,
        body: api.list(def, namespace, {
          labelSelector: query.get('labelSelector'),
          fieldSelector: query.get('fieldSelector'),
          limit: query.has('limit') ? Number(query.get('limit')) : undefined,
          continueToken: query.get('continue'),
        }),
      };
    case 'create': {
      if (subresource) throw methodNotAllowed();
      const options = writeOptions(req, query, 'CreateOptions', false);
      const created = api.create(def, namespace, decodeBody(def, body, contentType), options);
      return { status: 201, body: created, warnings: options.warnings };
    }
    case 'update': {
      const options = writeOptions(req, query, 'UpdateOptions', false);
      const replaced = api.replace(def, namespace, name!, subresource, decodeBody(def, body, contentType), options);
      return { status: 200, body: replaced, warnings: options.warnings };
    }
    case 'patch': {
      const patchType = PATCH_MEDIA_TYPES[contentType];
      if (!patchType) throw unsupportedMediaType(contentType, Object.keys(PATCH_MEDIA_TYPES));
      entry.patchType = patchType;
      const options = writeOptions(req, query, 'PatchOptions', patchType === 'apply');
      const patch = decodePatch(body, patchType);
      const { object, created } = api.patch(def, namespace, name!, subresource, patchType, patch, options);
      return { status: created ? 201 : 200, body: object, warnings: options.warnings };
    }
    case 'delete': {
      if (subresource) throw methodNotAllowed();
      const options = deleteOptions(query, body);
      const result = api.delete(def, namespace, name!, options);
      return { status: 200, body: result };
    }
    case 'deletecollection': {
      if (def.resource === 'namespaces') throw methodNotAllowed();
      const options = deleteOptions(query, body);
      const list = { labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector') };
      return { status: 200, body: api.deleteCollection(def, namespace, list, options) };
    }
    default:
      throw methodNotAllowed();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
