import type { SeededRandom } from './seeded-random.ts';

/** Who a fuzzed request claims to be. */
export type TokenKind =
  | 'operator'
  | 'tenant'
  | 'other-tenant'
  | 'none'
  | 'forged'
  | 'forged-long'
  | 'malformed'
  | 'operator-variant';

export interface FuzzRequest {
  readonly method: string;
  /** Sent byte for byte (percent-encoded where needed), so the server sees `..`, `//` and bad escapes as given. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly token: TokenKind;
  /** Why this request was made, for failure messages. */
  readonly shape: string;
}

export interface FuzzContext {
  readonly adminToken: string;
  /** The tenant whose token the request carries as `tenant`; `other` is another registered tenant. */
  readonly tenant: string;
  readonly tenantToken: string;
  readonly other: string;
  readonly otherToken: string;
  /** Names the fuzzer may register; once registered they also appear as path tenants. */
  readonly registered: readonly string[];
}

const METHODS = [
  'GET',
  'GET',
  'GET',
  'PUT',
  'PUT',
  'PUT',
  'POST',
  'POST',
  'DELETE',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=latin1',
  'application/json ; q=1',
  'application/jsonp',
  'application/json-patch+json',
  'application/merge-patch+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '',
  '*/*',
];

/** The valid fixture every spec mutation starts from. */
export const VALID_SPEC = {
  flinkVersion: '1.20',
  zone: 'zone-a',
  jobManager: { cpu: 0.5, memoryMB: 2048 },
  taskManager: { cpu: 0.5, memoryMB: 3072, instances: 2 },
  flinkConfiguration: { 'execution.checkpointing.interval': '30 s', 'parallelism.default': 2 },
  restore: 'latest-state',
} as const;

const SPEC_PATHS = [
  ['flinkVersion'],
  ['zone'],
  ['jobManager'],
  ['jobManager', 'cpu'],
  ['jobManager', 'memoryMB'],
  ['taskManager'],
  ['taskManager', 'cpu'],
  ['taskManager', 'memoryMB'],
  ['taskManager', 'instances'],
  ['flinkConfiguration'],
  ['flinkConfiguration', 'execution.checkpointing.interval'],
  ['flinkConfiguration', 'parallelism.default'],
  ['restore'],
] as const;

const FLINK_KEYS = [
  'rest.port',
  'high-availability.zookeeper.quorum',
  'high-availability.storageDir',
  'state.backend',
  'state.backend.type',
  'zookeeper.sasl.disable',
  'kubernetes.namespace',
  'metrics.reporter.prom.port',
  'taskmanager.numberOfTaskSlots',
  'pipeline.name',
  'a..b',
  '.a',
  'a.',
  '__proto__',
  'constructor',
  'toString',
  'key with spaces',
  'ключ',
  '😀',
  'x'.repeat(300),
];

/** Values that break types, ranges, number parsing, encodings and sizes. */
function oddValue(random: SeededRandom): unknown {
  switch (random.int(0, 27)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return 0;
    case 3:
      return -1;
    case 4:
      return 1e308;
    case 5:
      return -1e308;
    case 6:
      return 2 ** 53 + 1;
    case 7:
      return 5e-324;
    case 8:
      return random.pick(['NaN', 'Infinity', '-Infinity', '1e999', '0x10', '1_000', '١٢٣', '３']);
    case 9:
      return '';
    case 10:
      return ' \t ';
    case 11:
      return 'x'.repeat(random.int(4_000, 20_000));
    case 12:
      return random.pick(['\u202eevil', '\ud83d\ude00', '\ud800', '\u0000', 'a\nb', 'a\r\nb: c', '\u2028', '\u0085']);
    case 13:
      return [];
    case 14:
      return [1, 'two', null, { three: 3 }];
    case 15:
      return {};
    case 16:
      return nest(random.int(2, 60), random.chance(0.5));
    case 17:
      // Deeper nests are sent as text (rawBody): JSON.stringify itself overflows the stack on them.
      return nest(random.int(100, 400), random.chance(0.5));
    case 18:
      return random.int(-10_000, 10_000) / random.pick([1, 10, 1000, 3]);
    case 19:
      return random.pick(['1.18', '1.19', '1.20', '2.1', '1.2', '1.20.0', ' 1.20', 'latest', 'clean']);
    case 20:
      return random.pick(['zone-a', 'zone-b', 'ZONE-A', 'zone-a ', 'eu-west-1a']);
    case 21:
      return random.pick(['acme', 'beta', 'ghost', 'Acme', 'a'.repeat(24), 'a'.repeat(25), 'kube-x', 'xn--x']);
    case 22:
      return JSON.parse('{"__proto__": {"polluted": true}}');
    case 23:
      return random.pick([1024, 3072, 1023, 1025, 0.3, 0.29, 0.3001, 1, 100, 101, 1_000_000]);
    case 24:
      return Array.from({ length: random.int(100, 2_000) }, (_, index) => index);
    case 25:
      return Object.fromEntries(Array.from({ length: random.int(100, 600) }, (_, i) => [`key.${i}`, `${i}`]));
    case 26:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j lookup string, sent as data, not a template.
      return random.pick(['${jndi:ldap://x}', '{{7*7}}', "'; DROP TABLE", '../../etc/passwd', '<script>']);
    default:
      return String(random.next());
  }
}

function nest(depth: number, asArray: boolean): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = asArray ? [value] : { a: value };
  return value;
}

/** The valid fixture with one to three mutations: a changed, removed, added or retyped field. */
function mutatedSpec(random: SeededRandom): { value: unknown; shape: string } {
  const spec = structuredClone(VALID_SPEC) as Record<string, unknown>;
  const changes: string[] = [];
  for (let count = random.int(0, 3); count > 0; count -= 1) {
    const path = random.pick(SPEC_PATHS);
    const parent = path.length === 1 ? spec : (spec[path[0]] as Record<string, unknown> | undefined);
    const key = path.at(-1)!;
    if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) continue;
    switch (random.int(0, 5)) {
      case 0:
        delete parent[key];
        changes.push(`-${path.join('.')}`);
        break;
      case 1: {
        const added = random.chance(0.5)
          ? random.pick(FLINK_KEYS)
          : `unknown${random.pick(['', '-field', 'Ω', '\u0007'])}`;
        const target = random.chance(0.5) ? spec : ((spec.flinkConfiguration as Record<string, unknown>) ?? spec);
        if (target && typeof target === 'object') target[added] = oddValue(random);
        changes.push(`+${added.slice(0, 20)}`);
        break;
      }
      case 2:
        parent[key] = Array.isArray(parent[key]) ? {} : [parent[key]];
        changes.push(`[]${path.join('.')}`);
        break;
      case 3:
        parent[`${'k'.repeat(random.int(1_000, 50_000))}`] = 1;
        changes.push('long-key');
        break;
      default:
        parent[key] = oddValue(random);
        changes.push(`~${path.join('.')}`);
    }
  }
  if (random.chance(0.1)) {
    spec.flinkConfiguration = { state: { backend: { type: random.pick(['rocksdb', 'hashmap']) } } };
    changes.push('nested-fixed');
  }
  return { value: spec, shape: `spec ${changes.join(' ') || 'valid'}` };
}

/** A random JSON value of any shape. */
function randomJson(random: SeededRandom, depth = 0): unknown {
  const kind = random.int(0, depth > 3 ? 3 : 5);
  if (kind <= 3) return oddValue(random);
  if (kind === 4) return Array.from({ length: random.int(0, 4) }, () => randomJson(random, depth + 1));
  return Object.fromEntries(
    Array.from({ length: random.int(0, 4) }, () => [
      random.pick(['a', 'name', 'spec', '', 'ü', '\u0000']),
      randomJson(random, depth + 1),
    ]),
  );
}

/** Bodies that are not JSON, not UTF-8, too big or too deep. */
function rawBody(random: SeededRandom): { body: Buffer; shape: string } {
  const choice = random.int(0, 14);
  const text = (value: string, shape: string) => ({ body: Buffer.from(value, 'utf8'), shape });
  switch (choice) {
    case 0:
      return text('', 'empty');
    case 1:
      return text('   \n', 'whitespace');
    case 2:
      return text(random.pick(['null', 'true', '0', '"x"', '[]', '{}', '-0', '1e999']), 'json scalar');
    case 3:
      return text(
        random.pick(['{', '{"a":', '{"a" 1}', "{'a':1}", '{"a":1,}', 'NaN', 'undefined', '{"a":1}{"b":2}']),
        'broken json',
      );
    case 4:
      return text(`\ufeff${JSON.stringify(VALID_SPEC)}`, 'bom');
    case 5:
      return { body: random.bytes(random.int(1, 200)), shape: 'random bytes' };
    case 6:
      return {
        body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        shape: 'invalid utf-8',
      };
    case 7:
      return text(`${'['.repeat(random.int(1_000, 100_000))}`, 'unclosed deep array');
    case 8: {
      const depth = random.int(1_000, 200_000);
      return text(`{"flinkVersion":${'['.repeat(depth)}${']'.repeat(depth)}}`, `deep array ${depth}`);
    }
    case 9: {
      const depth = random.int(1_000, 100_000);
      return text(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, `deep object ${depth}`);
    }
    case 10:
      return text(`{"x":"${'a'.repeat(1024 * 1024 + random.int(1, 1_000))}"}`, 'over 1 MiB');
    case 11:
      return text(
        `{"flinkConfiguration":{${Array.from({ length: 3_000 }, (_, i) => `"k${i}":"v"`).join(',')}}}`,
        'many keys',
      );
    case 12:
      return text('{"name":"a","name":"b"}', 'duplicate keys');
    case 13: {
      const depth = random.int(300, 50_000);
      const field = random.pick(['taskManager', 'flinkConfiguration', 'restore', 'name']);
      return text(`{"${field}":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`, `deep ${field} ${depth}`);
    }
    default:
      return text(JSON.stringify(randomJson(random)), 'random json');
  }
}

function tenantSegment(random: SeededRandom, context: FuzzContext): string {
  switch (random.int(0, 9)) {
    case 0:
    case 1:
      return context.tenant;
    case 2:
      return context.other;
    case 3:
      return random.pick(['ghost', 'nobody-here', ...context.registered]);
    case 4:
      return random.pick(['ACME', 'a', '-acme', 'acme-', 'kube-system', 'admin', 'x'.repeat(25), '0abc', 'a_b']);
    case 5:
      return random.pick(['%ZZ', '%E0%A4%A', '%', '%C3%A9', '%F0%9F%92%A5', '%ED%A0%80', '%00', '%20acme', '%61cme']);
    case 6:
      return random.pick(['a%2Fb', '%2e%2e', '..', '.', '%2F', `${context.tenant}%2F..%2F${context.other}`]);
    case 7:
      return 'x'.repeat(random.pick([100, 2_100, 3_000, 6_000]));
    case 8:
      return encodeURIComponent(random.pick(['ténant', 'テナント', 'ten ant', 'ten\tant', 'a/b', 'a?b', 'a#b']));
    default:
      return context.tenant;
  }
}

function pathFor(random: SeededRandom, context: FuzzContext): { path: string; kind: string } {
  const t = () => tenantSegment(random, context);
  switch (random.int(0, 15)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return { path: `/v1/tenants/${t()}/flink-cluster`, kind: 'cluster' };
    case 4:
      // Never confirms the two tenants the fuzzer acts as, so their tokens stay valid throughout.
      return {
        path: `/v1/tenants/${t()}${random.pick(['', '?purge=true', `?purge=true&confirm=${random.pick(['ghost', 'x', ...context.registered])}`, '?purge=1&confirm=x'])}`,
        kind: 'tenant',
      };
    case 5:
      return { path: `/v1/tenants${query(random)}`, kind: 'tenants' };
    case 6:
      return { path: `/v1/flink-clusters${query(random)}`, kind: 'clusters' };
    case 7:
      return { path: random.pick(['/v1/flink-versions', '/healthz', '/openapi.json']), kind: 'static' };
    case 8:
      return {
        path: `/v1/auth/flink-ui${random.pick(['', '?tenant=', `?tenant=${t()}`, `?tenant=${t()}&tenant=${t()}`, `?Tenant=${t()}`])}`,
        kind: 'auth',
      };
    case 9:
      return {
        path: `/v1/tenants/${t()}/flink-cluster${random.pick(['/', '//', '/x', 's', '/..', '?x=1', '#frag'])}`,
        kind: 'cluster-variant',
      };
    case 10:
      return { path: `/v1/tenants/${t()}/../${t()}/flink-cluster`, kind: 'dot-segments' };
    case 11:
      return {
        path: random.pick([
          '/',
          '/v1',
          '/v1/',
          '/v2/tenants',
          '//v1/tenants',
          '/V1/FLINK-VERSIONS',
          '/v1/tenants/',
          '/%2e%2e/healthz',
          '/v1/%2e%2e/healthz',
          '/healthz/..',
          '/v1/tenants//flink-cluster',
        ]),
        kind: 'unknown',
      };
    case 12:
      return { path: `/v1/${'a/'.repeat(random.int(10, 1_500))}`, kind: 'long' };
    case 13:
      return {
        path: `/${encodeURIComponent(random.pick(['ü', '💥', '\u0000', '\u202e']))}/v1/tenants`,
        kind: 'unicode',
      };
    default:
      return { path: `/v1/tenants/${t()}/flink-cluster`, kind: 'cluster' };
  }
}

function query(random: SeededRandom): string {
  const parts: string[] = [];
  for (let count = random.int(0, 3); count > 0; count -= 1) {
    switch (random.int(0, 4)) {
      case 0:
        parts.push(
          `limit=${random.pick(['0', '-1', '1', '25', '100', '101', 'abc', '1e2', '1.5', 'NaN', '', '9'.repeat(400), '0x10', '%205'])}`,
        );
        break;
      case 1:
        parts.push(
          `cursor=${random.pick(['', '%%%', 'abc', 'eyJwayI6IlRFTkFOVCNhY21lIiwic2siOiJDTFVTVEVSIn0', 'eyJwayI6IlRFTkFOVCMiLCJzayI6IlgifQ', 'x'.repeat(3_000), Buffer.from('{"pk":"TENANT#a","sk":"TENANT","x":1}').toString('base64url')])}`,
        );
        break;
      case 2:
        parts.push(random.pick(['foo=bar', 'limit=1&limit=2', '__proto__=1', 'constructor=x', '=', '&&']));
        break;
      default:
        parts.push(`limit=${random.int(1, 100)}`);
    }
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

function authorization(random: SeededRandom, context: FuzzContext): { header?: string; token: TokenKind } {
  const base64url43 = () => random.bytes(32).toString('base64url');
  switch (random.int(0, 11)) {
    case 0:
    case 1:
      return { header: `Bearer ${context.adminToken}`, token: 'operator' };
    case 2:
    case 3:
    case 4:
      return { header: `Bearer ${context.tenantToken}`, token: 'tenant' };
    case 5:
      return { header: `Bearer ${context.otherToken}`, token: 'other-tenant' };
    case 6:
      return { token: 'none' };
    case 7:
      return {
        header: `Bearer fpt_${random.pick([context.tenant, context.other, 'ghost', 'a'])}_${base64url43()}`,
        token: 'forged',
      };
    case 8:
      return {
        header: `Bearer fpt_${'a'.repeat(random.pick([100, 2_100, 5_000]))}_${base64url43()}`,
        token: 'forged-long',
      };
    case 9:
      return {
        header: random.pick([
          'Bearer',
          'Bearer ',
          'Basic YWRtaW46YWRtaW4=',
          'Token abc',
          `Bearer ${context.adminToken}x`,
          `Bearer ${context.tenantToken.slice(0, -1)}`,
          `Bearer ${context.adminToken} extra`,
          `Bearer ${'z'.repeat(8_000)}`,
          'Bearer fpt_',
          'Bearer \u00e9\u00e8',
          'Bearer ,',
          '',
        ]),
        token: 'malformed',
      };
    case 10:
      return { header: `bEaReR   ${context.adminToken}  `, token: 'operator-variant' };
    default:
      return { header: `Bearer ${context.tenantToken}`, token: 'tenant' };
  }
}

/** One seeded request: a method, a path (often a real route), headers and a body, each possibly broken. */
export function fuzzRequest(random: SeededRandom, context: FuzzContext): FuzzRequest {
  const method = random.pick(METHODS);
  let { path, kind } = pathFor(random, context);
  const auth = authorization(random, context);
  const headers: Record<string, string> = {};
  if (auth.header !== undefined) headers.authorization = auth.header;
  if (random.chance(0.1))
    headers[random.pick(['x-forwarded-for', 'x-amzn-trace-id', 'cookie', 'x-tenant', 'origin'])] = random.pick([
      '127.0.0.1',
      'Root=1-abc',
      'other=1',
      context.other,
      'https://evil.example',
    ]);
  let body: Buffer | undefined;
  let shape = `${kind} ${auth.token}`;
  if (method === 'POST' && random.chance(0.6)) {
    path = '/v1/tenants';
    const name = random.chance(0.3) ? random.pick(context.registered) : oddValue(random);
    body = Buffer.from(JSON.stringify(random.chance(0.9) ? { name } : { name, extra: 1 }));
    shape = `register ${auth.token}`;
  } else if (method !== 'GET' && method !== 'HEAD' && random.chance(0.85)) {
    const form = random.int(0, 9);
    if (form <= 5) {
      const spec = mutatedSpec(random);
      body = Buffer.from(JSON.stringify(spec.value));
      shape += ` ${spec.shape}`;
    } else if (form <= 7) {
      const raw = rawBody(random);
      body = raw.body;
      shape += ` ${raw.shape}`;
    } else {
      body = Buffer.from(JSON.stringify(randomJson(random)));
      shape += ' random json';
    }
  } else if (random.chance(0.05)) {
    body = Buffer.from(JSON.stringify(VALID_SPEC));
    shape += ' body on a bodiless method';
  }
  if (body !== undefined || random.chance(0.1)) {
    const contentType = random.chance(0.7) ? 'application/json' : random.pick(CONTENT_TYPES);
    if (contentType !== '' || random.chance(0.5)) headers['content-type'] = contentType;
  }
  return { method, path, headers, ...(body === undefined ? {} : { body }), token: auth.token, shape };
}
