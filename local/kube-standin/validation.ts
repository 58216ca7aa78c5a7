import { BlockList, isIP } from 'node:net';
import { deepEqual, isRecord, type JsonRecord, type KubeObject } from './objects.ts';
import { parseQuantity } from './quantity.ts';
import type { NameRule, ResourceDef } from './resources.ts';
import type { FieldError } from './status.ts';

/**
 * The subset of the API server's validation that catches mistakes a manifest renderer can make: names, labels,
 * annotations size, workload selectors and containers, container and service ports, config keys, immutable
 * fields on update (a bound PersistentVolumeClaim's spec but for a growing storage request), resource quantities (not
 * negative, requests within limits), NetworkPolicy CIDRs. Messages follow apimachinery's wording. Probes, affinity,
 * RBAC rules and the rest of the schemas are not checked.
 */
export function validateObject(def: ResourceDef, obj: KubeObject, old?: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  validateMeta(def, obj, errors);
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  const oldSpec = old && isRecord(old.spec) ? old.spec : undefined;
  switch (def.resource) {
    case 'deployments':
    case 'statefulsets':
      validateWorkload(spec, errors);
      if (def.resource === 'deployments' && oldSpec && spec && !deepEqual(oldSpec.selector, spec.selector)) {
        errors.push(invalid('spec.selector', spec.selector, 'field is immutable'));
      }
      if (def.resource === 'statefulsets' && oldSpec && spec && !statefulSetUpdateAllowed(oldSpec, spec)) {
        errors.push({
          type: 'FieldValueForbidden',
          field: 'spec',
          detail:
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        });
      }
      break;
    case 'pods':
      if (spec) validatePodSpec(spec, 'spec', errors);
      break;
    case 'persistentvolumeclaims':
      validateClaim(spec, oldSpec, errors);
      break;
    case 'networkpolicies':
      validateNetworkPolicy(spec, errors);
      break;
    case 'services':
      validateService(spec, oldSpec, errors);
      break;
    case 'configmaps':
    case 'secrets':
      validateConfigKeys(obj, errors);
      break;
    case 'poddisruptionbudgets':
      if (spec && spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
        errors.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
      }
      break;
  }
  return errors;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, value, detail };
}

function required(field: string, detail?: string): FieldError {
  return detail === undefined ? { type: 'FieldValueRequired', field } : { type: 'FieldValueRequired', field, detail };
}

/** The problems with `name` under a naming rule, as detail strings. */
function nameProblems(name: string, rule: NameRule): string[] {
  switch (rule) {
    case 'subdomain':
      return [
        ...(name.length > 253 ? ['must be no more than 253 characters'] : []),
        ...(SUBDOMAIN.test(name) ? [] : [SUBDOMAIN_MSG]),
      ];
    case 'label':
      return [
        ...(name.length > 63 ? ['must be no more than 63 characters'] : []),
        ...(LABEL.test(name) ? [] : [LABEL_MSG]),
      ];
    case 'dns1035':
      return [
        ...(name.length > 63 ? ['must be no more than 63 characters'] : []),
        ...(DNS1035.test(name) ? [] : [DNS1035_MSG]),
      ];
    case 'path-segment':
      if (name === '.' || name === '..') return [`may not be '${name}'`];
      return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
  }
}

function validateMeta(def: ResourceDef, obj: KubeObject, errors: FieldError[]): void {
  const name = obj.metadata.name;
  if (!name) errors.push(required('metadata.name', 'name or generateName is required'));
  else for (const problem of nameProblems(name, def.nameRule)) errors.push(invalid('metadata.name', name, problem));
  validateLabels(obj.metadata.labels, 'metadata.labels', errors);
  const annotations = obj.metadata.annotations;
  if (annotations) {
    let size = 0;
    for (const [key, value] of Object.entries(annotations)) {
      size += key.length + String(value).length;
      for (const problem of qualifiedNameProblems(key)) errors.push(invalid('metadata.annotations', key, problem));
    }
    if (size > 262144) {
      errors.push({
        type: 'FieldValueTooLong',
        field: 'metadata.annotations',
        detail: 'must have at most 262144 bytes',
      });
    }
  }
}

function qualifiedNameProblems(key: string): string[] {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const problems: string[] = [];
  if (prefix !== undefined) {
    if (prefix.length === 0) problems.push('prefix part must be non-empty');
    else for (const p of nameProblems(prefix, 'subdomain')) problems.push(`prefix part ${p}`);
  }
  if (name.length === 0) problems.push('name part must be non-empty');
  else if (name.length > 63) problems.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) problems.push(QUALIFIED_NAME_MSG);
  return problems;
}

function validateLabels(labels: unknown, field: string, errors: FieldError[]): void {
  if (!isRecord(labels)) return;
  for (const [key, value] of Object.entries(labels)) {
    for (const problem of qualifiedNameProblems(key)) errors.push(invalid(field, key, problem));
    const text = String(value);
    if (text.length > 63) errors.push(invalid(field, text, 'must be no more than 63 characters'));
    if (!LABEL_VALUE.test(text)) errors.push(invalid(field, text, LABEL_VALUE_MSG));
  }
}

function validateWorkload(spec: JsonRecord | undefined, errors: FieldError[]): void {
  if (!spec) {
    errors.push(required('spec.selector'));
    return;
  }
  if (typeof spec.replicas === 'number' && spec.replicas < 0) {
    errors.push(invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  const template = isRecord(spec.template) ? spec.template : {};
  const templateMeta = isRecord(template.metadata) ? template.metadata : {};
  const templateLabels = isRecord(templateMeta.labels) ? (templateMeta.labels as Record<string, string>) : {};
  validateLabels(templateLabels, 'spec.template.metadata.labels', errors);
  const selector = spec.selector;
  if (!isRecord(selector)) {
    errors.push(required('spec.selector'));
  } else if (!selectorMatches(selector, templateLabels)) {
    errors.push(
      invalid('spec.template.metadata.labels', templateLabels, '`selector` does not match template `labels`'),
    );
  }
  if (!isRecord(template.spec)) errors.push(required('spec.template.spec.containers'));
  else validatePodSpec(template.spec, 'spec.template.spec', errors);
}

function selectorMatches(selector: JsonRecord, labels: Record<string, string>): boolean {
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isRecord) : [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  for (const e of expressions) {
    const key = String(e.key);
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    const has = Object.hasOwn(labels, key);
    const ok =
      e.operator === 'In'
        ? has && values.includes(labels[key]!)
        : e.operator === 'NotIn'
          ? !has || !values.includes(labels[key]!)
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

function validatePodSpec(spec: JsonRecord, path: string, errors: FieldError[]): void {
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0) errors.push(required(`${path}.containers`));
  const names = new Set<string>();
  const lists: [string, unknown[]][] = [
    ['initContainers', Array.isArray(spec.initContainers) ? spec.initContainers : []],
    ['containers', containers],
  ];
  for (const [listName, list] of lists) {
    list.forEach((raw, i) => {
      const c = isRecord(raw) ? raw : {};
      const at = `${path}.${listName}[${i}]`;
      const name = typeof c.name === 'string' ? c.name : '';
      if (!name) errors.push(required(`${at}.name`));
      else {
        for (const p of nameProblems(name, 'label')) errors.push(invalid(`${at}.name`, name, p));
        if (names.has(name)) errors.push({ type: 'FieldValueDuplicate', field: `${at}.name`, value: name });
        names.add(name);
      }
      if (!c.image) errors.push(required(`${at}.image`));
      validateResources(c.resources, `${at}.resources`, errors);
      const ports = Array.isArray(c.ports) ? c.ports : [];
      ports.forEach((rawPort, j) => {
        const port = isRecord(rawPort) ? rawPort : {};
        const portPath = `${at}.ports[${j}]`;
        if (port.containerPort === undefined) errors.push(required(`${portPath}.containerPort`));
        else checkPortNumber(port.containerPort, `${portPath}.containerPort`, errors);
        if (typeof port.name === 'string') {
          for (const p of portNameProblems(port.name)) errors.push(invalid(`${portPath}.name`, port.name, p));
        }
      });
    });
  }
}

function checkPortNumber(value: unknown, field: string, errors: FieldError[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    errors.push(invalid(field, value, 'must be between 1 and 65535, inclusive'));
  }
}

/** `IsValidPortName`: an IANA_SVC_NAME. */
function portNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length > 15) problems.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name))
    problems.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (name.includes('--')) problems.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(name)) problems.push('must contain at least one letter (a-z)');
  if (name.startsWith('-') || name.endsWith('-')) problems.push('must not begin or end with a hyphen');
  return problems;
}

function validateService(spec: JsonRecord | undefined, oldSpec: JsonRecord | undefined, errors: FieldError[]): void {
  const s = spec ?? {};
  const ports = Array.isArray(s.ports) ? s.ports.filter(isRecord) : [];
  const headless = s.clusterIP === 'None';
  if (ports.length === 0 && !headless && s.type !== 'ExternalName') errors.push(required('spec.ports'));
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !port.name) errors.push(required(`${at}.name`));
    if (typeof port.name === 'string' && port.name) {
      if (names.has(port.name)) errors.push({ type: 'FieldValueDuplicate', field: `${at}.name`, value: port.name });
      names.add(port.name);
      for (const p of nameProblems(port.name, 'label')) errors.push(invalid(`${at}.name`, port.name, p));
    }
    checkPortNumber(port.port, `${at}.port`, errors);
  });
  if (oldSpec?.clusterIP !== undefined && s.clusterIP !== undefined && s.clusterIP !== oldSpec.clusterIP) {
    errors.push(invalid('spec.clusterIP', s.clusterIP, 'field is immutable'));
  }
}

function statefulSetUpdateAllowed(oldSpec: JsonRecord, spec: JsonRecord): boolean {
  const mutable = [
    'replicas',
    'ordinals',
    'template',
    'updateStrategy',
    'persistentVolumeClaimRetentionPolicy',
    'minReadySeconds',
  ];
  const strip = (s: JsonRecord) => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
  return deepEqual(strip(oldSpec), strip(spec));
}

function validateConfigKeys(obj: KubeObject, errors: FieldError[]): void {
  let size = 0;
  for (const field of ['data', 'binaryData']) {
    const data = obj[field];
    if (!isRecord(data)) continue;
    for (const [key, value] of Object.entries(data)) {
      size += key.length + String(value).length;
      if (!CONFIG_KEY.test(key)) errors.push(invalid(`${field}[${key}]`, key, CONFIG_KEY_MSG));
    }
  }
  if (size > 1048576)
    errors.push({ type: 'FieldValueTooLong', field: '[]', detail: 'must have at most 1048576 bytes' });
}

/** Requests and limits: none negative, and no request above its limit. */
function validateResources(resources: unknown, path: string, errors: FieldError[]): void {
  if (!isRecord(resources)) return;
  const limits = isRecord(resources.limits) ? resources.limits : {};
  for (const kind of ['limits', 'requests']) {
    const values = isRecord(resources[kind]) ? resources[kind] : {};
    for (const [name, raw] of Object.entries(values)) {
      const value = parseQuantity(raw);
      if (value < 0)
        errors.push(invalid(`${path}.${kind}[${name}]`, String(raw), 'must be greater than or equal to 0'));
      const limit = parseQuantity(limits[name]);
      if (kind === 'requests' && limits[name] !== undefined && value > limit) {
        errors.push(
          invalid(`${path}.requests`, String(raw), `must be less than or equal to ${name} limit of ${limits[name]}`),
        );
      }
    }
  }
}

const CLAIM_IMMUTABLE =
  'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';

/**
 * A claim needs a storage request; once bound (the stand-in binds every claim at once) its spec is immutable but for
 * `resources.requests` (and `volumeAttributesClassName`), and the storage request may not shrink. Whether it may grow
 * is the PersistentVolumeClaimResize admission's question (api.ts), not validation's.
 */
function validateClaim(spec: JsonRecord | undefined, oldSpec: JsonRecord | undefined, errors: FieldError[]): void {
  const s = spec ?? {};
  const requests = isRecord(s.resources) && isRecord(s.resources.requests) ? s.resources.requests : {};
  if (requests.storage === undefined) errors.push(required('spec.resources[storage]'));
  else if (!(parseQuantity(requests.storage) > 0)) {
    errors.push(invalid('spec.resources[storage]', String(requests.storage), 'must be greater than zero'));
  }
  validateResources(s.resources, 'spec.resources', errors);
  if (!oldSpec) return;
  const mutable = (x: JsonRecord) => {
    const { volumeAttributesClassName: _v, ...rest } = x;
    const resources = isRecord(rest.resources) ? { ...rest.resources, requests: undefined } : rest.resources;
    return { ...rest, resources };
  };
  if (!deepEqual(dropUndefined(mutable(oldSpec)), dropUndefined(mutable(s)))) {
    errors.push({ type: 'FieldValueForbidden', field: 'spec', detail: CLAIM_IMMUTABLE });
  }
  const oldRequests =
    isRecord(oldSpec.resources) && isRecord(oldSpec.resources.requests) ? oldSpec.resources.requests : {};
  if (parseQuantity(requests.storage) < parseQuantity(oldRequests.storage)) {
    errors.push({
      type: 'FieldValueForbidden',
      field: 'spec.resources.requests.storage',
      detail: 'field can not be less than previous value',
    });
  }
}

function dropUndefined(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

const CIDR_MSG = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

/** Every `ipBlock` of the ingress and egress rules: a valid CIDR, and `except` strictly inside it. */
function validateNetworkPolicy(spec: JsonRecord | undefined, errors: FieldError[]): void {
  for (const [direction, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    const rules = Array.isArray(spec?.[direction]) ? (spec[direction] as unknown[]) : [];
    rules.forEach((rule, i) => {
      const list = isRecord(rule) && Array.isArray(rule[peers]) ? (rule[peers] as unknown[]) : [];
      list.forEach((peer, j) => {
        if (!isRecord(peer) || !isRecord(peer.ipBlock)) return;
        validateIpBlock(peer.ipBlock, `spec.${direction}[${i}].${peers}[${j}].ipBlock`, errors);
      });
    });
  }
}

function validateIpBlock(block: JsonRecord, path: string, errors: FieldError[]): void {
  const cidr = typeof block.cidr === 'string' ? block.cidr : '';
  if (!cidr) {
    errors.push(required(`${path}.cidr`));
    return;
  }
  const outer = parseCidr(cidr);
  if (!outer) errors.push(invalid(`${path}.cidr`, cidr, CIDR_MSG));
  const excepts = Array.isArray(block.except) ? block.except : [];
  excepts.forEach((raw, i) => {
    const text = String(raw);
    const inner = parseCidr(text);
    if (!inner) errors.push(invalid(`${path}.except[${i}]`, text, CIDR_MSG));
    else if (outer && !strictlyInside(inner, outer)) {
      errors.push(invalid(`${path}.except[${i}]`, text, 'must be a strict subset of `cidr`'));
    }
  });
}

type Cidr = { address: string; prefix: number; family: 'ipv4' | 'ipv6' };

/** A CIDR as Go's net.ParseCIDR reads it: an IPv4 or IPv6 address, a slash, a prefix length in range. */
function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function strictlyInside(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.prefix <= outer.prefix) return false;
  const block = new BlockList();
  block.addSubnet(outer.address, outer.prefix, outer.family);
  return block.check(inner.address, inner.family);
}

const QUANTITY_REGEX = "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/**
 * Why an object cannot be decoded, or undefined: a resource quantity (under `resources.limits`/`requests`, an
 * `emptyDir.sizeLimit`) that does not parse. The real server fails such a body while decoding it into its Go type,
 * before validation, with a 400; the stand-in decodes untyped JSON, so it looks for them here.
 */
export function decodingProblem(obj: unknown): string | undefined {
  let problem: string | undefined;
  const visit = (value: unknown, key: string, parentKey: string): void => {
    if (problem) return;
    if (isRecord(value)) {
      const quantities =
        (parentKey === 'resources' && (key === 'limits' || key === 'requests')) ||
        (parentKey === 'status' && key === 'capacity');
      for (const [k, v] of Object.entries(value)) {
        if ((quantities || (key === 'emptyDir' && k === 'sizeLimit')) && Number.isNaN(parseQuantity(v))) {
          problem = `quantities must match the regular expression ${QUANTITY_REGEX}`;
          return;
        }
        visit(v, k, key);
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, '', key);
    }
  };
  visit(obj, '', '');
  return problem;
}
