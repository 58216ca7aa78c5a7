/**
 * Request info, as the real server's RequestInfoResolver derives it: which document, or which resource, namespace,
 * name and subresource a path names, and the Kubernetes verb a method and query make of it.
 */
import type { IncomingMessage } from 'node:http';
import type { PatchType } from './api.ts';
import {
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  findResource,
  openApiDocument,
  openApiIndex,
  openApiV2,
  type ResourceDef,
  STANDIN_VERSION,
} from './resources.ts';
import { pathNotFound } from './status.ts';

/** One handled request, for tests to assert on. */
export type KubeRequestLogEntry = {
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /**
   * Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection; `discovery` otherwise. As in
   * the real server it follows the HTTP method, so a WebSocket port-forward (always GET) is `get` on `pods/portforward`.
   */
  verb: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status answered (101 for an accepted port-forward); 0 when the connection was dropped. */
  status: number;
  fieldManager?: string;
  patchType?: PatchType;
  /** Set when a fault was injected: `error` (before any change), `applyThenFail` (after it) or `timeout`. */
  fault?: 'error' | 'applyThenFail' | 'timeout';
  durationMs: number;
};

export type Route =
  /** A fixed document; `protobuf` is its protobuf form, for clients that accept it. */
  | { kind: 'document'; body: unknown; protobuf?: { bytes: Buffer; mediaType: string } }
  | {
      kind: 'resource';
      def: ResourceDef;
      namespace?: string;
      name?: string;
      subresource?: string;
    }
  | {
      /** `pods/{name}/log` or `services/{name}/proxy/{path}`: answered with a stream, not an object. */
      kind: 'stream';
      def: ResourceDef;
      namespace: string;
      name: string;
      subresource: 'log' | 'proxy';
      /** The path after `/proxy` (raw, as sent), for the service proxy. */
      path: string;
    };

/** The request's URL and method, and its log entry before routing fills in the rest. */
export function startEntry(req: IncomingMessage): { url: URL; method: string; entry: KubeRequestLogEntry } {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  const entry: KubeRequestLogEntry = {
    time: new Date().toISOString(),
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    verb: 'discovery',
    status: 0,
    durationMs: 0,
  };
  return { url, method, entry };
}

export function isConnect(route: Extract<Route, { kind: 'resource' }>): boolean {
  return route.subresource !== undefined && (route.def.connectSubresources as string[]).includes(route.subresource);
}

export function resolveRoute(pathname: string, host: string): Route {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  if (pathname === '/version' || pathname === '/version/') return { kind: 'document', body: STANDIN_VERSION };
  if (['/healthz', '/livez', '/readyz'].includes(pathname)) return { kind: 'document', body: 'ok' };
  if (pathname === '/openapi/v3') return { kind: 'document', body: openApiIndex() };
  if (pathname === '/openapi/v2') {
    const v2 = openApiV2();
    return { kind: 'document', body: v2.json, protobuf: { bytes: v2.protobuf, mediaType: v2.mediaType } };
  }
  if (parts[0] === 'openapi' && parts[1] === 'v3') {
    const doc = openApiDocument(parts.slice(3).join('/'));
    if (!doc) throw pathNotFound();
    return { kind: 'document', body: doc };
  }
  let gv: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { kind: 'document', body: apiVersions(host) };
    gv = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { kind: 'document', body: apiGroupList() };
    if (parts.length === 2) {
      const group = apiGroupDocument(parts[1]!);
      if (!group) throw pathNotFound();
      return { kind: 'document', body: group };
    }
    gv = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else {
    throw pathNotFound();
  }
  if (rest.length === 0) {
    const list = apiResourceList(gv);
    if (!list) throw pathNotFound();
    return { kind: 'document', body: list };
  }
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
  ) {
    if (rest.length > 5 && !(rest[2] === 'services' && rest[4] === 'proxy')) throw pathNotFound();
    [, namespace, resource, name, subresource] = rest as [string, string, string, string?, string?];
  } else {
    if (rest.length > 3) throw pathNotFound();
    [resource, name, subresource] = rest as [string, string?, string?];
  }
  const def = findResource(gv, resource);
  if (!def) throw pathNotFound();
  if (def.namespaced && namespace === undefined && name !== undefined) throw pathNotFound();
  if (!def.namespaced && namespace !== undefined) throw pathNotFound();
  const subresources: string[] = [...def.subresources, ...def.connectSubresources, ...def.streamSubresources];
  if (subresource !== undefined && !subresources.includes(subresource)) throw pathNotFound();
  if (subresource === 'log' || subresource === 'proxy') {
    // The proxied path as sent: everything after `/proxy`, still encoded, trailing slash kept.
    const raw = pathname.split('/');
    const path = subresource === 'proxy' ? `/${raw.slice(raw.indexOf('proxy', 7) + 1).join('/')}` : '';
    return { kind: 'stream', def, namespace: namespace!, name: name!, subresource, path };
  }
  return { kind: 'resource', def, namespace, name, subresource };
}

export function describeRequest(
  entry: KubeRequestLogEntry,
  route: Exclude<Route, { kind: 'document' }>,
  method: string,
  query: URLSearchParams,
): void {
  const { def, namespace, name, subresource } = route;
  entry.group = def.group;
  entry.version = def.version;
  entry.resource = def.resource;
  if (subresource) entry.subresource = subresource;
  if (namespace !== undefined) entry.namespace = namespace;
  if (name !== undefined) entry.name = name;
  const fieldManager = query.get('fieldManager');
  if (fieldManager !== null) entry.fieldManager = fieldManager;
  const watch = query.get('watch');
  entry.verb =
    method === 'GET'
      ? name !== undefined
        ? 'get'
        : watch === 'true' || watch === '1'
          ? 'watch'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : method === 'DELETE'
              ? name !== undefined
                ? 'delete'
                : 'deletecollection'
              : method.toLowerCase();
}
