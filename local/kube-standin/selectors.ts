import type { KubeObject } from './objects.ts';
import type { ResourceDef } from './resources.ts';
import { badRequest } from './status.ts';

type LabelRequirement =
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: Set<string> }
  | { key: string; op: 'gt' | 'lt'; value: number };

/** A parsed label selector; the empty selector matches everything. */
export type LabelSelector = (labels: Record<string, string> | undefined) => boolean;

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Parses a `labelSelector` query (`a=b,c!=d,e in (x,y),f notin (z),g,!h`, also `==`, `>` and `<`), answering
 * 400 BadRequest for a malformed one as the API server does.
 */
export function parseLabelSelector(text: string | null): LabelSelector {
  const source = (text ?? '').trim();
  if (source === '') return () => true;
  const requirements = splitTerms(source).map(parseRequirement);
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

function splitTerms(source: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(source.slice(start, i).trim());
      start = i + 1;
    }
  }
  terms.push(source.slice(start).trim());
  return terms;
}

function parseRequirement(term: string): LabelRequirement {
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why}`);
  const checkKey = (key: string): string => {
    if (!KEY.test(key) || key.length > 317) throw fail(`invalid label key "${key}"`);
    return key;
  };
  const checkValue = (value: string): string => {
    if (!VALUE.test(value) || value.length > 63) throw fail(`invalid label value: "${value}"`);
    return value;
  };
  if (term === '') throw fail("found '', expected: !, identifier, or 'end of string'");
  if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim()), op: '!exists' };
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = set[3]!
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (values.length === 0) throw fail(`for '${set[2]}', 'notin' operators, values set can't be empty`);
    return { key: checkKey(set[1]!), op: set[2] as 'in' | 'notin', values: new Set(values.map(checkValue)) };
  }
  const binary = /^([^!=<>\s]+)\s*(==|!=|=|>|<)\s*(.*)$/.exec(term);
  if (binary) {
    const key = checkKey(binary[1]!);
    const value = binary[3]!.trim();
    if (binary[2] === '>' || binary[2] === '<') {
      const number = Number(value);
      if (!Number.isInteger(number)) throw fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key, op: binary[2] === '>' ? 'gt' : 'lt', value: number };
    }
    return { key, op: binary[2] === '!=' ? '!=' : '=', value: checkValue(value) };
  }
  if (/\s/.test(term)) throw fail(`found '${term.split(/\s+/)[1]}', expected: ',' or 'end of string'`);
  return { key: checkKey(term), op: 'exists' };
}

function matches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
      return has && value === r.value;
    case '!=':
      return !has || value !== r.value;
    case 'in':
      return has && r.values.has(value!);
    case 'notin':
      return !has || !r.values.has(value!);
    case 'gt':
      return has && Number(value) > r.value;
    case 'lt':
      return has && Number(value) < r.value;
  }
}

/** A parsed field selector. */
export type FieldSelector = {
  matches: (obj: KubeObject) => boolean;
  /** The `metadata.name` an `=` term pins, which lets a list look the object up instead of scanning. */
  name?: string;
};

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
const EXTRA_FIELDS: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  secrets: ['type'],
  namespaces: ['status.phase'],
  statefulsets: ['status.successful'],
};

/** Parses a `fieldSelector` query over the fields the real server supports for the resource (400 otherwise). */
export function parseFieldSelector(text: string | null, def: ResourceDef): FieldSelector {
  const source = (text ?? '').trim();
  if (source === '') return { matches: () => true };
  const supported = [...COMMON_FIELDS, ...(EXTRA_FIELDS[def.resource] ?? [])];
  const terms = source.split(',').map((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${source}'; can't understand '${term}'`);
    const field = m[1]!;
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: m[2] === '!=', value: m[3]! };
  });
  const pinned = terms.find((t) => t.field === 'metadata.name' && !t.negate);
  return {
    name: pinned?.value,
    matches: (obj) =>
      terms.every((t) => {
        const actual = fieldValue(obj, t.field);
        return t.negate ? actual !== t.value : actual === t.value;
      }),
  };
}

function fieldValue(obj: KubeObject, path: string): string {
  let current: unknown = obj;
  for (const part of path.split('.')) {
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[part] : undefined;
  }
  if (current === undefined || current === null) return '';
  if (typeof current === 'object') {
    // `source` on events is a struct; the real server matches its component.
    return String((current as Record<string, unknown>).component ?? '');
  }
  return String(current);
}
