/**
 * What differs per resource, as in the real server's per-resource strategies: how an object is prepared for storage
 * (Secrets' `stringData`, Services' cluster IPs), the status it starts with, a Pod's deletion grace period, and the
 * `scale` subresource of workloads.
 */
import { isRecord, type KubeObject } from './objects.ts';
import { parseQuantity } from './quantity.ts';
import { type ResourceDef, resourceDef } from './resources.ts';
import { badRequest, forbidden } from './status.ts';
import type { ObjectStore } from './store.ts';

const SERVICES = resourceDef('', 'services');
const STORAGE_CLASSES = resourceDef('storage.k8s.io', 'storageclasses');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Prepares an object for storage, as the real strategies' PrepareForCreate/PrepareForUpdate do: Secrets' `stringData`
 * folded into `data`; Services' cluster IPs (10.96.0.0/16) allocated on create and kept on update.
 */
export class StorageStrategy {
  private counter: number | undefined;

  constructor(private readonly store: ObjectStore) {}

  prepare(def: ResourceDef, live: KubeObject | undefined, obj: KubeObject): void {
    if (def.resource === 'secrets') encodeStringData(obj);
    if (def.resource !== 'services' || !isRecord(obj.spec) || obj.spec.type === 'ExternalName') return;
    const spec = obj.spec;
    const liveSpec = live && isRecord(live.spec) ? live.spec : undefined;
    if (spec.clusterIP === undefined && liveSpec?.clusterIP !== undefined) spec.clusterIP = liveSpec.clusterIP;
    if (spec.clusterIP === undefined) spec.clusterIP = this.next();
    if (spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
  }

  private next(): string {
    // Continue after the highest address in use, so a restart from a data file allocates no duplicates.
    this.counter ??= Math.max(0, ...this.store.list(SERVICES).map(clusterIpIndex));
    this.counter++;
    return `10.96.${(this.counter >> 8) & 255}.${this.counter & 255}`;
  }
}

/** The status a resource starts with, where the real server (or an always-present controller) sets one. */
export function initialStatus(def: ResourceDef, obj: KubeObject): unknown {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  switch (def.resource) {
    case 'namespaces':
      return { phase: 'Active' };
    case 'services':
    case 'ingresses':
      return { loadBalancer: {} };
    case 'persistentvolumeclaims': {
      const requests = isRecord(spec.resources) && isRecord(spec.resources.requests) ? spec.resources.requests : {};
      return { phase: 'Bound', accessModes: spec.accessModes, capacity: { ...requests } };
    }
    case 'pods':
      return { phase: 'Pending', qosClass: 'BestEffort' };
    default:
      return undefined;
  }
}

/**
 * The grace period a Pod's deletion gets, as the API server's pod strategy decides: 0 (at once) for a Pod no node
 * runs (unscheduled, or finished), else the requested one, else `terminationGracePeriodSeconds` (default 30).
 */
export function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const phase = isRecord(pod.status) ? pod.status.phase : undefined;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  return typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
}

export const SCALE_PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

export function decodeScale(body: unknown): unknown {
  if (!isRecord(body) || (body.kind !== undefined && body.kind !== 'Scale')) {
    throw badRequest('the object provided is unrecognized (must be of type Scale)');
  }
  return body;
}

/** The `autoscaling/v1` Scale of a Deployment or StatefulSet. */
export function toScale(obj: KubeObject): KubeObject {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status = isRecord(obj.status) ? obj.status : {};
  const selector = isRecord(spec.selector) && isRecord(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: {
      replicas: status.replicas ?? 0,
      selector: Object.entries(selector)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(','),
    },
  };
}

function clusterIpIndex(service: KubeObject): number {
  const ip = isRecord(service.spec) ? String(service.spec.clusterIP) : '';
  const match = /^10\.96\.(\d+)\.(\d+)$/.exec(ip);
  return match ? Number(match[1]) * 256 + Number(match[2]) : 0;
}

function encodeStringData(obj: KubeObject): void {
  const data = isRecord(obj.data) ? { ...obj.data } : {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string' || !BASE64.test(value)) {
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data[${JSON.stringify(key)}]`,
      );
    }
  }
  if (isRecord(obj.stringData)) {
    for (const [key, value] of Object.entries(obj.stringData))
      data[key] = Buffer.from(String(value)).toString('base64');
    delete obj.stringData;
    obj.data = data;
  }
}

/**
 * The PersistentVolumeClaimResize admission plugin: a claim's storage request may grow only when its StorageClass
 * exists and sets `allowVolumeExpansion: true`.
 */
export function admitClaimResize(store: ObjectStore, def: ResourceDef, live: KubeObject, next: KubeObject): void {
  if (def.resource !== 'persistentvolumeclaims') return;
  const storage = (obj: KubeObject) => {
    const spec = isRecord(obj.spec) ? obj.spec : {};
    return isRecord(spec.resources) && isRecord(spec.resources.requests) ? spec.resources.requests.storage : undefined;
  };
  if (!(parseQuantity(storage(next)) > parseQuantity(storage(live)))) return;
  const className = isRecord(next.spec) ? next.spec.storageClassName : undefined;
  const storageClass = typeof className === 'string' ? store.get(STORAGE_CLASSES, undefined, className) : undefined;
  if (storageClass?.allowVolumeExpansion !== true) {
    throw forbidden(
      def,
      live.metadata.name ?? '',
      'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
  }
}
