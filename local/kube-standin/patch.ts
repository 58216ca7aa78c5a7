import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { itemElement, listKey, sameListKey } from './fields.ts';
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
 * are dropped; `finalizers` merges as a set of values.
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
    if (key && (target.length === 0 || sameListKey(listKey(fieldName, target), key))) {
      const out = [...target];
      for (const item of patch as unknown[]) {
        const element = itemElement(key, isRecord(item) ? withoutDirectives(item) : item);
        const index = out.findIndex((existing) => itemElement(key, existing) === element);
        if (isRecord(item) && item.$patch === 'delete') {
          if (index >= 0) out.splice(index, 1);
        } else if (index >= 0) {
          if (key.type === 'map') out[index] = strategicMergePatch(out[index], item);
        } else {
          out.push(isRecord(item) ? dropNulls(withoutDirectives(item)) : item);
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
    // An empty keyed list or set adds no items; the items other managers own stay.
    if (applied.length === 0 && listKey(fieldName, live)) return [...live];
    const key = listKey(fieldName, applied);
    if (key && (live.length === 0 || sameListKey(listKey(fieldName, live), key))) {
      const out = [...live];
      for (const item of applied) {
        const element = itemElement(key, item);
        const index = out.findIndex((existing) => itemElement(key, existing) === element);
        if (index < 0) out.push(dropNulls(item));
        else if (key.type === 'map') out[index] = mergeApplied(out[index], item);
      }
      return out;
    }
  }
  return dropNulls(applied);
}

/** Why a JSON patch could not be applied; the handler answers 422. */
export class JsonPatchError extends Error {}

// fast-json-patch is CommonJS: under Node's ESM loader only its default export (module.exports) has names.
const { applyPatch, JsonPatchError: FastJsonPatchError } = fastJsonPatch;

/**
 * RFC 6902 JSON patch over a copy of `document`, by fast-json-patch. Its errors are reworded as the real server
 * (evanphx/json-patch) words them, so a client sees the same message from either.
 */
export function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new JsonPatchError('a JSON patch must be a list of operations');
  try {
    return applyPatch(clone(document), clone(operations) as Operation[], true, true).newDocument;
  } catch (error) {
    if (!(error instanceof FastJsonPatchError)) throw error;
    const operation = isRecord(error.operation) ? error.operation : {};
    const op = String(operation.op ?? '');
    const path = String(operation.path ?? '');
    switch (error.name) {
      case 'TEST_OPERATION_FAILED':
        throw new JsonPatchError(`testing value ${path} failed: test failed`);
      case 'OPERATION_OP_INVALID':
        throw new JsonPatchError(`Unexpected kind: ${op}`);
      case 'OPERATION_NOT_AN_OBJECT':
      case 'OPERATION_PATH_INVALID':
      case 'OPERATION_FROM_REQUIRED':
      case 'OPERATION_VALUE_REQUIRED':
        throw new JsonPatchError(`invalid JSON patch operation: ${JSON.stringify(error.operation)}`);
      default: {
        const pointer = error.name === 'OPERATION_FROM_UNRESOLVABLE' ? String(operation.from ?? '') : path;
        throw new JsonPatchError(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
      }
    }
  }
}
