import { deepEqual, isRecord, type JsonRecord } from './objects.ts';

/**
 * Field paths and field sets, the vocabulary of managed fields.
 *
 * A path is a list of elements joined by SEP: `f:<name>` for a field of a map or struct and `k:<json>` for an
 * item of a keyed list (`k:{"name":"main"}`), like structured-merge-diff's `fieldpath.Path`. A set holds leaf
 * paths (scalars, atomic lists, empty maps) plus the paths of keyed list items (ownership of the item itself,
 * written `.: {}` in fieldsV1).
 *
 * The real server knows from each type's OpenAPI schema which lists are associative. The stand-in keys only
 * the lists below, by field name, and only when every item carries a distinct scalar key; every other list
 * (args, command, tolerations, rules, ...) is atomic, which is also what the schemas say for most of them.
 */
export const SEP = '\u0000';

const LIST_KEYS: Record<string, readonly string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  hostAliases: ['ip'],
  resourceClaims: ['name'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  containerStatuses: ['name'],
  initContainerStatuses: ['name'],
};
/** Lists of scalars the schemas declare sets (`x-kubernetes-list-type: set`). */
const SET_LISTS = new Set(['finalizers']);
/** Key fields the schemas default when an item leaves them out; the item is keyed with the default. */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/**
 * How the items of a list are told apart: by the values of key fields (an associative list, `map` in the schemas),
 * or by their own value (a `set` of scalars).
 */
export type ListKey = { type: 'map'; fields: readonly string[] } | { type: 'set' };

/** True when a list held in field `fieldName` is keyed or a set (when its items allow). */
export function isKeyedList(fieldName: string): boolean {
  return SET_LISTS.has(fieldName) || fieldName === 'ports' || LIST_KEYS[fieldName] !== undefined;
}

/** The key of a list held in field `fieldName`, or undefined when the list is atomic. */
export function listKey(fieldName: string, items: unknown[]): ListKey | undefined {
  if (items.length === 0) return undefined;
  let key: ListKey | undefined;
  if (SET_LISTS.has(fieldName)) key = { type: 'set' };
  else if (fieldName === 'ports') {
    // Container ports are keyed by (containerPort, protocol), Service ports by (port, protocol), as in the schemas.
    const container = items.every((i) => isRecord(i) && 'containerPort' in i);
    key = { type: 'map', fields: container ? ['containerPort', 'protocol'] : ['port', 'protocol'] };
  } else if (LIST_KEYS[fieldName]) key = { type: 'map', fields: LIST_KEYS[fieldName] };
  if (!key) return undefined;
  const seen = new Set<string>();
  for (const item of items) {
    const element = itemElement(key, item);
    if (element === undefined || seen.has(element)) return undefined;
    seen.add(element);
  }
  return key;
}

/** The same list key (both undefined counts as the same). */
export function sameListKey(a: ListKey | undefined, b: ListKey | undefined): boolean {
  if (!a || !b) return a === b;
  return a.type === b.type && (a.type === 'set' || JSON.stringify(a.fields) === JSON.stringify((b as typeof a).fields));
}

/**
 * The path element that names an item: `k:{"containerPort":8081,"protocol":"TCP"}` for an associative list (key
 * fields in name order, defaults filled in), `v:"example.com/finalizer"` for a set; undefined when the item cannot
 * be keyed.
 */
export function itemElement(key: ListKey, item: unknown): string | undefined {
  if (key.type === 'set') {
    return typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean'
      ? `v:${JSON.stringify(item)}`
      : undefined;
  }
  if (!isRecord(item)) return undefined;
  const values: JsonRecord = {};
  for (const field of [...key.fields].sort()) {
    const value = item[field] ?? KEY_DEFAULTS[field];
    if (typeof value !== 'string' && typeof value !== 'number') return undefined;
    values[field] = value;
  }
  return `k:${JSON.stringify(values)}`;
}

/** Which part of an object a field set covers: a main-resource write never owns `status`, a status write only it. */
export type FieldScope = 'main' | 'status' | 'all';

/** Top-level and metadata fields no manager owns (structured-merge-diff strips them the same way). */
const UNOWNED_TOP = new Set(['apiVersion', 'kind']);
/** Metadata only the server sets; a client's values are ignored (or, for resourceVersion, checked first). */
export const SYSTEM_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
] as const;

const UNOWNED_META = new Set<string>(['name', 'namespace', ...SYSTEM_METADATA]);

/**
 * Every owned path of `obj` mapped to its value (undefined for a keyed item's own path). `scope` picks the
 * fields: `main` skips `status`, `status` keeps only `status`.
 */
export function leafValues(obj: JsonRecord, scope: FieldScope): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined || UNOWNED_TOP.has(key)) continue;
    if (scope === 'main' && key === 'status') continue;
    if (scope === 'status' && key !== 'status') continue;
    if (key === 'metadata' && isRecord(value)) {
      for (const metaKey of Object.keys(value)) {
        if (UNOWNED_META.has(metaKey) || value[metaKey] === undefined) continue;
        walk(value[metaKey], `f:metadata${SEP}f:${metaKey}`, metaKey, out);
      }
      continue;
    }
    walk(value, `f:${key}`, key, out);
  }
  return out;
}

function walk(value: unknown, path: string, fieldName: string, out: Map<string, unknown>): void {
  if (isRecord(value)) {
    const keys = Object.keys(value);
    let any = false;
    for (const key of keys) {
      if (value[key] === undefined) continue;
      any = true;
      walk(value[key], `${path}${SEP}f:${key}`, key, out);
    }
    if (!any) out.set(path, value);
    return;
  }
  if (Array.isArray(value)) {
    // An empty keyed list or set owns the list, not a value: other managers' items are no conflict.
    if (value.length === 0 && isKeyedList(fieldName)) {
      out.set(path, undefined);
      return;
    }
    const key = listKey(fieldName, value);
    if (!key) {
      out.set(path, value);
      return;
    }
    if (key.type === 'set') {
      for (const item of value) out.set(`${path}${SEP}${itemElement(key, item)}`, item);
      return;
    }
    for (const item of value as JsonRecord[]) {
      const itemPath = `${path}${SEP}${itemElement(key, item)}`;
      out.set(itemPath, undefined);
      for (const field of Object.keys(item)) {
        if (item[field] !== undefined) walk(item[field], `${itemPath}${SEP}f:${field}`, field, out);
      }
    }
    return;
  }
  out.set(path, value);
}

/** The value at a path, or undefined. */
export function valueAt(obj: unknown, path: string): unknown {
  let current: unknown = obj;
  for (const element of path.split(SEP)) {
    current = step(current, element);
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * Removes the field or list item at `path` from `obj` in place (obj must be a private copy). Maps left empty by
 * the removal are removed too, up to but not including the top-level fields.
 */
export function removeAt(obj: JsonRecord, path: string): void {
  const elements = path.split(SEP);
  const parents: unknown[] = [];
  let current: unknown = obj;
  for (let i = 0; i < elements.length - 1; i++) {
    parents.push(current);
    current = step(current, elements[i]!);
    if (current === undefined) return;
  }
  removeChild(current, elements[elements.length - 1]!);
  for (let i = elements.length - 2; i >= 1; i--) {
    if (!isRecord(current) || Object.keys(current).length > 0) return;
    removeChild(parents[i], elements[i]!);
    current = parents[i];
  }
}

/** The child of `current` that one path element names: a field, or the keyed list item. */
function step(current: unknown, element: string): unknown {
  if (element.startsWith('f:')) return isRecord(current) ? current[element.slice(2)] : undefined;
  return Array.isArray(current) ? current[itemIndex(current, element)] : undefined;
}

function removeChild(parent: unknown, element: string): void {
  if (element.startsWith('f:')) {
    if (isRecord(parent)) delete parent[element.slice(2)];
  } else if (Array.isArray(parent)) {
    const index = itemIndex(parent, element);
    if (index >= 0) parent.splice(index, 1);
  }
}

function itemIndex(list: unknown[], element: string): number {
  if (element.startsWith('v:')) return list.findIndex((item) => itemElement({ type: 'set' }, item) === element);
  const fields = Object.keys(JSON.parse(element.slice(2)) as JsonRecord);
  return list.findIndex((item) => itemElement({ type: 'map', fields }, item) === element);
}

/** True when `set` holds `path` or a path below it. */
export function ownsAtOrBelow(set: ReadonlySet<string>, path: string): boolean {
  if (set.has(path)) return true;
  const prefix = path + SEP;
  for (const member of set) if (member.startsWith(prefix)) return true;
  return false;
}

/** `.spec.template.spec.containers[name="main"].image`, as conflict messages print a path. */
export function printPath(path: string): string {
  let out = '';
  for (const element of path.split(SEP)) {
    if (element.startsWith('f:')) {
      out += `.${element.slice(2)}`;
    } else if (element.startsWith('v:')) {
      out += `[=${element.slice(2)}]`;
    } else {
      const entries = Object.entries(JSON.parse(element.slice(2)) as JsonRecord);
      out += `[${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    }
  }
  return out;
}

type Node = { member: boolean; children: Map<string, Node> };

/** Encodes a field set as `fieldsV1`. */
export function encodeFieldsV1(set: Iterable<string>): JsonRecord {
  const root: Node = { member: false, children: new Map() };
  for (const path of set) {
    let node = root;
    for (const element of path.split(SEP)) {
      let child = node.children.get(element);
      if (!child) {
        child = { member: false, children: new Map() };
        node.children.set(element, child);
      }
      node = child;
    }
    node.member = true;
  }
  return encodeNode(root);
}

function encodeNode(node: Node): JsonRecord {
  const out: JsonRecord = {};
  if (node.member && node.children.size > 0) out['.'] = {};
  for (const key of [...node.children.keys()].sort()) out[key] = encodeNode(node.children.get(key)!);
  return out;
}

/** Decodes `fieldsV1` into a field set. */
export function decodeFieldsV1(fields: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (node: unknown, path: string): void => {
    if (!isRecord(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && path) out.add(path);
    for (const key of keys) {
      if (key === '.') {
        if (path) out.add(path);
        continue;
      }
      visit(node[key], path ? `${path}${SEP}${key}` : key);
    }
  };
  visit(fields, '');
  return out;
}

/** The paths whose value differs between `before` and `after` (added or changed), and the paths removed. */
export function diffFields(
  before: Map<string, unknown> | undefined,
  after: Map<string, unknown>,
): { changed: Set<string>; removed: Set<string> } {
  const changed = new Set<string>();
  const removed = new Set<string>();
  for (const [path, value] of after) {
    if (!before?.has(path) || !deepEqual(before.get(path), value)) changed.add(path);
  }
  if (before) for (const path of before.keys()) if (!after.has(path)) removed.add(path);
  return { changed, removed };
}
