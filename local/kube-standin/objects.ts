/** A JSON object as the API server stores it: `apiVersion`, `kind`, `metadata` and any other fields. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
};

export type OwnerReference = {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
};

export type ObjectMeta = {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [field: string]: unknown;
};

export type ManagedFieldsEntry = {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
};

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values; object key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as JsonRecord;
  const rb = b as JsonRecord;
  let count = 0;
  for (const key in ra) {
    if (ra[key] === undefined) continue;
    count++;
    if (!deepEqual(ra[key], rb[key])) return false;
  }
  for (const key in rb) if (rb[key] !== undefined) count--;
  return count === 0;
}

/** A deep copy of a JSON value. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Drops `null` and `undefined` members and list entries' null fields, as decoding into Go structs with
 * `omitempty` does (`creationTimestamp: null` in a pod template, `foo: ~` in YAML).
 */
export function dropNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropNulls) as T;
  if (!isRecord(value)) return value;
  const out: JsonRecord = {};
  for (const key of Object.keys(value)) {
    const member = value[key];
    if (member === null || member === undefined) continue;
    out[key] = dropNulls(member);
  }
  return out as T;
}

/** JSON with sorted object keys, for hashing. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** An RFC 3339 timestamp in seconds, as `metav1.Time` serialises. */
export function timestamp(ms = Date.now()): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** FNV-1a, 32 bit. */
export function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The alphabet of `k8s.io/apimachinery/pkg/util/rand`: no vowels, no confusable characters. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `rand.SafeEncodeString`: how `pod-template-hash` turns a decimal hash into label-safe text. */
export function safeEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += SAFE_ALPHABET[text.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** `rand.String(n)` over the same alphabet, from a supplied random source. */
export function randomSuffix(random: () => number, length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE_ALPHABET[Math.floor(random() * SAFE_ALPHABET.length)];
  return out;
}

/** A seeded PRNG (mulberry32), shared with the tests' fuzzers. */
export { mulberry32 as seededRandom } from '../seeded-random.ts';

const META_ORDER = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

/** Field order as the real server prints: apiVersion, kind, metadata (in its usual order), the rest, status. */
export function canonical(obj: KubeObject): KubeObject {
  const metadata: ObjectMeta = {};
  for (const key of META_ORDER) if (obj.metadata[key] !== undefined) metadata[key] = obj.metadata[key];
  for (const key of Object.keys(obj.metadata)) if (!(key in metadata)) metadata[key] = obj.metadata[key];
  const out: KubeObject = { apiVersion: obj.apiVersion, kind: obj.kind, metadata };
  for (const key of Object.keys(obj)) {
    if (key !== 'apiVersion' && key !== 'kind' && key !== 'metadata' && key !== 'status') out[key] = obj[key];
  }
  if (obj.status !== undefined) out.status = obj.status;
  return out;
}
