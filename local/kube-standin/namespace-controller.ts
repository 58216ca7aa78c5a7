/**
 * The namespace side of the API server: the NamespaceLifecycle admission plugin (no new objects in a missing or
 * terminating namespace) and the namespace controller (a deleted namespace turns Terminating, its contents are
 * deleted after a delay, then the namespace goes once it is empty).
 */
import { canonical, isRecord, type KubeObject, type ObjectMeta, timestamp } from './objects.ts';
import { type ResourceDef, resourceDef } from './resources.ts';
import { forbidden, notFound } from './status.ts';
import type { ObjectStore } from './store.ts';

export const NAMESPACES = resourceDef('', 'namespaces');
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export class NamespaceController {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly finalizing = new Set<string>();

  /** `deleteObject` deletes one object of a terminating namespace as the API would (finalizers, grace periods). */
  constructor(
    private readonly store: ObjectStore,
    private readonly deletionDelayMs: number,
    private readonly deleteObject: (def: ResourceDef, obj: KubeObject) => void,
  ) {}

  /** Schedules the finalization of namespaces that were Terminating when the store was saved. */
  resume(): void {
    for (const namespace of this.store.list(NAMESPACES)) {
      if (namespace.metadata.deletionTimestamp) this.schedule(namespace.metadata.name!);
    }
  }

  /** Cancels pending finalizations. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** NamespaceLifecycle admission of a create. */
  admitCreate(def: ResourceDef, meta: ObjectMeta): void {
    if (!def.namespaced) return;
    const namespace = this.store.get(NAMESPACES, undefined, meta.namespace!);
    if (!namespace) throw notFound(NAMESPACES, meta.namespace!);
    if (namespace.metadata.deletionTimestamp) {
      throw forbidden(
        def,
        meta.name ?? '',
        `unable to create new content in namespace ${meta.namespace} because it is being terminated`,
        [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${meta.namespace} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      );
    }
  }

  /** Marks a namespace Terminating (answering it) and schedules the deletion of its contents. */
  delete(live: KubeObject, dryRun: boolean): KubeObject {
    const name = live.metadata.name!;
    if (PROTECTED_NAMESPACES.has(name)) throw forbidden(NAMESPACES, name, 'this namespace may not be deleted');
    if (live.metadata.deletionTimestamp || dryRun) return live;
    const terminating: KubeObject = {
      ...live,
      metadata: { ...live.metadata, deletionTimestamp: timestamp(), deletionGracePeriodSeconds: 0 },
      status: { ...(isRecord(live.status) ? live.status : {}), phase: 'Terminating' },
    };
    const stored = this.store.put(NAMESPACES, canonical(terminating));
    this.schedule(name);
    return stored;
  }

  /** Called after an object in `name` is removed: a finalizing namespace goes once it is empty. */
  contentRemoved(name: string): void {
    if (!this.finalizing.has(name)) return;
    if (this.store.namespaceContents(name).length > 0) return;
    this.finalizing.delete(name);
    this.store.remove(NAMESPACES, undefined, name);
  }

  private schedule(name: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.finalize(name);
    }, this.deletionDelayMs);
    this.timers.add(timer);
  }

  /** Deletes everything inside, then the namespace once it is empty. */
  private finalize(name: string): void {
    this.finalizing.add(name);
    for (const [def, obj] of this.store.namespaceContents(name)) {
      const current = this.store.get(def, name, obj.metadata.name!);
      if (current) this.deleteObject(def, current);
    }
    this.contentRemoved(name);
  }
}
