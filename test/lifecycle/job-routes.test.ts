import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3UploadSigner } from '../../functions/adapters/s3-upload-signer.ts';
import { tenantNames } from '../../functions/core/naming.ts';
import { S3RVER_CREDENTIALS } from '../../local/s3-server.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';

const run = promisify(execFile);
const CLUSTER = (tenant: string) => `/v1/tenants/${tenant}/flink-cluster`;
const JOB_ID = '8f2c1d0a9e3b4c5d6e7f8091a2b3c4d5';

// Integration: real dynalite, s3rver and ZooKeeper behind the real HTTP server; Kubernetes is the stand-in with
// simulated pods, which run no Flink: these tests check routing, auth, streaming and errors, not Flink's answers.
describe('job and JAR routes (Kubernetes stand-in, simulated pods)', () => {
  let api: LocalApi;
  const tokens: Record<string, string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'job-routes-'));

  /** Sends bytes as a raw HTTP request, so a test can stream a body of any size with any headers. */
  function send(method: string, path: string, body: Buffer, headers: Record<string, string>) {
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered.
    return new Promise<{ status: number; headers: Record<string, unknown>; body: any }>((resolve, reject) => {
      const url = new URL(`${api.url}${path}`);
      const outgoing = httpRequest(
        url,
        { method, headers: { 'content-length': String(body.length), ...headers } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: text ? JSON.parse(text) : undefined,
            });
          });
        },
      );
      // A refused upload may be answered and closed before all of it is sent.
      outgoing.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? undefined : reject(error)));
      outgoing.end(body);
    });
  }

  const uploadJar = (tenant: string, bytes: Buffer, query: string, headers: Record<string, string> = {}) =>
    send('POST', `${CLUSTER(tenant)}/jars${query}`, bytes, {
      authorization: `Bearer ${tokens[tenant]}`,
      'content-type': 'application/java-archive',
      ...headers,
    });

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 5 });
    for (const tenant of ['acme', 'beta', 'gone']) tokens[tenant] = await api.registerTenant(tenant);
    for (const tenant of ['acme', 'gone']) {
      const deployed = await api.request('PUT', CLUSTER(tenant), { token: tokens[tenant], body: {} });
      expect(deployed.status).toBe(202);
      await waitForState(api, tenant, 'RUNNING', 30_000);
    }
    expect((await api.request('DELETE', CLUSTER('gone'), { token: tokens.gone })).status).toBe(202);
    await waitForState(api, 'gone', 'DESTROYED', 30_000);
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a JAR larger than the 1 MiB JSON limit into the bucket, named by its digest', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const answer = await uploadJar('acme', bytes, '?name=big-job.jar');
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({ jarId: sha256.slice(0, 16), name: 'big-job.jar', bytes: bytes.length, sha256 });

    const stored = await api.local.s3.client.send(
      new GetObjectCommand({
        Bucket: tenantNames('acme', api.local.platform).bucket,
        Key: `jars/${sha256.slice(0, 16)}.jar`,
      }),
    );
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(bytes)).toBe(true);

    const again = await uploadJar('acme', bytes, '', { 'content-disposition': 'attachment; filename="renamed.jar"' });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ jarId: sha256.slice(0, 16), name: 'renamed.jar' });

    const listed = await api.request('GET', `${CLUSTER('acme')}/jars`, { token: tokens.acme });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((jar: { jarId: string }) => jar.jarId)).toContain(sha256.slice(0, 16));
  });

  it('refuses a JAR without a usable name with 400 and another content type with 415, before storing anything', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const unnamed = await uploadJar('acme', bytes, '');
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.error).toMatchObject({ code: 'invalid_request', details: { field: 'name' } });
    const traversal = await uploadJar('acme', bytes, `?name=${encodeURIComponent('../savepoints/x.jar')}`);
    expect(traversal.status).toBe(400);
    const text = await uploadJar('acme', bytes, '?name=a.jar', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const empty = await uploadJar('acme', Buffer.alloc(0), '?name=empty.jar');
    expect(empty.status).toBe(400);
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    const listed = await api.request('GET', `${CLUSTER('acme')}/jars`, { token: tokens.acme });
    expect(listed.body.items.map((jar: { jarId: string }) => jar.jarId)).not.toContain(digest);
  });

  it("refuses another tenant's JARs with 403 before reading the upload", async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const upload = await send('POST', `${CLUSTER('acme')}/jars?name=x.jar`, bytes, {
      authorization: `Bearer ${tokens.beta}`,
      'content-type': 'application/java-archive',
    });
    expect(upload.status).toBe(403);
    expect(upload.body.error.code).toBe('forbidden');
    for (const [method, path] of [
      ['GET', `${CLUSTER('acme')}/jars`],
      ['DELETE', `${CLUSTER('acme')}/jars/0123456789abcdef`],
      ['POST', `${CLUSTER('acme')}/jar-uploads`],
      ['POST', `${CLUSTER('acme')}/jar-uploads/${crypto.randomUUID()}/complete`],
      ['GET', `${CLUSTER('acme')}/jobs`],
      ['POST', `${CLUSTER('acme')}/jobs/${JOB_ID}/cancel`],
    ] as const) {
      const body = method === 'POST' ? { body: { name: 'x.jar', bytes: 1 } } : {};
      const answer = await api.request(method, path, { token: tokens.beta, ...body });
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
  });

  it('answers 404 for a JAR, an upload and a tenant that do not exist', async () => {
    const jar = await api.request('DELETE', `${CLUSTER('acme')}/jars/0123456789abcdef`, { token: tokens.acme });
    expect(jar.status).toBe(404);
    expect(jar.body.error.code).toBe('jar_not_found');
    const notAnId = await api.request('DELETE', `${CLUSTER('acme')}/jars/..%2Fjobs%2Fx`, { token: tokens.acme });
    expect(notAnId.status).toBe(404);
    const upload = await api.request('POST', `${CLUSTER('acme')}/jar-uploads/${crypto.randomUUID()}/complete`, {
      token: tokens.acme,
    });
    expect(upload.status).toBe(404);
    expect(upload.body.error.code).toBe('not_found');
    const tenant = await api.request('GET', `${CLUSTER('ghost')}/jobs`);
    expect(tenant.status).toBe(404);
    expect(tenant.body.error.code).toBe('tenant_not_found');
    const cluster = await api.request('GET', `${CLUSTER('beta')}/jobs`, { token: tokens.beta });
    expect(cluster.status).toBe(404);
    expect(cluster.body.error.code).toBe('cluster_not_found');
  });

  it.each([
    ['GET', '/jobs'],
    ['POST', '/jobs'],
    ['GET', `/jobs/${JOB_ID}`],
    ['POST', `/jobs/${JOB_ID}/savepoints`],
    ['POST', `/jobs/${JOB_ID}/stop`],
    ['POST', `/jobs/${JOB_ID}/cancel`],
    ['GET', `/jobs/${JOB_ID}/operations/cancel-${JOB_ID}`],
  ])('answers %s %s on a cluster that is not RUNNING with 409 cluster_not_running', async (method, suffix) => {
    const answer = await api.request(method, `${CLUSTER('gone')}${suffix}`, {
      token: tokens.gone,
      ...(method === 'POST' ? { body: suffix === '/jobs' ? { jarId: '0123456789abcdef' } : {} } : {}),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'cluster_not_running', details: { state: 'DESTROYED' } });
  });

  it('refuses request bodies that do not match the schemas with 400, naming the field', async () => {
    const drain = await api.request('POST', `${CLUSTER('acme')}/jobs/${JOB_ID}/stop`, {
      token: tokens.acme,
      body: { drain: 'yes' },
    });
    expect(drain.status).toBe(400);
    expect(drain.body.error.details.issues[0].field).toBe('drain');
    const tooBig = await api.request('POST', `${CLUSTER('acme')}/jar-uploads`, {
      token: tokens.acme,
      body: { name: 'a.jar', bytes: 500 * 1024 * 1024 + 1 },
    });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.details).toMatchObject({ field: 'bytes', limit: 500 * 1024 * 1024 });
    const unknown = await api.request('POST', `${CLUSTER('acme')}/jar-uploads`, {
      token: tokens.acme,
      body: { name: 'a.jar', bytes: 1, bucket: 'other' },
    });
    expect(unknown.status).toBe(400);
    const notJson = await api.request('POST', `${CLUSTER('acme')}/jobs`, {
      token: tokens.acme,
      rawBody: '{"jarId":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
  });

  it('names the methods of the JAR path in Allow on any other', async () => {
    const answer = await api.request('PUT', `${CLUSTER('acme')}/jars`, { token: tokens.acme });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'POST']);
  });

  describe('presigned upload', () => {
    async function curlPut(url: string, headers: Record<string, string>, file: string): Promise<string> {
      const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '--upload-file', file];
      for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
      const { stdout } = await run('curl', [...args, url]);
      return stdout;
    }

    it('gives a URL curl can PUT the JAR to, which completing registers under its digest', async () => {
      const bytes = randomBytes(1024 * 1024 + 5);
      const file = join(dir, 'presigned.jar');
      writeFileSync(file, bytes);
      const created = await api.request('POST', `${CLUSTER('acme')}/jar-uploads`, {
        token: tokens.acme,
        body: { name: 'presigned.jar', bytes: bytes.length },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const bucket = tenantNames('acme', api.local.platform).bucket;
      expect(created.body).toMatchObject({ method: 'PUT', key: `jars/.incoming/${created.body.uploadId}` });
      expect(new URL(created.body.url).pathname).toBe(`/${bucket}/${created.body.key}`);
      expect(Date.parse(created.body.expiresAt)).toBeGreaterThan(Date.now());

      expect(await curlPut(created.body.url, created.body.headers, file)).toBe('200');
      const completed = await api.request('POST', `${CLUSTER('acme')}/jar-uploads/${created.body.uploadId}/complete`, {
        token: tokens.acme,
      });
      expect(completed.status, JSON.stringify(completed.body)).toBe(201);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(completed.body).toMatchObject({ jarId: sha256.slice(0, 16), name: 'presigned.jar', bytes: bytes.length });

      const incoming = api.local.s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: created.body.key }));
      await expect(incoming).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      const twice = await api.request('POST', `${CLUSTER('acme')}/jar-uploads/${created.body.uploadId}/complete`, {
        token: tokens.acme,
      });
      expect(twice.status).toBe(404);
    });

    it("signs the bucket, the key, the length and the name: the URL is not valid for another tenant's bucket or a key outside jars/", async () => {
      const created = await api.request('POST', `${CLUSTER('acme')}/jar-uploads`, {
        token: tokens.acme,
        body: { name: 'signed.jar', bytes: 42 },
      });
      expect(created.status).toBe(201);
      const { url, headers } = created.body as { url: string; headers: Record<string, string> };
      const own = tenantNames('acme', api.local.platform).bucket;
      const other = tenantNames('beta', api.local.platform).bucket;
      const key = created.body.key as string;
      // What S3 does with a presigned request: sign again what it received, and compare with the signature given.
      expect(await signatureHolds(url, headers)).toBe(true);
      expect(await signatureHolds(url.replace(`/${own}/`, `/${other}/`), headers)).toBe(false);
      expect(await signatureHolds(url.replace(key, 'savepoints/x/_metadata'), headers)).toBe(false);
      expect(await signatureHolds(url.replace(key, 'jars/0123456789abcdef.jar'), headers)).toBe(false);
      expect(await signatureHolds(url, { ...headers, 'content-length': String(600 * 1024 * 1024) })).toBe(false);
      expect(await signatureHolds(url, { ...headers, 'x-amz-meta-name': 'other.jar' })).toBe(false);
    });
  });
});

/** Whether the signature in a presigned URL is the one its bucket, key, headers, date and expiry give. */
async function signatureHolds(url: string, headers: Record<string, string>): Promise<boolean> {
  const parsed = new URL(url);
  const date = parsed.searchParams.get('X-Amz-Date')!;
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const [, bucket, ...key] = parsed.pathname.split('/');
  const signer = createS3UploadSigner({
    credentials: S3RVER_CREDENTIALS,
    region: 'us-east-1',
    endpoint: `${parsed.protocol}//${parsed.host}`,
    now: () => signingDate,
  });
  const expires = Number(parsed.searchParams.get('X-Amz-Expires'));
  const again = await signer.presignPut(bucket!, key.map(decodeURIComponent).join('/'), headers, expires);
  return new URL(again.url).searchParams.get('X-Amz-Signature') === parsed.searchParams.get('X-Amz-Signature');
}
