import { listKey } from './fields.ts';
import { clone, dropNulls, isRecord, type JsonRecord } from './objects.ts';

/** RFC 7386 JSON merge patch: maps merge, `null` deletes, everything else (lists too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: JsonRecord = isRecord(target) ? { ...target } : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * A strategic merge patch, approximated: a merge patch in which the keyed lists of fields.ts (containers, env,
 * volumes, ports, ...) merge item by item on their key and honour `$patch: delete` on an item and
 * `$patch: replace` on a map. Other directives (`$setElementOrder`, `$retainKeys`, `$deleteFromPrimitiveList`)
 * are dropped, and lists the real server would merge as sets of primitives (finalizers) are replaced.
 */
export function strategicMergePatch(target: unknown, patch: unknown, fieldName = ''): unknown {
  if (isRecord(patch)) {
    if (patch.$patch === 'replace') return dropNulls(withoutDirectives(patch));
    const out: JsonRecord = isRecord(target) ? { ...target } : {};
    for (const key of Object.keys(patch)) {
      if (key.startsWith('$')) continue;
      const value = patch[key];
      if (value === null) {
        delete out[key];
        continue;
      }
      const merged = strategicMergePatch(out[key], value, key);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  if (Array.isArray(patch) && Array.isArray(target)) {
    const plain = patch.filter((item) => !(isRecord(item) && item.$patch === 'delete'));
    const key = listKey(
      fieldName,
      patch.map((item) => (isRecord(item) ? withoutDirectives(item) : item)),
    );
    if (key && (target.length === 0 || listKey(fieldName, target) === key)) {
      const out = [...target];
      for (const item of patch as JsonRecord[]) {
        const index = out.findIndex((existing) => isRecord(existing) && existing[key] === item[key]);
        if (item.$patch === 'delete') {
          if (index >= 0) out.splice(index, 1);
        } else if (index >= 0) {
          out[index] = strategicMergePatch(out[index], item);
        } else {
          out.push(dropNulls(withoutDirectives(item)));
        }
      }
      return out;
    }
    return dropNulls(plain);
  }
  return dropNulls(clone(patch));
}

function withoutDirectives(item: JsonRecord): JsonRecord {
  const out: JsonRecord = {};
  for (const key of Object.keys(item)) if (!key.startsWith('$')) out[key] = item[key];
  return out;
}

/**
 * Merges a server-side apply configuration into the live object: maps merge, keyed lists merge item by item,
 * atomic lists and scalars replace. Fields the configuration leaves out stay; removing fields a manager no
 * longer applies happens before this, in apply.ts.
 */
export function mergeApplied(live: unknown, applied: unknown, fieldName = ''): unknown {
  if (isRecord(applied)) {
    const out: JsonRecord = isRecord(live) ? { ...live } : {};
    for (const key of Object.keys(applied)) {
      const value = applied[key];
      if (value === null || value === undefined) continue;
      out[key] = mergeApplied(out[key], value, key);
    }
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const key = listKey(fieldName, applied);
    if (key && (live.length === 0 || listKey(fieldName, live) === key)) {
      const out = [...live];
      for (const item of applied as JsonRecord[]) {
        const index = out.findIndex((existing) => isRecord(existing) && existing[key] === item[key]);
        if (index >= 0) out[index] = mergeApplied(out[index], item);
        else out.push(dropNulls(item));
      }
      return out;
    }
  }
  return dropNulls(applied);
}

/** Why a JSON patch could not be applied; the handler answers 422. */
export class JsonPatchError extends Error {}

type Operation = { op: string; path: string; value?: unknown; from?: string };

/** RFC 6902 JSON patch over a copy of `document`. */
export function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new JsonPatchError('a JSON patch must be a list of operations');
  let doc = clone(document);
  for (const raw of operations) {
    if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new JsonPatchError(`invalid JSON patch operation: ${JSON.stringify(raw)}`);
    }
    const op = raw as Operation;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, clone(op.value), op.op);
        break;
      case 'remove':
        doc = removePointer(doc, op.path, op.op).doc;
        break;
      case 'replace':
        doc = removePointer(doc, op.path, op.op).doc;
        doc = addAt(doc, op.path, clone(op.value), op.op);
        break;
      case 'move': {
        const taken = removePointer(doc, String(op.from), op.op);
        doc = addAt(taken.doc, op.path, taken.value, op.op);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, clone(getPointer(doc, String(op.from), op.op)), op.op);
        break;
      case 'test': {
        const actual = getPointer(doc, op.path, op.op);
        if (JSON.stringify(actual) !== JSON.stringify(op.value)) {
          throw new JsonPatchError(`testing value ${op.path} failed: test failed`);
        }
        break;
      }
      default:
        throw new JsonPatchError(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function missing(op: string, pointer: string): JsonPatchError {
  return new JsonPatchError(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
}

function getPointer(doc: unknown, pointer: string, op: string): unknown {
  let current = doc;
  for (const token of tokens(pointer)) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isRecord(current)) current = current[token];
    else current = undefined;
    if (current === undefined) throw missing(op, pointer);
  }
  return current;
}

function parentOf(doc: unknown, pointer: string, op: string): { parent: unknown; last: string } {
  const all = tokens(pointer);
  if (all.length === 0) return { parent: undefined, last: '' };
  const last = all.pop()!;
  const parentPointer = all.length ? `/${all.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}` : '';
  return { parent: getPointer(doc, parentPointer, op), last };
}

function addAt(doc: unknown, pointer: string, value: unknown, op: string): unknown {
  if (pointer === '') return value;
  const { parent, last } = parentOf(doc, pointer, op);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw missing(op, pointer);
    parent.splice(index, 0, value);
  } else if (isRecord(parent)) {
    parent[last] = value;
  } else {
    throw missing(op, pointer);
  }
  return doc;
}

function removePointer(doc: unknown, pointer: string, op: string): { doc: unknown; value: unknown } {
  const value = getPointer(doc, pointer, op);
  if (pointer === '') return { doc: undefined, value };
  const { parent, last } = parentOf(doc, pointer, op);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isRecord(parent)) delete parent[last];
  return { doc, value };
}
