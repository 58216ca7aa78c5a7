import type { KubeApi } from './api.ts';
import type { KubeObject } from './objects.ts';
import { resourceDef } from './resources.ts';

const EVENTS = resourceDef('', 'events');
/** How long the API server keeps an Event (`--event-ttl`, default one hour). */
const EVENT_TTL_MS = 60 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60 * 1000;

/** Who reports an Event: `kubelet` on a node, `default-scheduler`, `deployment-controller` … */
export type EventSource = { component: string; host?: string };

/** What an Event is about; `fieldPath` names a container as `spec.containers{name}`. */
export type EventSubject = Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'> & { fieldPath?: string };

/**
 * Records `v1` Events the way client-go's event recorder does: one Event object per distinct (object, type, reason,
 * message, source), whose `count` and `lastTimestamp` grow when the same thing happens again. Events older than the
 * API server's event TTL are removed.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { namespace: string; name: string }>();
  private readonly sweeper: NodeJS.Timeout;
  private sequence = 0;

  constructor(private readonly api: KubeApi) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  record(
    subject: EventSubject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
  ): void {
    const meta = subject.metadata;
    const namespace = meta.namespace ?? 'default';
    const key = [meta.uid, type, reason, message, subject.fieldPath ?? '', source.component].join('\u0000');
    const now = new Date();
    const time = `${now.toISOString().slice(0, 19)}Z`;
    const known = this.seen.get(key);
    const live = known && this.api.store.get(EVENTS, known.namespace, known.name);
    if (live) {
      const count = (typeof live.count === 'number' ? live.count : 1) + 1;
      this.api.internalUpdate(EVENTS, live, { ...live, count, lastTimestamp: time }, source.component);
      return;
    }
    this.sequence = (this.sequence + 1) % 1_000_000;
    const name = `${meta.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.sequence)).toString(16)}`;
    const involvedObject: Record<string, unknown> = {
      kind: subject.kind,
      namespace: meta.namespace,
      name: meta.name,
      uid: meta.uid,
      apiVersion: subject.apiVersion,
      resourceVersion: meta.resourceVersion,
    };
    if (subject.fieldPath) involvedObject.fieldPath = subject.fieldPath;
    const created = this.api.internalCreate(
      EVENTS,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject,
        reason,
        message,
        source: source.host ? { component: source.component, host: source.host } : { component: source.component },
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
        type,
        reportingComponent: source.component,
        reportingInstance: source.host ?? '',
      },
      source.component,
    );
    if (created) this.seen.set(key, { namespace, name });
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const cutoff = Date.now() - EVENT_TTL_MS;
    for (const event of this.api.store.list(EVENTS)) {
      const last = Date.parse(String(event.lastTimestamp ?? event.metadata.creationTimestamp ?? ''));
      if (last < cutoff) this.api.internalDelete(EVENTS, event);
    }
    for (const [key, where] of this.seen) {
      if (!this.api.store.get(EVENTS, where.namespace, where.name)) this.seen.delete(key);
    }
  }
}
