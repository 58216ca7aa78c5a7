import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlinkplaneError } from '../../functions/core/errors.ts';
import type { JobOperationView } from '../../functions/core/jobs/job-view.ts';
import type { Principal } from '../../functions/core/principal.ts';
import { errorResponse } from '../../functions/http/errors.ts';
import { prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import { type IngressPlane, startIngressPlane } from '../ingress/support/ingress-plane.ts';
import {
  type CounterLine,
  compileTestJob,
  counterArgs,
  isConsistent,
  MINIMUM_SIZES,
  parseCounterLines,
  STATEFUL_COUNTER_CLASS,
} from './support/compile-test-job.ts';
import { eventually, podLog, pods, waitForCluster } from './support/real-cluster.ts';

/**
 * The job service of the control plane against real Flink 1.20 at minimum sizes: the local plane with the kubelet
 * runtime runs each pod as a real process; only the Kubernetes API is a stand-in. The plane reaches the JobManager
 * through a port-forward of the stand-in, as it does through the EKS API server.
 */
const VERSION = '1.20';
const MINIMUM = { flinkVersion: VERSION, ...MINIMUM_SIZES };
const KEYS = 4;
const ARGS = counterArgs({ keys: KEYS });
const ARGS_WITH_CHECKPOINTS = counterArgs({ keys: KEYS, checkpointIntervalMs: 2000 });

describe('jobs on real Flink 1.20 through the control plane', () => {
  const tenant = 'acme';
  const acme: Principal = { kind: 'tenant', tenant, registered: true };
  const stranger: Principal = { kind: 'tenant', tenant: 'other', registered: true };
  let plane: IngressPlane;
  let work: string;
  let jarPath: string;
  let jarId: string;
  let jobId: string;
  let savepointPath: string;

  const jobs = () => plane.local.plane.jobs;
  /** The thrown error of `call`, answered as the HTTP edge answers it. */
  const refusal = async (call: () => Promise<unknown>) => {
    const error = await call().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(isFlinkplaneError(error), `expected a refusal, got ${String(error)}`).toBe(true);
    const response = errorResponse(error, () => undefined);
    return { status: response.status, error: JSON.parse(response.body).error };
  };
  const settled = (operationId: string) =>
    eventually(`operation ${operationId} to end`, 120_000, async () => {
      const operation = await jobs().getJobOperation(acme, tenant, operationId);
      return operation.status === 'IN_PROGRESS' ? undefined : operation;
    });
  const jobState = (id: string, state: string) =>
    eventually(`job ${id} ${state}`, 120_000, async () => {
      const job = await jobs().getJob(acme, tenant, id);
      return job.state === state ? job : undefined;
    });
  const counterLines = async (): Promise<CounterLine[]> => {
    const [taskManager] = pods(plane, tenant, 'taskmanager');
    return taskManager ? parseCounterLines(await podLog(plane, taskManager, 'taskmanager')) : [];
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'flinkplane-jobs-'));
    const image = await prepareFlinkImage(VERSION);
    jarPath = await compileTestJob(join(image.home, 'lib'), work);
    plane = await startIngressPlane({ pods: 'kubelet', platform: { podCidr: '10.250.0.0/24' } });
    await plane.registerTenant(tenant);
    await plane.registerTenant('other');
  });

  afterAll(async () => {
    await plane?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('answers cluster_not_running (409) while the cluster is DEPLOYING, then runs it to RUNNING', async () => {
    const view = await plane.local.plane.deploy(acme, tenant, MINIMUM);
    expect(view.state).toBe('DEPLOYING');
    const refused = await refusal(() => jobs().listJobs(acme, tenant));
    expect(refused).toMatchObject({
      status: 409,
      error: { code: 'cluster_not_running', details: { state: 'DEPLOYING' } },
    });
    await waitForCluster(plane, tenant, 'RUNNING', 150_000);
  });

  it('streams a JAR into the tenant bucket under the digest of its bytes; the same bytes get the same id', async () => {
    const digest = createHash('sha256').update(readFileSync(jarPath)).digest('hex');
    const jar = await jobs().uploadJar(acme, tenant, 'stateful-counter.jar', createReadStream(jarPath));
    expect(jar).toMatchObject({ jarId: digest.slice(0, 16), sha256: digest, name: 'stateful-counter.jar' });
    jarId = jar.jarId;
    const stored = await plane.local.s3.client.send(
      new HeadObjectCommand({ Bucket: `flinkplane-${tenant}`, Key: `jars/${jarId}.jar` }),
    );
    expect(stored.ContentLength).toBe(readFileSync(jarPath).length);
    const again = await jobs().uploadJar(acme, tenant, 'copy.jar', createReadStream(jarPath));
    expect(again.jarId).toBe(jarId);
    expect((await jobs().listJars(acme, tenant)).map((listed) => listed.jarId)).toEqual([jarId]);
  });

  it('runs the JAR; the job view shows it RUNNING with a completed checkpoint in the bucket', async () => {
    ({ jobId } = await jobs().runJob(acme, tenant, {
      jarId,
      entryClass: STATEFUL_COUNTER_CLASS,
      args: ARGS_WITH_CHECKPOINTS,
      parallelism: 1,
    }));
    const job = await eventually('a completed checkpoint', 180_000, async () => {
      const found = await jobs().getJob(acme, tenant, jobId);
      return found.state === 'RUNNING' && found.lastCheckpoint ? found : undefined;
    });
    expect(job.lastCheckpoint!.path).toMatch(new RegExp(`^s3://flinkplane-${tenant}/${tenant}-ha1/checkpoints/`));
    expect(job.lastCheckpoint!.bytes).toBeGreaterThan(0);
    expect(job.restarts).toBe(0);
    expect(job.run).toMatchObject({ jarId, entryClass: STATEFUL_COUNTER_CLASS, args: ARGS_WITH_CHECKPOINTS });
    const listed = await jobs().listJobs(acme, tenant);
    expect(listed.find((summary) => summary.jobId === jobId)?.state).toBe('RUNNING');
  });

  it('takes a savepoint as an operation to poll; it ends with the savepoint path in the bucket', async () => {
    const started = await jobs().triggerSavepoint(acme, tenant, jobId);
    expect(started.status).toBe('IN_PROGRESS');
    const done = await settled(started.operationId);
    expect(done).toMatchObject({ kind: 'savepoint', status: 'SUCCEEDED' });
    expect(done.savepointPath).toMatch(new RegExp(`^s3://flinkplane-${tenant}/savepoints/savepoint-`));
    expect((await jobs().getJob(acme, tenant, jobId)).state).toBe('RUNNING');
  });

  it('stops with a savepoint and runs again from it: the counters carry on, not from zero', async () => {
    const stop = await jobs().stopJob(acme, tenant, jobId, { drain: false });
    const done: JobOperationView = await settled(stop.operationId);
    expect(done).toMatchObject({ kind: 'stop', status: 'SUCCEEDED' });
    savepointPath = done.savepointPath!;
    await jobState(jobId, 'FINISHED');
    const before = await counterLines();
    expect(before.length).toBeGreaterThan(0);
    const highestBefore = Math.max(...before.map((line) => line.value));

    const restored = await jobs().runJob(acme, tenant, {
      jarId,
      entryClass: STATEFUL_COUNTER_CLASS,
      args: ARGS,
      restoreFrom: savepointPath,
    });
    const job = await jobState(restored.jobId, 'RUNNING');
    expect(job.restoredFrom).toBe(savepointPath);
    const after = await eventually('counter lines of the restored job', 90_000, async () => {
      const lines = (await counterLines()).slice(before.length);
      return lines.length >= KEYS ? lines : undefined;
    });
    // A run from zero would print values from 0 on; the restored source resumes after the stop's position.
    expect(Math.min(...after.map((line) => line.value))).toBeGreaterThan(highestBefore);
    expect(after.every((line) => isConsistent(line, KEYS))).toBe(true);
    jobId = restored.jobId;
  });

  it('cancels the job as an operation to poll; the job ends CANCELED', async () => {
    const cancel = await jobs().cancelJob(acme, tenant, jobId);
    expect(await settled(cancel.operationId)).toMatchObject({ kind: 'cancel', status: 'SUCCEEDED' });
    expect((await jobs().getJob(acme, tenant, jobId)).state).toBe('CANCELED');
  });

  it("answers a bad entry class with Flink's own error in details", async () => {
    const refused = await refusal(() =>
      jobs().runJob(acme, tenant, { jarId, entryClass: 'flinkplane.testjobs.NoSuchJob' }),
    );
    expect(refused.status).toBe(422);
    expect(refused.error.code).toBe('flink_rejected');
    expect(refused.error.details.flink.join('\n')).toMatch(/flinkplane\.testjobs\.NoSuchJob/);
  });

  it("refuses another tenant's principal on every operation, and finds nothing of acme's in its own tenant", async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ['uploadJar', () => jobs().uploadJar(stranger, tenant, 'x.jar', createReadStream(jarPath))],
      ['listJars', () => jobs().listJars(stranger, tenant)],
      ['deleteJar', () => jobs().deleteJar(stranger, tenant, jarId)],
      ['runJob', () => jobs().runJob(stranger, tenant, { jarId })],
      ['listJobs', () => jobs().listJobs(stranger, tenant)],
      ['getJob', () => jobs().getJob(stranger, tenant, jobId)],
      ['triggerSavepoint', () => jobs().triggerSavepoint(stranger, tenant, jobId)],
      ['stopJob', () => jobs().stopJob(stranger, tenant, jobId)],
      ['cancelJob', () => jobs().cancelJob(stranger, tenant, jobId)],
      ['getJobOperation', () => jobs().getJobOperation(stranger, tenant, `cancel-${jobId}`)],
    ];
    for (const [name, call] of calls) {
      expect({ name, ...(await refusal(call)) }).toMatchObject({ name, status: 403, error: { code: 'forbidden' } });
    }
    // Its own tenant derives its own bucket and namespace: acme's JAR and jobs are not there.
    expect(await jobs().listJars(stranger, 'other')).toEqual([]);
    expect((await refusal(() => jobs().deleteJar(stranger, 'other', jarId))).error.code).toBe('jar_not_found');
    expect((await refusal(() => jobs().getJob(stranger, 'other', jobId))).error.code).toBe('cluster_not_found');
    // A snapshot path is only ever resolved in the caller's own bucket.
    const foreign = await refusal(() =>
      jobs().runJob(acme, tenant, { jarId, restoreFrom: 's3://flinkplane-other/savepoints/savepoint-000000-1' }),
    );
    expect(foreign).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
  });
}, 600_000);
