import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import { type IngressPlane, startIngressPlane } from '../ingress/support/ingress-plane.ts';
import { compileTestJob, counterArgs, MINIMUM_SIZES, STATEFUL_COUNTER_CLASS } from './support/compile-test-job.ts';
import { eventually, waitForCluster } from './support/real-cluster.ts';

const run = promisify(execFile);

/**
 * The job routes over HTTP, as a tenant calls them with curl, against real Flink 1.20 at minimum sizes: the local
 * server `npm start` runs, the kubelet runtime running each pod as a real process; only the Kubernetes API is a
 * stand-in.
 */
const VERSION = '1.20';
const MINIMUM = { flinkVersion: VERSION, ...MINIMUM_SIZES };
const ARGS = counterArgs({ checkpointIntervalMs: 2000 });

describe('job routes over HTTP on real Flink 1.20', () => {
  let plane: IngressPlane;
  let work: string;
  let jarPath: string;
  let jarId: string;
  let jobId: string;
  let savepointPath: string;
  const tokens: Record<string, string> = {};
  const C = '/v1/tenants/acme/flink-cluster';
  const api = (method: string, path: string, body?: unknown, tenant = 'acme') =>
    plane.api(method, path, { token: tokens[tenant]!, ...(body === undefined ? {} : { body }) });
  /** curl, as the README shows it; answers the status and the parsed body. */
  const curl = async (...args: string[]) => {
    const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
    const lines = stdout.trimEnd().split('\n');
    const status = Number(lines.pop());
    const text = lines.join('\n');
    return { status, body: text ? JSON.parse(text) : undefined };
  };
  const settled = (path: string) =>
    eventually(`operation ${path} to end`, 120_000, async () => {
      const answer = await api('GET', path);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body.status === 'IN_PROGRESS' ? undefined : answer.body;
    });
  const jobState = (id: string, state: string) =>
    eventually(`job ${id} ${state}`, 120_000, async () => {
      const answer = await api('GET', `${C}/jobs/${id}`);
      return answer.body?.state === state ? answer.body : undefined;
    });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'flinkplane-job-routes-'));
    const image = await prepareFlinkImage(VERSION);
    jarPath = await compileTestJob(join(image.home, 'lib'), work);
    plane = await startIngressPlane({ pods: 'kubelet', platform: { podCidr: '10.245.0.0/24' } });
    tokens.acme = await plane.registerTenant('acme');
    tokens.other = await plane.registerTenant('other');
  });

  afterAll(async () => {
    await plane?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('deploys at minimum sizes and reaches RUNNING', async () => {
    expect((await api('PUT', C, MINIMUM)).status).toBe(202);
    await waitForCluster(plane, 'acme', 'RUNNING', 150_000);
  });

  it('uploads the JAR with curl, streamed through the API and presigned straight to the bucket, to one id', async () => {
    const digest = createHash('sha256').update(readFileSync(jarPath)).digest('hex');
    const streamed = await curl(
      '-X',
      'POST',
      `${plane.url}${C}/jars?name=stateful-counter.jar`,
      '-H',
      `Authorization: Bearer ${tokens.acme}`,
      '-H',
      'content-type: application/java-archive',
      '--data-binary',
      `@${jarPath}`,
    );
    expect(streamed.status, JSON.stringify(streamed.body)).toBe(201);
    expect(streamed.body).toMatchObject({ jarId: digest.slice(0, 16), sha256: digest });
    jarId = streamed.body.jarId;

    const upload = await api('POST', `${C}/jar-uploads`, { name: 'presigned.jar', bytes: statSync(jarPath).size });
    expect(upload.status).toBe(201);
    const put = await curl(
      '-X',
      'PUT',
      '--upload-file',
      jarPath,
      '-H',
      `x-amz-meta-name: ${upload.body.headers['x-amz-meta-name']}`,
      upload.body.url,
    );
    expect(put.status).toBe(200);
    const completed = await api('POST', `${C}/jar-uploads/${upload.body.uploadId}/complete`);
    expect(completed.status).toBe(201);
    expect(completed.body.jarId).toBe(jarId);
  });

  it('runs the JAR (202 jobId) and shows it RUNNING with a completed checkpoint', async () => {
    const submitted = await api('POST', `${C}/jobs`, {
      jarId,
      entryClass: STATEFUL_COUNTER_CLASS,
      args: ARGS,
      parallelism: 1,
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    jobId = submitted.body.jobId;
    const job = await eventually('a completed checkpoint', 180_000, async () => {
      const answer = await api('GET', `${C}/jobs/${jobId}`);
      return answer.body?.state === 'RUNNING' && answer.body.lastCheckpoint ? answer.body : undefined;
    });
    expect(job.lastCheckpoint.path).toMatch(/^s3:\/\/flinkplane-acme\/acme-ha1\/checkpoints\//);
    expect(job.run).toMatchObject({ jarId, entryClass: STATEFUL_COUNTER_CLASS });
    const listed = await api('GET', `${C}/jobs`);
    expect(listed.body.items.map((item: { jobId: string }) => item.jobId)).toContain(jobId);
  });

  it('takes a savepoint (202 operation) that ends SUCCEEDED with its path', async () => {
    const started = await api('POST', `${C}/jobs/${jobId}/savepoints`);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ kind: 'savepoint', status: 'IN_PROGRESS', jobId });
    const done = await settled(`${C}/jobs/${jobId}/operations/${started.body.operationId}`);
    expect(done).toMatchObject({ status: 'SUCCEEDED' });
    expect(done.savepointPath).toMatch(/^s3:\/\/flinkplane-acme\/savepoints\/savepoint-/);
  });

  it("refuses another tenant's token on the job's routes, and an operation asked under another job's path", async () => {
    for (const [method, path] of [
      ['GET', `${C}/jobs/${jobId}`],
      ['POST', `${C}/jobs/${jobId}/savepoints`],
      ['POST', `${C}/jobs/${jobId}/cancel`],
      ['GET', `${C}/jobs/${jobId}/operations/cancel-${jobId}`],
    ] as const) {
      const answer = await api(method, path, undefined, 'other');
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
    const elsewhere = await api('GET', `${C}/jobs/${'0'.repeat(32)}/operations/cancel-${jobId}`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.code).toBe('job_operation_not_found');
  });

  it('stops with a savepoint, and runs again from it', async () => {
    const stop = await api('POST', `${C}/jobs/${jobId}/stop`, { drain: false });
    expect(stop.status).toBe(202);
    const done = await settled(`${C}/jobs/${jobId}/operations/${stop.body.operationId}`);
    expect(done).toMatchObject({ kind: 'stop', status: 'SUCCEEDED' });
    savepointPath = done.savepointPath;
    await jobState(jobId, 'FINISHED');

    const restored = await api('POST', `${C}/jobs`, {
      jarId,
      entryClass: STATEFUL_COUNTER_CLASS,
      args: ARGS,
      restoreFrom: savepointPath,
    });
    expect(restored.status).toBe(202);
    const job = await jobState(restored.body.jobId, 'RUNNING');
    expect(job.restoredFrom).toBe(savepointPath);
    jobId = restored.body.jobId;
  });

  it('cancels (202 operation); the job ends CANCELED', async () => {
    const cancel = await api('POST', `${C}/jobs/${jobId}/cancel`);
    expect(cancel.status).toBe(202);
    const done = await settled(`${C}/jobs/${jobId}/operations/${cancel.body.operationId}`);
    expect(done).toMatchObject({ kind: 'cancel', status: 'SUCCEEDED' });
    expect((await api('GET', `${C}/jobs/${jobId}`)).body.state).toBe('CANCELED');
  });

  it("answers a bad entry class with 422 and Flink's own words in details", async () => {
    const refused = await api('POST', `${C}/jobs`, { jarId, entryClass: 'flinkplane.testjobs.NoSuchJob' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('flink_rejected');
    expect(refused.body.error.details.flink.join('\n')).toMatch(/flinkplane\.testjobs\.NoSuchJob/);
  });
}, 600_000);
