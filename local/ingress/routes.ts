import { validateTenantName } from '../../functions/core/tenant-name.ts';
import { isRecord, type JsonRecord, type KubeObject } from '../kube-standin/objects.ts';
import { resourceDef } from '../kube-standin/resources.ts';
import { resolveServiceEndpoints, type ServiceEndpoint } from '../kube-standin/service-endpoints.ts';
import type { ObjectStore } from '../kube-standin/store.ts';

const INGRESSES = resourceDef('networking.k8s.io', 'ingresses');
const VHOST_PREFIX = 'flink-cluster-ui-';

/** A Host header that names a tenant's Flink UI vhost. */
export interface Vhost {
  /** The host name, lower case, without port. */
  readonly host: string;
  readonly tenant: string;
}

/**
 * Which vhost a Host header names: `undefined` when the host is not under the domain (the API and console's), `null`
 * when it is under the domain but names no tenant's vhost.
 */
export function vhostOf(hostHeader: string | undefined, domain: string): Vhost | null | undefined {
  const host = hostName(hostHeader);
  const suffix = `.${domain.toLowerCase()}`;
  if (!host?.endsWith(suffix)) return undefined;
  const label = host.slice(0, -suffix.length);
  if (!label.startsWith(VHOST_PREFIX)) return null;
  const tenant = label.slice(VHOST_PREFIX.length);
  return validateTenantName(tenant).length === 0 ? { host, tenant } : null;
}

/** The host name of a Host header: lower case, without port or trailing dot. */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const host = header.trim().toLowerCase();
  if (host.startsWith('[')) return undefined; // An IPv6 literal is never a vhost.
  return host.replace(/:\d*$/, '').replace(/\.$/, '');
}

/** Where the Ingress of a host sends a request. */
export type IngressRoute =
  | { readonly kind: 'no-ingress' }
  | {
      readonly kind: 'routed';
      readonly ingress: string;
      readonly service: string;
      readonly endpoints: ServiceEndpoint[];
    };

/** What an ingress controller reads from the cluster: the Ingress rules and the ready endpoints behind them. */
export interface IngressRoutes {
  /** The route of `host` + `path` through the Ingresses of `namespace` (and only that namespace). */
  route(namespace: string, host: string, path: string): IngressRoute;
}

/**
 * Ingress rules over the stand-in's object store, as ingress-nginx reads them: Ingresses of `className` (or of no
 * class), a rule whose host equals the request's, the longest matching path (Exact before Prefix), else the
 * Ingress's default backend; then the ready endpoints of the backend Service's port.
 */
export function createStoreRoutes(store: ObjectStore, className: string): IngressRoutes {
  return {
    route(namespace, host, path) {
      for (const ingress of store.list(INGRESSES, namespace)) {
        const spec = recordOf(ingress.spec);
        if (typeof spec.ingressClassName === 'string' && spec.ingressClassName !== className) continue;
        const backend = matchBackend(ingress, host, path);
        if (!backend) continue;
        const service = recordOf(backend.service);
        const port = recordOf(service.port);
        const portRef =
          typeof port.number === 'number' ? port.number : typeof port.name === 'string' ? port.name : undefined;
        if (typeof service.name !== 'string' || portRef === undefined) continue;
        return {
          kind: 'routed',
          ingress: ingress.metadata.name!,
          service: service.name,
          endpoints: resolveServiceEndpoints(store, namespace, service.name, portRef),
        };
      }
      return { kind: 'no-ingress' };
    },
  };
}

function matchBackend(ingress: KubeObject, host: string, path: string): JsonRecord | undefined {
  const spec = recordOf(ingress.spec);
  const rules = Array.isArray(spec.rules) ? spec.rules.filter(isRecord) : [];
  const rule = rules.find((candidate) => typeof candidate.host === 'string' && candidate.host.toLowerCase() === host);
  if (!rule) return undefined;
  const paths = Array.isArray(recordOf(rule.http).paths)
    ? (recordOf(rule.http).paths as unknown[]).filter(isRecord)
    : [];
  let best: { backend: JsonRecord; score: number } | undefined;
  for (const candidate of paths) {
    const score = pathScore(candidate, path);
    if (score !== undefined && (!best || score > best.score)) best = { backend: recordOf(candidate.backend), score };
  }
  return best?.backend ?? (isRecord(spec.defaultBackend) ? spec.defaultBackend : undefined);
}

/** How well an Ingress path matches: higher is more specific; undefined when it does not match. */
function pathScore(candidate: JsonRecord, path: string): number | undefined {
  const rulePath = typeof candidate.path === 'string' && candidate.path !== '' ? candidate.path : '/';
  if (candidate.pathType === 'Exact') return path === rulePath ? rulePath.length * 2 + 1 : undefined;
  // Prefix (and ImplementationSpecific, which ingress-nginx treats as a prefix) matches whole path segments.
  const prefix = rulePath.replace(/\/+$/, '');
  const matches = prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
  return matches ? prefix.length * 2 : undefined;
}

function recordOf(value: unknown): JsonRecord {
  return isRecord(value) ? value : {};
}
