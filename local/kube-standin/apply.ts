import {
  decodeFieldsV1,
  diffFields,
  encodeFieldsV1,
  type FieldScope,
  leafValues,
  ownsAtOrBelow,
  printPath,
  removeAt,
  valueAt,
} from './fields.ts';
import { clone, deepEqual, type JsonRecord, type KubeObject, type ManagedFieldsEntry } from './objects.ts';
import { mergeApplied } from './patch.ts';
import { applyConflict, type StatusCause } from './status.ts';

/**
 * Server-side apply and managed fields.
 *
 * Every write records who owns which fields in `metadata.managedFields`, as the real server does: an Update
 * (create, replace, merge/JSON/strategic patch) takes the fields whose value it changed; an Apply owns exactly
 * the fields in its configuration. On re-apply, fields the manager owned before but leaves out now are removed
 * unless another manager still owns them; applying a value to a field another manager owns with a different
 * value is a 409 conflict unless `force=true`, which moves the ownership. Which lists are merged per item and
 * which are atomic is decided in fields.ts.
 */
export type ManagerEntry = {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: Set<string>;
};

const decoded = new WeakMap<ManagedFieldsEntry[], ManagerEntry[]>();

/** The managers of a stored object, decoded once per stored version. */
export function readManagers(obj: KubeObject | undefined): ManagerEntry[] {
  const raw = obj?.metadata.managedFields;
  if (!Array.isArray(raw)) return [];
  let entries = decoded.get(raw);
  if (!entries) {
    entries = raw.map((e) => {
      const entry: ManagerEntry = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fields: decodeFieldsV1(e.fieldsV1),
      };
      if (e.subresource) entry.subresource = e.subresource;
      return entry;
    });
    decoded.set(raw, entries);
  }
  return entries;
}

/** Encodes managers as `metadata.managedFields`, dropping those that own nothing. */
export function encodeManagers(entries: ManagerEntry[]): ManagedFieldsEntry[] | undefined {
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (e.fields.size === 0) continue;
    const entry: ManagedFieldsEntry = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(e.fields),
    };
    if (e.subresource) entry.subresource = e.subresource;
    out.push(entry);
  }
  if (out.length > 0)
    decoded.set(
      out,
      entries.filter((e) => e.fields.size > 0),
    );
  return out.length > 0 ? out : undefined;
}

/** Two manager lists say the same thing, timestamps aside. */
export function sameManagers(a: ManagerEntry[], b: ManagerEntry[]): boolean {
  const live = (list: ManagerEntry[]) => list.filter((e) => e.fields.size > 0);
  const x = live(a);
  const y = live(b);
  if (x.length !== y.length) return false;
  return x.every((e, i) => {
    const f = y[i]!;
    if (e.manager !== f.manager || e.operation !== f.operation || e.apiVersion !== f.apiVersion) return false;
    if (e.subresource !== f.subresource || e.fields.size !== f.fields.size) return false;
    for (const path of e.fields) if (!f.fields.has(path)) return false;
    return true;
  });
}

function sameIdentity(e: ManagerEntry, manager: string, operation: string, subresource?: string): boolean {
  return e.manager === manager && e.operation === operation && e.subresource === subresource;
}

export type Writer = {
  manager: string;
  apiVersion: string;
  subresource?: string;
  scope: FieldScope;
  time: string;
};

/** The managers after an Update by `writer` turned `before` into `after`. */
export function trackUpdate(before: KubeObject | undefined, after: KubeObject, writer: Writer): ManagerEntry[] {
  const { changed, removed } = diffFields(before && leafValues(before, writer.scope), leafValues(after, writer.scope));
  const managers = readManagers(before);
  if (changed.size === 0 && removed.size === 0) return managers;
  const out = managers.map((e) => {
    if (sameIdentity(e, writer.manager, 'Update', writer.subresource)) return e;
    let fields = e.fields;
    for (const path of fields) {
      if (changed.has(path) || removed.has(path)) {
        if (fields === e.fields) fields = new Set(fields);
        fields.delete(path);
      }
    }
    return fields === e.fields ? e : { ...e, fields };
  });
  const index = out.findIndex((e) => sameIdentity(e, writer.manager, 'Update', writer.subresource));
  const previous = index >= 0 ? out[index]!.fields : new Set<string>();
  const fields = new Set([...previous].filter((p) => !removed.has(p)));
  for (const path of changed) fields.add(path);
  const entry: ManagerEntry = {
    manager: writer.manager,
    operation: 'Update',
    apiVersion: writer.apiVersion,
    time: writer.time,
    fields,
  };
  if (writer.subresource) entry.subresource = writer.subresource;
  if (index >= 0) out[index] = entry;
  else out.push(entry);
  return out;
}

/**
 * Applies `config` (an apply configuration with nulls dropped and system metadata removed) onto `live` for
 * `writer`. Returns the merged object (not yet defaulted or validated) and its managers, or throws the 409
 * conflict the real server answers.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  config: KubeObject,
  writer: Writer,
  force: boolean,
): { object: KubeObject; managers: ManagerEntry[] } {
  const scoped = scopeOf(config, writer.scope);
  const appliedLeaves = leafValues(scoped, writer.scope);
  const applied = new Set(appliedLeaves.keys());
  const own: ManagerEntry = {
    manager: writer.manager,
    operation: 'Apply',
    apiVersion: writer.apiVersion,
    time: writer.time,
    fields: applied,
  };
  if (writer.subresource) own.subresource = writer.subresource;
  if (!live) return { object: clone(scoped), managers: [own] };

  const managers = readManagers(live);
  const isOwn = (e: ManagerEntry) => sameIdentity(e, writer.manager, 'Apply', writer.subresource);
  const conflicts: { entry: ManagerEntry; path: string }[] = [];
  for (const entry of managers) {
    if (isOwn(entry)) continue;
    for (const [path, value] of appliedLeaves) {
      // A keyed item's or an empty keyed list's own path carries no value to conflict on.
      if (value === undefined) continue;
      if (entry.fields.has(path) && !deepEqual(valueAt(live, path), value)) conflicts.push({ entry, path });
    }
  }
  if (conflicts.length > 0 && !force) throw conflictError(conflicts);

  const lost = new Map<ManagerEntry, Set<string>>();
  for (const c of conflicts) lost.set(c.entry, (lost.get(c.entry) ?? new Set()).add(c.path));
  const others = managers
    .filter((e) => !isOwn(e))
    .map((e) => {
      const taken = lost.get(e);
      return taken ? { ...e, fields: new Set([...e.fields].filter((p) => !taken.has(p))) } : e;
    });

  const working = clone(live) as JsonRecord;
  const previous = managers.find(isOwn)?.fields ?? new Set<string>();
  for (const path of previous) {
    if (applied.has(path)) continue;
    if (others.some((e) => ownsAtOrBelow(e.fields, path))) continue;
    removeAt(working, path);
  }
  const object = mergeApplied(working, scoped) as KubeObject;

  const ownIndex = managers.findIndex(isOwn);
  const result: ManagerEntry[] = [];
  let otherIndex = 0;
  for (let i = 0; i < managers.length; i++) result.push(i === ownIndex ? own : others[otherIndex++]!);
  if (ownIndex < 0) result.push(own);
  return { object, managers: result };
}

/** The part of an apply configuration a write may touch: a main-resource apply ignores `status`. */
function scopeOf(config: KubeObject, scope: FieldScope): KubeObject {
  if (scope === 'all') return config;
  if (scope === 'main') {
    const { status: _ignored, ...rest } = config;
    return rest as KubeObject;
  }
  const out: KubeObject = { apiVersion: config.apiVersion, kind: config.kind, metadata: config.metadata };
  if (config.status !== undefined) out.status = config.status;
  return out;
}

/** How conflict messages name a manager (`printManager` in the real field manager). */
function printManager(e: ManagerEntry): string {
  let out = JSON.stringify(e.manager);
  if (e.subresource) out += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') out += ` using ${e.apiVersion}`;
  return out;
}

function conflictError(conflicts: { entry: ManagerEntry; path: string }[]) {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.entry)}`,
    field: printPath(c.path),
  }));
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    return applyConflict(
      `Apply failed with 1 conflict: conflict with ${printManager(c.entry)}: ${printPath(c.path)}`,
      causes,
    );
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const name = printManager(c.entry);
    byManager.set(name, [...(byManager.get(name) ?? []), printPath(c.path)]);
  }
  const lines: string[] = [];
  for (const name of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${name}:`);
    for (const path of byManager.get(name)!) lines.push(`- ${path}`);
  }
  return applyConflict(`Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes);
}
