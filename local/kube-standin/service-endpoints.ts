import { isRecord, type JsonRecord, type KubeObject } from './objects.ts';
import { resourceDef } from './resources.ts';
import type { ObjectStore } from './store.ts';

const SERVICES = resourceDef('', 'services');
const PODS = resourceDef('', 'pods');

/** One address a Service's port reaches: a ready Pod's IP and the container port the Service's targetPort names. */
export type ServiceEndpoint = { ip: string; port: number; pod: string };

/**
 * The endpoints of a Service's port, as the EndpointSlice controller would list them: the Pods its selector matches
 * that are Running, Ready, not terminating and have an IP, each with the targetPort resolved (a name through the Pod's
 * container ports, a number as is). `port` picks the Service port by number or name; without it, the first port.
 * A Service without a selector, an unknown Service or port, or no ready Pod answers an empty list. Sorted by Pod name.
 */
export function resolveServiceEndpoints(
  store: ObjectStore,
  namespace: string,
  service: string,
  port?: string | number,
): ServiceEndpoint[] {
  const found = store.get(SERVICES, namespace, service);
  if (!found) return [];
  const spec = recordOf(found.spec);
  const selector = stringMap(spec.selector);
  if (Object.keys(selector).length === 0) return [];
  const servicePort = pickPort(Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : [], port);
  if (!servicePort) return [];
  const targetPort = servicePort.targetPort ?? servicePort.port;

  const endpoints: ServiceEndpoint[] = [];
  for (const pod of store.list(PODS, namespace)) {
    if (!matchesSelector(selector, pod.metadata.labels) || !isReadyPod(pod)) continue;
    const containerPort = resolveTargetPort(pod, targetPort);
    const ip = recordOf(pod.status).podIP;
    if (containerPort === undefined || typeof ip !== 'string') continue;
    endpoints.push({ ip, port: containerPort, pod: pod.metadata.name! });
  }
  return endpoints.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

/** Running, Ready=True, not being deleted and with an IP: what the EndpointSlice controller counts as ready. */
export function isReadyPod(pod: KubeObject): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const status = recordOf(pod.status);
  if (status.phase !== 'Running' || typeof status.podIP !== 'string' || status.podIP === '') return false;
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  return conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

function pickPort(ports: JsonRecord[], wanted: string | number | undefined): JsonRecord | undefined {
  if (wanted === undefined) return ports[0];
  const number = typeof wanted === 'number' ? wanted : /^\d+$/.test(wanted) ? Number(wanted) : undefined;
  return ports.find((port) => (number === undefined ? port.name === wanted : port.port === number));
}

/** A numeric targetPort is the container port; a named one is looked up in the Pod's containers. */
function resolveTargetPort(pod: KubeObject, targetPort: unknown): number | undefined {
  if (typeof targetPort === 'number') return targetPort;
  if (typeof targetPort !== 'string') return undefined;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  const containers = recordOf(pod.spec).containers;
  for (const container of Array.isArray(containers) ? containers.filter(isRecord) : []) {
    const ports = Array.isArray(container.ports) ? container.ports.filter(isRecord) : [];
    const named = ports.find((port) => port.name === targetPort && typeof port.containerPort === 'number');
    if (named) return named.containerPort as number;
  }
  return undefined;
}

function matchesSelector(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function recordOf(value: unknown): JsonRecord {
  return isRecord(value) ? value : {};
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(recordOf(value))) if (typeof entry === 'string') out[key] = entry;
  return out;
}
