import type { KubeApi } from '../api.ts';
import {
  fnv32a,
  isRecord,
  type JsonRecord,
  type KubeObject,
  safeEncode,
  stableStringify,
  timestamp,
} from '../objects.ts';
import { resourceDef } from '../resources.ts';

export const PODS = resourceDef('', 'pods');

export function specOf(obj: KubeObject): JsonRecord {
  return isRecord(obj.spec) ? obj.spec : {};
}

function statusOf(obj: KubeObject): JsonRecord {
  return isRecord(obj.status) ? obj.status : {};
}

/** `pod-template-hash`: FNV-32a of the template, safe-encoded like the Deployment controller does. */
export function templateHash(template: unknown): string {
  return safeEncode(String(fnv32a(stableStringify(template ?? {}))));
}

/** The Pods whose controller is `owner`. */
export function ownedPods(api: KubeApi, owner: KubeObject): KubeObject[] {
  return api.store
    .list(PODS, owner.metadata.namespace)
    .filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.uid === owner.metadata.uid));
}

/** Not being deleted and not finished: a Pod a ReplicaSet counts (`controller.FilterActivePods`). */
export function isActive(pod: KubeObject): boolean {
  const phase = statusOf(pod).phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Not finished, deleted or not: it still holds its node's resources and its name. */
export function isRunningOrPending(pod: KubeObject): boolean {
  const phase = statusOf(pod).phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

function readyCondition(pod: KubeObject): JsonRecord | undefined {
  const conditions = Array.isArray(statusOf(pod).conditions) ? (statusOf(pod).conditions as unknown[]) : [];
  return conditions.find((c): c is JsonRecord => isRecord(c) && c.type === 'Ready');
}

export function isReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** Ready for at least `minReadySeconds` (`podutil.IsPodAvailable`). */
export function isAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  return Date.parse(String(ready.lastTransitionTime)) + minReadySeconds * 1000 <= now;
}

/** When a ready Pod becomes available, or undefined when it is not ready or already available. */
export function availableAt(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True' || minReadySeconds <= 0) return undefined;
  const at = Date.parse(String(ready.lastTransitionTime)) + minReadySeconds * 1000;
  return at > now ? at : undefined;
}

/**
 * The order in which a controller deletes surplus Pods (`controller.ActivePods`): unscheduled before scheduled,
 * pending before running, not ready before ready, more restarts before fewer, newer before older.
 */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject): number[] => {
    const status = statusOf(p);
    const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses.filter(isRecord) : [];
    const restarts = statuses.reduce((sum, s) => sum + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
    return [
      specOf(p).nodeName ? 1 : 0,
      status.phase === 'Running' ? 1 : 0,
      isReady(p) ? 1 : 0,
      -restarts,
      -Date.parse(p.metadata.creationTimestamp ?? '0'),
    ];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return 0;
}

/** A Pod from a workload's template, owned by the workload; the scheduler binds it to a node. */
export function podFromTemplate(
  owner: KubeObject,
  name: string,
  extraLabels: Record<string, string>,
  extraSpec: JsonRecord = {},
): KubeObject {
  const spec = specOf(owner);
  const template = isRecord(spec.template) ? spec.template : {};
  const templateMeta = isRecord(template.metadata) ? template.metadata : {};
  const podSpec: JsonRecord = { ...(isRecord(template.spec) ? template.spec : {}), ...extraSpec };
  const metadata: JsonRecord = {
    name,
    namespace: owner.metadata.namespace,
    labels: { ...(isRecord(templateMeta.labels) ? templateMeta.labels : {}), ...extraLabels },
    ownerReferences: [
      {
        apiVersion: owner.apiVersion,
        kind: owner.kind,
        name: owner.metadata.name,
        uid: owner.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  if (isRecord(templateMeta.annotations)) metadata.annotations = templateMeta.annotations;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec } as KubeObject;
}

/** A status condition as the controllers write it: times kept while nothing about it changes. */
export function condition(
  previous: unknown,
  type: string,
  [status, reason, message]: [string, string, string],
  touch = false,
): JsonRecord {
  const list = Array.isArray(previous) ? previous : [];
  const before = list.find((c): c is JsonRecord => isRecord(c) && c.type === type);
  const now = timestamp();
  const unchanged = before && before.status === status && before.reason === reason && before.message === message;
  return {
    type,
    status,
    lastUpdateTime: unchanged && !touch ? before.lastUpdateTime : now,
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
    reason,
    message,
  };
}

/** Status fields the API omits when zero (`omitempty`). */
export function withoutZeros(status: JsonRecord): JsonRecord {
  const out: JsonRecord = {};
  for (const [key, value] of Object.entries(status)) if (value !== 0 && value !== undefined) out[key] = value;
  return out;
}
