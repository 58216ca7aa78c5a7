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

const LIST_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  resourceClaims: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
};

/** The merge key of a list held in field `fieldName`, or undefined when the list is atomic. */
export function listKey(fieldName: string, items: unknown[]): string | undefined {
  if (items.length === 0) return undefined;
  let key = LIST_KEYS[fieldName];
  if (fieldName === 'ports') key = items.every((i) => isRecord(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  if (!key) return undefined;
  const seen = new Set<unknown>();
  for (const item of items) {
    if (!isRecord(item)) return undefined;
    const value = item[key];
    if ((typeof value !== 'string' && typeof value !== 'number') || seen.has(value)) return undefined;
    seen.add(value);
  }
  return key;
}

function keyElement(key: string, value: unknown): string {
  return `k:${JSON.stringify({ [key]: value })}`;
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
    const key = listKey(fieldName, value);
    if (!key) {
      out.set(path, value);
      return;
    }
    for (const item of value as JsonRecord[]) {
      const itemPath = `${path}${SEP}${keyElement(key, item[key])}`;
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
  const [key, value] = Object.entries(JSON.parse(element.slice(2)) as JsonRecord)[0]!;
  return list.findIndex((item) => isRecord(item) && item[key] === value);
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
