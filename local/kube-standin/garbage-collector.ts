/**
 * The garbage collector's work, done synchronously when an owner is removed: its dependents in the same namespace
 * (found through `ownerReferences`) are deleted, background and foreground alike, or orphaned (their reference to the
 * owner dropped). Cross-namespace and cluster-scoped owners are not followed.
 */
import type { KubeObject, ObjectMeta } from './objects.ts';
import type { ResourceDef } from './resources.ts';
import type { ObjectStore } from './store.ts';

export type DependentActions = {
  /** Deletes a dependent (and, through it, its own dependents). */
  remove(def: ResourceDef, dependent: KubeObject): void;
  /** Writes a dependent whose reference to the owner is gone. */
  orphan(def: ResourceDef, dependent: KubeObject, next: KubeObject): void;
};

export function collectDependents(
  store: ObjectStore,
  owner: KubeObject,
  propagation: string,
  actions: DependentActions,
): void {
  const { uid, namespace } = owner.metadata;
  if (!namespace) return;
  for (const [def, dependent] of store.namespaceContents(namespace)) {
    const refs = dependent.metadata.ownerReferences;
    if (!refs?.some((r) => r.uid === uid)) continue;
    if (propagation === 'Orphan') {
      const ownerReferences = refs.filter((r) => r.uid !== uid);
      const metadata: ObjectMeta = { ...dependent.metadata, ownerReferences };
      if (ownerReferences.length === 0) delete metadata.ownerReferences;
      actions.orphan(def, dependent, { ...dependent, metadata });
    } else {
      actions.remove(def, dependent);
    }
  }
}
