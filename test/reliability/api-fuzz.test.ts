import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_STATUS_BY_CODE } from '../../functions/http/errors.ts';
import { ClusterViewSchema } from '../../functions/http/schemas.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';
import { type FuzzContext, type FuzzRequest, fuzzRequest } from './support/fuzz-requests.ts';
import { seededRandom, suiteSeed } from './support/seeded-random.ts';

const SEED = suiteSeed(0xf022);
const REQUESTS = 5_000;
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 30_000;
const FUZZ_DEADLINE_MS = 150_000;

const SUCCESS_STATUSES = new Set([200, 201, 202, 204]);
const PUBLIC_PATHS = new Set(['/healthz', '/openapi.json']);
const REGISTERED = ['fuzz-one', 'fuzz-two', 'fuzz-three', 'fuzz-four'];

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

describe(`API fuzz: 5,000 seeded random and mutated requests (seed ${SEED})`, () => {
  let api: LocalApi;
  let context: FuzzContext;
  const logged: { message: string; code?: unknown }[] = [];
  /** Tokens the fuzz run itself got from 201 answers. */
  const issued = new Map<string, string>();

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 5, log: (message, c) => logged.push({ message, code: c.code }) });
    const tenantToken = await api.registerTenant('acme');
    const otherToken = await api.registerTenant('beta');
    context = {
      adminToken: api.adminToken,
      tenant: 'acme',
      tenantToken,
      other: 'beta',
      otherToken,
      registered: REGISTERED,
    };
    for (const [tenant, token] of [
      ['acme', tenantToken],
      ['beta', otherToken],
    ] as const) {
      expect((await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} })).status).toBe(202);
    }
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  });

  it('answers every request with a documented status and body, never a 5xx, never a secret, and stays healthy', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const random = seededRandom(SEED);
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    const deadline = Date.now() + FUZZ_DEADLINE_MS;
    let next = 0;
    const port = Number(new URL(api.url).port);

    const worker = async () => {
      while (next < REQUESTS && Date.now() < deadline) {
        const index = next++;
        // Each request draws from its own generator, so request i is the same whatever the concurrency did.
        const request = fuzzRequest(random.fork(index), context);
        let answer: Answer;
        try {
          answer = await send(port, agent, request);
        } catch (error) {
          problems.push(`#${index} ${describeRequest(request)}: no answer (${(error as Error).message})`);
          continue;
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        for (const problem of check(request, answer))
          problems.push(`#${index} ${describeRequest(request)}: ${problem}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();

    const summary = `seed ${SEED}; statuses ${JSON.stringify(Object.fromEntries(statuses))}; replay with RELIABILITY_SEED=${SEED}`;
    expect(next, `requests sent before the deadline (${summary})`).toBe(REQUESTS);
    console.log(
      [
        ...new Set(
          problems.map((p) =>
            p
              .replace(/^#\d+ /, '')
              .replace(/\/v1\/tenants\/[^/ ]+/, '/v1/tenants/T')
              .slice(0, 220),
          ),
        ),
      ]
        .slice(0, 80)
        .join('\n'),
    );
    expect(problems.slice(0, 25), `${problems.length} problems (${summary})`).toEqual([]);
    expect(
      logged.filter((entry) => entry.code === 'internal'),
      summary,
    ).toEqual([]);
    // The fuzzer reached every documented answer, so "no problem" covers them all.
    expect([...statuses.keys()].sort(), summary).toEqual(
      expect.arrayContaining([200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 415]),
    );

    // Still healthy: it answers, and a new tenant deploys and runs.
    const health = await api.request('GET', '/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    const token = await api.registerTenant('after-fuzz');
    expect((await api.request('PUT', '/v1/tenants/after-fuzz/flink-cluster', { token, body: {} })).status).toBe(202);
    await waitForState(api, 'after-fuzz', 'RUNNING', 30_000);
    const acme = await api.request('GET', '/v1/tenants/acme/flink-cluster', { token: context.tenantToken });
    expect(acme.status, JSON.stringify(acme.body)).toBe(200);
  }, 240_000);

  /** Every broken rule of one answer, as text. */
  function check(request: FuzzRequest, answer: Answer): string[] {
    const problems: string[] = [];
    const { status } = answer;
    const text = answer.body.toString('utf8');
    if (status >= 500) problems.push(`answered ${status}: ${text.slice(0, 300)}`);
    // The local server refuses an oversized body itself, before the router adds these (see the report).
    const fromRouter = status !== 413;
    if (
      fromRouter &&
      (answer.headers['cache-control'] !== 'no-store' || answer.headers['x-content-type-options'] !== 'nosniff')
    ) {
      problems.push(`${status} without the security headers`);
    }
    const route = routeOf(request.path);
    if (request.method === 'HEAD') {
      if (status !== 405 && status !== 404 && status !== 401) problems.push(`HEAD answered ${status}`);
    } else if (status >= 400) {
      problems.push(...checkErrorBody(status, answer, text));
    } else if (SUCCESS_STATUSES.has(status)) {
      problems.push(...checkSuccess(request, route, status, text));
    } else {
      problems.push(`undocumented status ${status}`);
    }
    if (SUCCESS_STATUSES.has(status)) problems.push(...checkAuthorized(request, route));
    problems.push(...checkNoSecret(answer, text, request, route, status));
    return problems;
  }

  function checkErrorBody(status: number, answer: Answer, text: string): string[] {
    let body: { error?: { code?: string; message?: unknown; details?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      return [`${status} with a body that is not JSON: ${text.slice(0, 200)}`];
    }
    const error = body?.error;
    const problems: string[] = [];
    if (!error || Object.keys(body).join() !== 'error' || Object.keys(error).sort().join() !== 'code,details,message') {
      return [`${status} with an undocumented body: ${text.slice(0, 200)}`];
    }
    const code = error.code as keyof typeof HTTP_STATUS_BY_CODE;
    if (HTTP_STATUS_BY_CODE[code] !== status) problems.push(`code ${code} with status ${status}`);
    if (typeof error.message !== 'string' || error.message.length === 0) problems.push(`${code} without a message`);
    if (error.details === null || typeof error.details !== 'object' || Array.isArray(error.details)) {
      problems.push(`${code} with details ${JSON.stringify(error.details)}`);
    }
    if (!String(answer.headers['content-type']).startsWith('application/json')) problems.push(`${code} not as JSON`);
    if (status === 401 && !answer.headers['www-authenticate']) problems.push('401 without WWW-Authenticate');
    if (status === 405) {
      const allow = String(answer.headers.allow ?? '');
      if (!/^(GET|PUT|PATCH|POST|DELETE)(, (GET|PUT|PATCH|POST|DELETE))*$/.test(allow))
        problems.push(`405 with Allow "${allow}"`);
    }
    return problems;
  }

  function checkSuccess(request: FuzzRequest, route: Route, status: number, text: string): string[] {
    const expected = successOf(request.method, route);
    if (expected !== status) return [`${status} where the route answers ${expected ?? 'no success'}`];
    if (status === 204) return text === '' ? [] : ['204 with a body'];
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return [`${status} with a body that is not JSON`];
    }
    if (status === 201) {
      const keys = Object.keys(body).sort().join();
      if (keys !== 'name,token' || typeof body.token !== 'string') return [`201 body ${text.slice(0, 200)}`];
      issued.set(String(body.name), String(body.token));
      return [];
    }
    if (route.kind === 'cluster') {
      const parsed = ClusterViewSchema.safeParse(body);
      return parsed.success ? [] : [`cluster view does not match its schema: ${parsed.error.message.slice(0, 300)}`];
    }
    if (route.kind === 'tenants' || route.kind === 'clusters') {
      return Array.isArray(body.items) ? [] : [`page without items: ${text.slice(0, 200)}`];
    }
    return [];
  }

  /** A success must come from a principal that may act there: the operator, or the tenant on itself. */
  function checkAuthorized(request: FuzzRequest, route: Route): string[] {
    if (route.kind === 'public') return [];
    if (request.token === 'operator' || request.token === 'operator-variant') return [];
    const own = request.token === 'tenant' ? 'acme' : request.token === 'other-tenant' ? 'beta' : undefined;
    if (own === undefined) return [`succeeded with a ${request.token} token`];
    if (route.kind === 'versions') return [];
    if ((route.kind === 'cluster' || route.kind === 'auth') && route.tenant === own) return [];
    return [`tenant ${own} succeeded on ${route.kind} ${route.tenant ?? ''}`];
  }

  /** No answer carries a token or a ZooKeeper password, except the 201 that issues that very token. */
  function checkNoSecret(answer: Answer, text: string, request: FuzzRequest, route: Route, status: number): string[] {
    const secrets = new Map<string, string>([
      ['operator token', api.adminToken],
      ['acme token', context.tenantToken],
      ['beta token', context.otherToken],
      ['ZooKeeper admin password', api.local.zookeeperAdmin.password],
    ]);
    for (const tenant of ['acme', 'beta', 'ghost', 'after-fuzz', ...REGISTERED]) {
      secrets.set(`ZooKeeper password of ${tenant}`, api.local.secrets.zookeeperIdentity(tenant).password);
    }
    for (const [tenant, token] of issued) {
      const isIssuingAnswer = status === 201 && request.method === 'POST' && route.kind === 'tenants';
      if (!(isIssuingAnswer && text.includes(`"name":"${tenant}"`))) secrets.set(`token of ${tenant}`, token);
    }
    const headerText = JSON.stringify(answer.headers);
    return [...secrets]
      .filter(([, secret]) => text.includes(secret) || headerText.includes(secret))
      .map(([name]) => `answer carries the ${name}`);
  }
});

interface Route {
  readonly kind: 'cluster' | 'tenant' | 'tenants' | 'clusters' | 'versions' | 'auth' | 'public' | 'none';
  readonly tenant?: string;
}

/** The route the server sees, after URL parsing (dot segments) and the router's trailing-slash rule. */
function routeOf(rawPath: string): Route {
  const url = new URL(rawPath, 'http://localhost');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const decode = (segment: string) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  };
  if (PUBLIC_PATHS.has(path)) return { kind: 'public' };
  if (path === '/v1/flink-versions') return { kind: 'versions' };
  if (path === '/v1/tenants') return { kind: 'tenants' };
  if (path === '/v1/flink-clusters') return { kind: 'clusters' };
  if (path === '/v1/auth/flink-ui') {
    const values = [...url.searchParams].filter(([name]) => name === 'tenant').map(([, value]) => value);
    return { kind: 'auth', ...(values.length > 0 ? { tenant: values.at(-1)! } : {}) };
  }
  const cluster = /^\/v1\/tenants\/([^/]+)\/flink-cluster$/.exec(path);
  if (cluster) return { kind: 'cluster', ...withTenant(decode(cluster[1]!)) };
  const tenant = /^\/v1\/tenants\/([^/]+)$/.exec(path);
  if (tenant) return { kind: 'tenant', ...withTenant(decode(tenant[1]!)) };
  return { kind: 'none' };
}

function withTenant(tenant: string | undefined): { tenant?: string } {
  return tenant === undefined ? {} : { tenant };
}

/** The success status of a method on a route, from the README's API table. */
function successOf(method: string, route: Route): number | undefined {
  const table: Record<string, Record<string, number>> = {
    cluster: { PUT: 202, GET: 200, DELETE: 202 },
    tenant: { DELETE: 200 },
    tenants: { GET: 200, POST: 201 },
    clusters: { GET: 200 },
    versions: { GET: 200 },
    auth: { GET: 204 },
    public: { GET: 200 },
  };
  return table[route.kind]?.[method];
}

function describeRequest(request: FuzzRequest): string {
  const body = request.body ? ` body ${request.body.length} B` : '';
  return `${request.method} ${request.path.slice(0, 120)} [${request.shape}]${body}`;
}

function send(port: number, agent: Agent, request: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node sends bodies of GET, DELETE and OPTIONS without one, which a server cannot frame.
    const headers = request.body
      ? { ...request.headers, 'content-length': String(request.body.length) }
      : request.headers;
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
        );
        response.on('error', reject);
      },
    );
    outgoing.setTimeout(REQUEST_TIMEOUT_MS, () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}
