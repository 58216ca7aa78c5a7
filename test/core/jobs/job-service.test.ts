import { describe, expect, it } from 'vitest';
import { ClusterRecords, type ControlPlaneDeps } from '../../../functions/core/cluster-records.ts';
import { FlinkplaneError } from '../../../functions/core/errors.ts';
import { JobService } from '../../../functions/core/jobs/job-service.ts';
import type {
  ClusterRecord,
  ClusterState,
  FlinkJar,
  FlinkRest,
  FlinkRunRequest,
} from '../../../functions/core/ports.ts';
import type { Principal } from '../../../functions/core/principal.ts';
import { platform } from '../fixtures.ts';
import { memoryObjectStore } from './memory-object-store.ts';

// The job service's orchestration over test doubles of its ports: an in-memory bucket and a JobManager that records
// what it is asked. The real S3 and Flink paths are covered by test/flink/jobs.test.ts.

const TENANT = 'acme';
const BUCKET = 'flinkplane-acme';
const acme: Principal = { kind: 'tenant', tenant: TENANT, registered: true };
const JOB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

function fakeJobManager() {
  const jars: FlinkJar[] = [];
  const runs: FlinkRunRequest[] = [];
  const uploads: string[] = [];
  const notFound = () => new FlinkplaneError('flink_rejected', 'not found', { status: 404, flink: ['Job not found'] });
  const flink: FlinkRest = {
    overview: async () => ({ taskManagers: 1, slotsTotal: 1, flinkVersion: '1.20.1', jobsRunning: 0 }),
    listJars: async () => [...jars],
    async uploadJar(_namespace, fileName, body) {
      for await (const _chunk of body) {
        // read it all, as Flink does
      }
      uploads.push(fileName);
      const jar = { id: `uuid_${fileName}`, name: fileName };
      jars.push(jar);
      return jar;
    },
    async runJar(_namespace, _id, request) {
      runs.push(request);
      return `${String(runs.length).padStart(32, '0')}`;
    },
    jobsOverview: async () => ({ jobs: [] }),
    job: async (_namespace, jobId) => {
      if (jobId !== JOB) throw notFound();
      return { jid: JOB, name: 'counter', state: 'RUNNING' };
    },
    jobCheckpoints: async () => ({}),
    jobExceptions: async () => ({}),
    jobRestarts: async () => 0,
    triggerSavepoint: async () => 'f'.repeat(32),
    stopWithSavepoint: async () => 'e'.repeat(32),
    savepointStatus: async () => {
      throw notFound();
    },
    cancelJob: async () => {
      throw notFound();
    },
  };
  return { flink, uploads, runs };
}

function service(state: ClusterState = 'RUNNING') {
  const objects = memoryObjectStore();
  const jobManager = fakeJobManager();
  const record = { tenant: TENANT, state, generation: 1, haEpoch: 2, previousHaClusterIds: ['acme-ha1'] };
  const deps = {
    platform,
    clock: { now: () => new Date('2026-01-01T00:00:00Z') },
    store: { getCluster: async () => ({ value: record as unknown as ClusterRecord, version: 1 }) },
    buckets: { bucketExists: async () => true, ensureBucket: async () => undefined },
    objects,
    flinkRest: jobManager.flink,
  } as unknown as ControlPlaneDeps;
  return { jobs: new JobService(new ClusterRecords(deps)), objects, jobManager };
}

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

describe('job service', () => {
  it('keeps a JAR under its digest and leaves no incoming object behind', async () => {
    const { jobs, objects } = service();
    const jar = await jobs.uploadJar(acme, TENANT, 'job.jar', bytes('jar bytes'));
    expect(objects.keys()).toEqual([`jars/${jar.jarId}.jar`]);
    expect(await jobs.listJars(acme, TENANT)).toEqual([jar]);
  });

  it('uploads a JAR to the JobManager once and runs it by the id Flink gave it the next time', async () => {
    const { jobs, jobManager } = service();
    const { jarId } = await jobs.uploadJar(acme, TENANT, 'job.jar', bytes('jar bytes'));
    await jobs.runJob(acme, TENANT, { jarId, entryClass: 'a.Job' });
    await jobs.runJob(acme, TENANT, { jarId, entryClass: 'a.Job', args: ['--x', '1'], parallelism: 2 });
    expect(jobManager.uploads).toEqual([`${jarId}-job.jar`]);
    expect(jobManager.runs[1]).toEqual({
      programArgsList: ['--x', '1'],
      allowNonRestoredState: false,
      entryClass: 'a.Job',
      parallelism: 2,
    });
  });

  it('resolves "latest" to the newest snapshot of jobs run with the same entry class, in every HA epoch', async () => {
    const { jobs, objects, jobManager } = service();
    const { jarId } = await jobs.uploadJar(acme, TENANT, 'job.jar', bytes('jar bytes'));
    const first = await jobs.runJob(acme, TENANT, { jarId, entryClass: 'a.Job' });
    const other = await jobs.runJob(acme, TENANT, { jarId, entryClass: 'b.Other' });
    await objects.put(BUCKET, `acme-ha1/checkpoints/${first.jobId}/chk-2/_metadata`, bytes('m'), {});
    await objects.put(BUCKET, `acme-ha2/checkpoints/${other.jobId}/chk-5/_metadata`, bytes('m'), {});
    await jobs.runJob(acme, TENANT, { jarId, entryClass: 'a.Job', restoreFrom: 'latest' });
    expect(jobManager.runs.at(-1)?.savepointPath).toBe(`s3://${BUCKET}/acme-ha1/checkpoints/${first.jobId}/chk-2`);
    await expect(
      jobs.runJob(acme, TENANT, { jarId, entryClass: 'c.None', restoreFrom: 'latest' }),
    ).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'restoreFrom' } });
  });

  it('answers jar_not_found for a run of a JAR the bucket does not hold', async () => {
    const { jobs } = service();
    await expect(jobs.runJob(acme, TENANT, { jarId: '0123456789abcdef' })).rejects.toMatchObject({
      code: 'jar_not_found',
    });
  });

  it('answers job_not_found for a job Flink does not know, and for an id that is not a job id', async () => {
    const { jobs } = service();
    await expect(jobs.getJob(acme, TENANT, 'b'.repeat(32))).rejects.toMatchObject({ code: 'job_not_found' });
    await expect(jobs.cancelJob(acme, TENANT, 'b'.repeat(32))).rejects.toMatchObject({ code: 'job_not_found' });
    await expect(jobs.getJob(acme, TENANT, '../overview')).rejects.toMatchObject({ code: 'job_not_found' });
    await expect(jobs.getJobOperation(acme, TENANT, `stop-${JOB}-${'e'.repeat(32)}`)).rejects.toMatchObject({
      code: 'job_operation_not_found',
    });
  });

  it.each(['DEPLOYING', 'DEGRADED', 'DESTROYED'] as const)('answers cluster_not_running while %s', async (state) => {
    const { jobs } = service(state);
    await expect(jobs.listJobs(acme, TENANT)).rejects.toMatchObject({
      code: 'cluster_not_running',
      details: { state },
    });
  });

  it("refuses another tenant's principal before touching anything", async () => {
    const { jobs } = service();
    const other: Principal = { kind: 'tenant', tenant: 'other', registered: true };
    await expect(jobs.listJars(other, TENANT)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(jobs.getJob(other, TENANT, JOB)).rejects.toMatchObject({ code: 'forbidden' });
  });
});
