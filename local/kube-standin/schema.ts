/**
 * Which fields each kind has, for `fieldValidation`: the real server decodes a body into its Go type, so a field the
 * type lacks is unknown (dropped, warned about, or refused). The stand-in reads the same field lists from the model
 * classes of `@kubernetes/client-node`, which are generated from the Kubernetes OpenAPI document (each class's
 * `attributeTypeMap`: wire name and type of every field).
 */
import * as models from '@kubernetes/client-node';
import { isRecord, type JsonRecord } from './objects.ts';

/** The `fieldValidation` query parameter; the real server's default is `Warn`. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

type Attribute = { baseName: string; type: string };
type Model = { getAttributeTypeMap(): Attribute[] };

const fieldsOf = new Map<string, Map<string, string> | undefined>();

/** The fields (wire name → type) of a model class, or undefined for a type the walk does not descend into. */
function modelFields(type: string): Map<string, string> | undefined {
  if (fieldsOf.has(type)) return fieldsOf.get(type);
  const model = (models as unknown as Record<string, Model | undefined>)[type];
  const fields =
    typeof model?.getAttributeTypeMap === 'function'
      ? new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]))
      : undefined;
  fieldsOf.set(type, fields);
  return fields;
}

/** The model class of a served kind (`V1Deployment`; `CoreV1Event` where the plain name is taken). */
function kindType(kind: string): string | undefined {
  return [`V1${kind}`, `CoreV1${kind}`].find((type) => modelFields(type) !== undefined);
}

/**
 * `obj` without the fields its kind does not have, and their paths as the real server prints them
 * (`spec.template.spec.containers[0].imagePullPolcy`). Kinds without a model are returned as they are.
 */
export function pruneUnknownFields(kind: string, obj: JsonRecord): { pruned: JsonRecord; unknown: string[] } {
  const type = kindType(kind);
  const unknown: string[] = [];
  if (!type) return { pruned: obj, unknown };
  return { pruned: prune(obj, type, '', unknown) as JsonRecord, unknown };
}

function prune(value: unknown, type: string, path: string, unknown: string[]): unknown {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    return Array.isArray(value) ? value.map((item, i) => prune(item, array[1]!, `${path}[${i}]`, unknown)) : value;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isRecord(value)) return value;
    const out: JsonRecord = {};
    for (const [key, item] of Object.entries(value)) out[key] = prune(item, map[1]!, `${path}[${key}]`, unknown);
    return out;
  }
  const fields = modelFields(type);
  if (!fields || !isRecord(value)) return value;
  const out: JsonRecord = {};
  for (const [key, item] of Object.entries(value)) {
    const fieldPath = path ? `${path}.${key}` : key;
    const fieldType = fields.get(key);
    if (fieldType === undefined) unknown.push(fieldPath);
    else out[key] = prune(item, fieldType, fieldPath, unknown);
  }
  return out;
}
