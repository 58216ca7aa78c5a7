import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type FakeJobManager, startFakeJobManager } from './support/fake-jobmanager.ts';
import { type IngressPlane, startIngressPlane } from './support/ingress-plane.ts';
import { type VhostResponse, vhostRequest } from './support/vhost-client.ts';

// The local control plane with its real stores and the Kubernetes stand-in (simulated Pods); the JobManager Pod's IP is
// set, through the stand-in's API, to a fake JobManager (a Node HTTP server), since no Flink runs in a simulated Pod.

const MB = 1024 * 1024;
let plane: IngressPlane;
let port: number;
let url: string;
let adminToken: string;
let fake: FakeJobManager;
let api: IngressPlane['api'];
const tokens: Record<string, string> = {};

const vhost = (tenant: string) => plane.vhost(tenant);
const get = (tenant: string, path: string, headers: Record<string, string> = {}) =>
  vhostRequest(port, path, { host: vhost(tenant), headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const setJobManagerIp = (tenant: string, ip: string) => plane.setJobManagerIp(tenant, ip);

/** Asks the API for a sign-in link to the tenant's vhost, as the console does. */
async function signInLink(tenant: string, token: string | null, returnTo?: string) {
  const query = new URLSearchParams({ tenant, ...(returnTo ? { return: returnTo } : {}) });
  return api('POST', `/v1/auth/flink-ui/sign-in?${query}`, { token });
}

/** Follows a sign-in link the way a browser would: to the vhost it names. */
function openLink(link: string): Promise<VhostResponse> {
  const target = new URL(link);
  return vhostRequest(port, `${target.pathname}${target.search}`, {
    host: target.host,
    headers: { accept: 'text/html' },
  });
}

async function sessionCookie(tenant: string, token: string): Promise<string> {
  const link = await signInLink(tenant, token);
  expect(link.status).toBe(201);
  const landed = await openLink(link.body.url);
  expect(landed.status).toBe(303);
  return String(landed.headers['set-cookie']?.[0]).split(';')[0]!;
}

beforeAll(async () => {
  plane = await startIngressPlane();
  ({ port, url, adminToken, api } = plane);
  for (const tenant of ['acme', 'beta', 'gamma']) tokens[tenant] = await plane.registerTenant(tenant);
  await plane.deployAndWaitRunning('acme', tokens.acme!);
  fake = await startFakeJobManager();
  await setJobManagerIp('acme', fake.ip);
});

afterAll(async () => {
  await fake?.stop();
  await plane?.stop();
});

describe('the Flink UI vhost of the local ingress', () => {
  it('names the vhost with the local scheme and port in the cluster view', async () => {
    const view = await api('GET', '/v1/tenants/acme/flink-cluster', { token: tokens.acme! });
    expect(view.body.uiUrl).toBe(`http://flink-cluster-ui-acme.flink.localhost:${port}`);
  });

  it('answers 401 with a bearer challenge to a client without credentials', async () => {
    const before = fake.requests();
    const response = await get('acme', '/config', { accept: 'application/json' });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(response.json().error.code).toBe('unauthenticated');
    expect(fake.requests()).toBe(before);
  });

  it('sends a browser without credentials to the console to sign in, with the way back', async () => {
    const response = await get('acme', '/', { accept: 'text/html,application/xhtml+xml' });
    const jobs = await get('acme', '/jobs/overview?x=1', { accept: 'text/html' });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`${url}/#/flink-ui/acme?return=%2F`);
    expect(jobs.headers.location).toBe(`${url}/#/flink-ui/acme?return=${encodeURIComponent('/jobs/overview?x=1')}`);
  });

  it("answers 403 to another tenant's token", async () => {
    const before = fake.requests();
    const response = await get('acme', '/config', bearer(tokens.beta!));
    expect(response.status).toBe(403);
    expect(fake.requests()).toBe(before);
    expect(response.json().error.code).toBe('forbidden');
  });

  it('answers 401 to a token that is not valid', async () => {
    const response = await get('acme', '/config', bearer(`fpt_acme_${'A'.repeat(43)}`));
    expect(response.status).toBe(401);
  });

  it("proxies to the JobManager with the tenant's token and with the operator's", async () => {
    for (const token of [tokens.acme!, adminToken]) {
      const response = await get('acme', '/config', bearer(token));
      expect(response.status).toBe(200);
      expect(response.headers['x-flink']).toBe('fake');
      expect(response.json()['flink-version']).toBe('1.20.1');
    }
  });

  it("passes Flink's answers through byte for byte, errors included", async () => {
    const response = await get('acme', '/bytes', bearer(tokens.acme!));
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(fake.payload.length));
    expect(response.body.equals(fake.payload)).toBe(true);
    const missing = await get('acme', '/no-such-thing', bearer(tokens.acme!));
    expect(missing.status).toBe(404);
    expect(missing.text()).toBe(JSON.stringify({ errors: ['Not found: /bad-request'] }));
  });

  it("forwards neither the Authorization header nor the platform's cookies, and sets X-Forwarded-*", async () => {
    const cookie = await sessionCookie('acme', tokens.acme!);
    await get('acme', '/config', {
      cookie: `theme=dark; ${cookie}; flinkplane_token=${tokens.acme}`,
      'x-forwarded-for': '203.0.113.9',
      'x-auth-request-user': 'mallory',
    });
    const seen = fake.lastHeaders();
    expect(seen.authorization).toBeUndefined();
    expect(seen.cookie).toBe('theme=dark');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-host']).toBe(vhost('acme'));
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-port']).toBe(String(port));
    expect(seen['x-auth-request-user']).toBeUndefined();

    await get('acme', '/config', bearer(tokens.acme!));
    expect(fake.lastHeaders().authorization).toBeUndefined();
    expect(fake.lastHeaders().cookie).toBeUndefined();
  });

  it('streams a 50 MB multipart JAR upload to Flink without holding it in memory', async () => {
    fake.uploadReadDelayMs = 1_500;
    const boundary = `----flinkplane${randomBytes(8).toString('hex')}`;
    const block = randomBytes(64 * 1024);
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="job.jar"\r\n` +
        'Content-Type: application/x-java-archive\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const blocks = (50 * MB) / block.length;
    const total = head.length + blocks * block.length + tail.length;
    const hash = createHash('sha256');
    let pulled = 0;
    const body = Readable.from(
      (function* () {
        for (const chunk of [head, ...Array.from({ length: blocks }, () => block), tail]) {
          pulled += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      })(),
    );
    let pulledWhileFlinkWaits = 0;
    const whileWaiting = setTimeout(() => {
      pulledWhileFlinkWaits = pulled;
    }, 1_200);
    try {
      const response = await vhostRequest(port, '/jars/upload', {
        method: 'POST',
        host: vhost('acme'),
        headers: {
          ...bearer(tokens.acme!),
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': total,
          // As curl sends for a large -F upload; the local server answers 100 Continue itself.
          expect: '100-continue',
        },
        body,
      });
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({
        bytes: total,
        sha256: hash.digest('hex'),
        contentType: `multipart/form-data; boundary=${boundary}`,
      });
    } finally {
      clearTimeout(whileWaiting);
      fake.uploadReadDelayMs = 0;
    }
    // While Flink does not read, backpressure stops the client after a few socket buffers' worth: whatever the proxy
    // holds is part of that, so it never holds the body. (Heap figures are not asserted: they follow GC timing.)
    expect(pulledWhileFlinkWaits).toBeGreaterThan(0);
    expect(pulledWhileFlinkWaits).toBeLessThan(20 * MB);
  });

  it('waits for a long poll and streams a response as Flink writes it', async () => {
    const polled = await get('acme', '/long-poll', bearer(tokens.acme!));
    expect(polled.status).toBe(200);
    expect(polled.text()).toBe('done waiting');

    // The first chunk is in the client's hands long before Flink ends the response 700 ms later.
    const started = Date.now();
    const firstChunkAt = await new Promise<number>((resolve, reject) => {
      const outgoing = request(
        { host: '127.0.0.1', port, path: '/stream', headers: { host: vhost('acme'), ...bearer(tokens.acme!) } },
        (incoming) => {
          incoming.once('data', () => resolve(Date.now() - started));
          incoming.resume();
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
    expect(firstChunkAt).toBeLessThan(500);
  });

  it('passes a WebSocket through, with the same authentication', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, [], {
      headers: { host: vhost('acme'), ...bearer(tokens.acme!) },
    });
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.on('open', () => socket.send(Buffer.from('hello')));
      socket.on('message', (data) => resolve(data.toString()));
      socket.on('error', reject);
    });
    socket.close();
    expect(echoed).toBe('echo: hello');
    expect(fake.lastHeaders().authorization).toBeUndefined();

    const refused = new WebSocket(`ws://127.0.0.1:${port}/ws`, [], { headers: { host: vhost('acme') } });
    const status = await new Promise<number>((resolve) => {
      refused.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      refused.on('open', () => resolve(101));
      refused.on('error', () => undefined);
    });
    refused.terminate();
    expect(status).toBe(401);
  });

  it('hands a console sign-in over to the vhost with a single-use code and a session cookie of its own', async () => {
    const link = await signInLink('acme', tokens.acme!, '/#/job/running');
    expect(link.status).toBe(201);
    expect(link.body.url).toMatch(
      new RegExp(`^http://flink-cluster-ui-acme\\.flink\\.localhost:${port}/\\.flinkplane/callback\\?code=`),
    );
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);

    const landed = await openLink(link.body.url);
    expect(landed.status).toBe(303);
    expect(landed.headers.location).toBe('/#/job/running');
    const setCookie = String(landed.headers['set-cookie']?.[0]);
    expect(setCookie).toMatch(/^flinkplane_ui=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect(setCookie).not.toMatch(/Domain=/i);

    const cookie = setCookie.split(';')[0]!;
    const page = await get('acme', '/config', { cookie });
    expect(page.status).toBe(200);

    const again = await openLink(link.body.url);
    expect(again.status).toBe(401);
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it("binds a sign-in code to its tenant: at another tenant's vhost it is refused and spent", async () => {
    const link = await signInLink('acme', adminToken);
    const elsewhere = new URL(link.body.url);
    elsewhere.host = vhost('beta');
    const refused = await openLink(elsewhere.toString());
    expect(refused.status).toBe(403);
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect((await openLink(link.body.url)).status).toBe(401);
  });

  it('mints sign-in links only for an own tenant, with a token, to a path on the vhost', async () => {
    expect((await signInLink('acme', tokens.beta!)).status).toBe(403);
    expect((await signInLink('acme', null)).status).toBe(401);
    expect((await signInLink('acme', tokens.acme!, '//evil.example/')).status).toBe(400);
    expect((await signInLink('acme', tokens.acme!, 'https://evil.example/')).status).toBe(400);
    expect((await signInLink('Not A Tenant', adminToken)).status).toBe(400);
    // The API's cookie is not enough: another site's form could send it.
    const withCookie = await api('POST', '/v1/auth/flink-ui/sign-in?tenant=acme', {
      token: null,
      headers: { cookie: `flinkplane_token=${tokens.acme}` },
    });
    expect(withCookie.status).toBe(401);
  });

  it("never lets acme's session cookie open another tenant's vhost", async () => {
    const cookie = await sessionCookie('acme', tokens.acme!);
    const betaCluster = await api('PUT', '/v1/tenants/beta/flink-cluster', { token: tokens.beta!, body: {} });
    expect(betaCluster.status).toBe(202);
    const asApi = await get('beta', '/config', { cookie });
    expect(asApi.status).toBe(401);
    const asBrowser = await get('beta', '/', { cookie, accept: 'text/html' });
    expect(asBrowser.status).toBe(302);
    expect(asBrowser.headers.location).toContain('#/flink-ui/beta');
    // The operator's session is bound to one vhost too.
    const operatorCookie = await sessionCookie('acme', adminToken);
    expect((await get('beta', '/config', { cookie: operatorCookie })).status).toBe(401);
    expect((await get('acme', '/config', { cookie: operatorCookie })).status).toBe(200);
  });

  it('ends the vhost session on sign-out', async () => {
    const cookie = await sessionCookie('acme', tokens.acme!);
    const out = await get('acme', '/.flinkplane/sign-out', { cookie, accept: 'text/html' });
    expect(out.status).toBe(302);
    expect(out.headers.location).toBe(`${url}/`);
    expect(String(out.headers['set-cookie'])).toMatch(/^flinkplane_ui=; .*Max-Age=0/);
    expect((await get('acme', '/config', { cookie })).status).toBe(401);
  });

  it('answers 503 for a tenant without a cluster, never hanging', async () => {
    const response = await get('gamma', '/config', bearer(tokens.gamma!));
    expect(response.status).toBe(503);
    expect(response.json().error.details).toMatchObject({ tenant: 'gamma', reason: 'no_cluster' });
    const page = await get('gamma', '/', { ...bearer(adminToken), accept: 'text/html' });
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text()).toContain('gamma has no Flink cluster');
  });

  it('answers 404 for a host under the domain that is no tenant vhost, and leaves other hosts to the API', async () => {
    const response = await vhostRequest(port, '/', {
      host: `grafana.flink.localhost:${port}`,
      headers: bearer(adminToken),
    });
    expect(response.status).toBe(404);
    const health = await vhostRequest(port, '/healthz', { host: `127.0.0.1:${port}` });
    expect(health.status).toBe(200);
  });

  it('answers 502 when the ready Pod refuses the connection', async () => {
    await setJobManagerIp('acme', '127.0.0.2');
    try {
      const response = await get('acme', '/config', bearer(tokens.acme!));
      expect(response.status).toBe(502);
      expect(response.json().error.details.reason).toBe('unreachable');
    } finally {
      await setJobManagerIp('acme', fake.ip);
    }
  });

  it('logs no token, sign-in code or session', () => {
    const text = plane.logged.join('\n');
    for (const secret of [adminToken, ...Object.values(tokens), 'code=', 'flinkplane_ui=']) {
      expect(text).not.toContain(secret);
    }
  });
});
