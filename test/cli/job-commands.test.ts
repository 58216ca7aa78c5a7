import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';
import { cli } from './run-cli.ts';

const JOB_ID = '8f2c1d0a9e3b4c5d6e7f8091a2b3c4d5';
const TRIGGER = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

// Integration: the CLI against the local API (real dynalite, s3rver and ZooKeeper; the Kubernetes stand-in with
// simulated pods, which run no Flink).
describe('CLI jars and jobs against the local API', () => {
  let api: LocalApi;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'cli-jobs-'));
  const as = (...args: string[]) => cli(...args, '--tenant', 'acme', '--url', api.url, '--token', token);

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 5 });
    token = await api.registerTenant('acme');
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a JAR streamed and the same bytes presigned to one id, lists it, and deletes it', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 3);
    const jarId = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    const file = join(dir, 'wordcount.jar');
    writeFileSync(file, bytes);

    const streamed = await as('jars', 'upload', file);
    expect(streamed, streamed.err).toMatchObject({ code: 0, err: '' });
    expect(streamed.out).toBe(`Uploaded wordcount.jar (${bytes.length} bytes) as JAR ${jarId}\n`);

    const presigned = await as('jars', 'upload', file, '--presigned', '--name', 'renamed.jar', '--json');
    expect(presigned.code, presigned.err).toBe(0);
    expect(JSON.parse(presigned.out)).toMatchObject({ jarId, name: 'renamed.jar', bytes: bytes.length });

    const listed = await as('jars', 'list', '--json');
    expect(JSON.parse(listed.out).map((jar: { jarId: string }) => jar.jarId)).toEqual([jarId]);

    expect((await as('jars', 'delete', jarId)).out).toBe(`Deleted JAR ${jarId}\n`);
    expect(JSON.parse((await as('jars', 'list', '--json')).out)).toEqual([]);
    const again = await as('jars', 'delete', jarId);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/^Error 404 jar_not_found/);
  });

  it("refuses a file name that is not a JAR's with the API's reason, exit 2", async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'not a jar');
    const result = await as('jars', 'upload', file);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^Error 400 invalid_request: The JAR name must be a file name ending in \.jar/);
  });

  it('says why jobs cannot be listed on a cluster that is not RUNNING', async () => {
    expect((await as('jobs', 'list')).err).toMatch(/^Error 404 cluster_not_found/);
    await api.request('PUT', '/v1/tenants/acme/flink-cluster', { token, body: {} });
    await waitForState(api, 'acme', 'RUNNING', 30_000);
    await api.request('DELETE', '/v1/tenants/acme/flink-cluster', { token });
    await waitForState(api, 'acme', 'DESTROYED', 30_000);
    const result = await as('jobs', 'list');
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^Error 409 cluster_not_running: The cluster of acme is DESTROYED/);
  });
});

/** A stand-in for the API's job routes that records what it was asked and answers the operation as scripted. */
describe('CLI jobs against a scripted API', () => {
  let server: Server;
  let url: string;
  const seen: { method: string; path: string; body: string }[] = [];
  let polls: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '';
        seen.push({ method: request.method ?? '', path, body: Buffer.concat(chunks).toString('utf8') });
        const kind = /\/(savepoints|stop|cancel)$/.exec(path)?.[1];
        const operationId = (name: string) =>
          name === 'cancel' ? `cancel-${JOB_ID}` : `${name === 'savepoints' ? 'savepoint' : name}-${JOB_ID}-${TRIGGER}`;
        let body: unknown;
        if (request.method === 'POST' && path.endsWith('/jobs')) body = { jobId: JOB_ID };
        else if (kind) body = { operationId: operationId(kind), kind, jobId: JOB_ID, status: 'IN_PROGRESS' };
        else if (path.includes('/operations/')) {
          const status = polls.shift() ?? 'IN_PROGRESS';
          const id = decodeURIComponent(path.split('/operations/')[1]!);
          body = {
            operationId: id,
            kind: id.split('-')[0],
            jobId: JOB_ID,
            status,
            ...(status === 'SUCCEEDED' ? { savepointPath: 's3://flinkplane-acme/savepoints/savepoint-1' } : {}),
            ...(status === 'FAILED' ? { failure: 'java.lang.IllegalStateException: no checkpoint' } : {}),
          };
        }
        response.writeHead(body ? 202 : 404, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body ?? { error: { code: 'not_found', message: 'no', details: {} } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const as = (...args: string[]) => cli(...args, '--tenant', 'acme', '--url', url, '--token', 't');

  it('sends a run with every option it was given', async () => {
    seen.length = 0;
    const result = await as(
      'jobs',
      'run',
      '--jar',
      '0123456789abcdef',
      '--entry-class',
      'com.example.WordCount',
      '--arg=--input',
      '--arg',
      'words.txt',
      '--parallelism',
      '2',
      '--restore-from',
      'latest',
      '--allow-non-restored-state',
    );
    expect(result, result.err).toMatchObject({ code: 0, out: `Submitted job ${JOB_ID}\n` });
    expect(seen[0]!.path).toBe('/v1/tenants/acme/flink-cluster/jobs');
    expect(JSON.parse(seen[0]!.body)).toEqual({
      jarId: '0123456789abcdef',
      entryClass: 'com.example.WordCount',
      args: ['--input', 'words.txt'],
      parallelism: 2,
      restoreFrom: 'latest',
      allowNonRestoredState: true,
    });
  });

  it('polls a stop with --wait until it succeeds and prints the savepoint path', async () => {
    seen.length = 0;
    polls = ['IN_PROGRESS', 'SUCCEEDED'];
    const result = await as('jobs', 'stop', JOB_ID, '--drain', '--wait');
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain('stop of job');
    expect(result.out).toContain('SUCCEEDED');
    expect(result.out).toContain('Savepoint: s3://flinkplane-acme/savepoints/savepoint-1');
    expect(JSON.parse(seen[0]!.body)).toEqual({ drain: true });
    const operations = seen.filter((request) => request.path.includes('/operations/'));
    expect(operations).toHaveLength(2);
    expect(operations[0]!.path).toBe(
      `/v1/tenants/acme/flink-cluster/jobs/${JOB_ID}/operations/stop-${JOB_ID}-${TRIGGER}`,
    );
  });

  it('exits 1 with the reason when the awaited savepoint fails', async () => {
    polls = ['FAILED'];
    const result = await as('jobs', 'savepoint', JOB_ID, '--wait');
    expect(result.code).toBe(1);
    expect(result.out).toContain('java.lang.IllegalStateException: no checkpoint');
  });

  it('returns at once without --wait, printing the operation to poll', async () => {
    seen.length = 0;
    const result = await as('jobs', 'cancel', JOB_ID, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ operationId: `cancel-${JOB_ID}`, status: 'IN_PROGRESS' });
    expect(seen.map((request) => request.path)).toEqual([`/v1/tenants/acme/flink-cluster/jobs/${JOB_ID}/cancel`]);
  });

  it('gives up waiting after --timeout with exit 1', async () => {
    polls = [];
    const result = await as('jobs', 'savepoint', JOB_ID, '--wait', '--timeout', '0');
    expect(result.code).toBe(1);
    expect(result.err).toContain('still IN_PROGRESS after 0 s');
  });
});
