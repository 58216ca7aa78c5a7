import { describe, expect, it } from 'vitest';
import { ClusterRecords, type ControlPlaneDeps } from '../../../functions/core/cluster-records.ts';
import { ControlPlane } from '../../../functions/core/control-plane.ts';
import { judgeRestorable } from '../../../functions/core/jobs/ledger.ts';
import type { SnapshotInspector, SnapshotMetadata } from '../../../functions/core/jobs/ledger-ports.ts';
import { RETENTION_KEY, SavepointLedger, SWEEP_INTERVAL_MS } from '../../../functions/core/jobs/ledger-service.ts';
import { COMPONENT_NAMES } from '../../../functions/core/naming.ts';
import { parsePlatformSettings } from '../../../functions/core/platform.ts';
import type { ClusterRecord, FlinkRest } from '../../../functions/core/ports.ts';
import type { Principal } from '../../../functions/core/principal.ts';
import { createRouter } from '../../../functions/http/router.ts';
import { memoryObjectStore } from './memory-object-store.ts';

// The savepoint ledger over test doubles of its ports: an in-memory bucket whose objects carry the time they were
// written, an inspector that reads a JSON stand-in for `_metadata` (the list of files it references) and heads each
// file in that bucket, as the real tool does with the release's classes, and a JobManager that lists its jobs. The real
// S3, Flink and inspector paths are covered by test/flink/ledger.test.ts.

const TENANT = 'acme';
const BUCKET = 'flinkplane-acme';
const acme: Principal = { kind: 'tenant', tenant: TENANT, registered: true };
const stranger: Principal = { kind: 'tenant', tenant: 'other', registered: true };
const JOB_A = `abcdef${'0'.repeat(26)}`;
const JOB_B = `123456${'1'.repeat(26)}`;
const NOW = new Date('2026-03-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

/** Reads the stand-in `_metadata` and heads every file it names; counts its runs (each a JVM in the real one). */
function fakeInspector(bucket: ReturnType<typeof memoryObjectStore>) {
  const calls: { path: string; flinkVersion: string }[] = [];
  const inspector: SnapshotInspector = {
    async check(snapshot) {
      calls.push(snapshot);
      const key = (uri: string) => uri.slice(`s3://${BUCKET}/`.length);
      const found = await bucket.get(BUCKET, key(`${snapshot.path}/_metadata`));
      if (!found) return { restorable: false, reason: `missing ${snapshot.path}/_metadata` };
      const chunks: Uint8Array[] = [];
      for await (const chunk of found.body) chunks.push(chunk);
      const names = JSON.parse(Buffer.concat(chunks).toString()) as string[];
      const metadata: SnapshotMetadata = {
        flinkVersion: '1.20.1',
        checkpointId: 1,
        operators: [],
        files: names.map((name) =>
          name.includes('://')
            ? { path: name, bytes: 1, relative: false }
            : { path: `${snapshot.path}/${name}`, bytes: 1, relative: true },
        ),
        stateBytes: names.length,
        fileBytes: names.length,
        inlineBytes: 0,
        unknownHandles: [],
      };
      const sizes = new Map<string, number>();
      for (const file of metadata.files) {
        if (!file.path.startsWith(`s3://${BUCKET}/`)) continue;
        const head = await bucket.head(BUCKET, key(file.path));
        if (head) sizes.set(file.path, head.bytes);
      }
      return { ...judgeRestorable(metadata, sizes), metadata };
    },
  };
  return { inspector, calls };
}

/** A complete snapshot: its state files, then `_metadata` naming them. */
function snapshot(bucket: ReturnType<typeof memoryObjectStore>, dir: string, at: string, files = ['state-0']) {
  for (const file of files) bucket.write(`${dir}/${file}`, 'state', at);
  bucket.write(`${dir}/_metadata`, JSON.stringify(files), at);
}

function runRecord(bucket: ReturnType<typeof memoryObjectStore>, jobId: string, entryClass: string, at: string) {
  const record = { jobId, jarId: 'j', jarName: 'counter.jar', entryClass, args: [], submittedAt: at };
  bucket.write(`jobs/${jobId}.json`, JSON.stringify(record), at);
}

const CLUSTER: ClusterRecord = {
  tenant: TENANT,
  state: 'RUNNING',
  generation: 3,
  spec: { flinkVersion: '1.20' } as ClusterRecord['spec'],
  haEpoch: 2,
  previousHaClusterIds: ['acme-ha1'],
  createdAt: ago(90),
  updatedAt: ago(1),
};

function setup(
  options: {
    inspector?: boolean;
    running?: string[];
    overviewFails?: boolean;
    degraded?: boolean;
    platform?: Parameters<typeof parsePlatformSettings>[0];
  } = {},
) {
  const bucket = memoryObjectStore(() => NOW.toISOString());
  const { inspector, calls } = fakeInspector(bucket);
  let now = NOW;
  const flinkRest = {
    jobsOverview: async () => {
      if (options.overviewFails) throw new Error('connection refused');
      return {
        jobs: (options.running ?? []).map((jid) => ({ jid, name: `job ${jid.slice(0, 6)}`, state: 'RUNNING' })),
      };
    },
    overview: async () => ({ taskManagers: 1, slotsTotal: 1, flinkVersion: '1.20.1', jobsRunning: 0 }),
  } as unknown as FlinkRest;
  const deployment = (name: string, ready: number) => ({
    name,
    generation: 1,
    observedGeneration: 1,
    desired: 1,
    replicas: 1,
    updated: 1,
    ready,
    conditions: [],
  });
  const deps = {
    platform: parsePlatformSettings(options.platform ?? {}),
    clock: { now: () => now },
    store: {
      getCluster: async (tenant: string) => (tenant === TENANT ? { value: CLUSTER, version: 1 } : undefined),
      listClusters: async () => ({ items: [{ value: CLUSTER, version: 1 }] }),
      putCluster: async (_record: ClusterRecord, version: number) => version + 1,
      getTenant: async (name: string) => (name === TENANT ? { name } : undefined),
    },
    buckets: { bucketExists: async (name: string) => name === BUCKET, ensureBucket: async () => undefined },
    objects: bucket,
    flinkRest,
    // The Kubernetes facts of a rolled-out cluster, or of one whose TaskManager is not ready (DEGRADED).
    kubernetes: {
      observe: async () => ({
        deployments: [
          deployment(COMPONENT_NAMES.jobManager, 1),
          deployment(COMPONENT_NAMES.taskManager, options.degraded ? 0 : 1),
        ],
        pods: [],
      }),
    },
    ...(options.inspector === false ? {} : { snapshotInspector: inspector }),
  } as unknown as ControlPlaneDeps;
  const ledger = new SavepointLedger(new ClusterRecords(deps));
  return { ledger, bucket, calls, deps, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

/** Two savepoints and a checkpoint of job A (the older savepoint in the first HA epoch's time), one of job B. */
function seeded(options: Parameters<typeof setup>[0] = {}) {
  const parts = setup(options);
  const { bucket } = parts;
  runRecord(bucket, JOB_A, 'com.example.Counter', ago(20));
  runRecord(bucket, JOB_B, 'com.example.Other', ago(20));
  snapshot(bucket, 'savepoints/savepoint-abcdef-000000000001', ago(10));
  snapshot(bucket, 'savepoints/savepoint-abcdef-000000000002', ago(2), ['state-0', 'state-1']);
  snapshot(bucket, `acme-ha1/checkpoints/${JOB_A}/chk-7`, ago(5));
  snapshot(bucket, `acme-ha2/checkpoints/${JOB_B}/chk-3`, ago(1));
  // Not snapshots: a checkpoint still being written (no `_metadata`), a JAR, HA state.
  bucket.write(`acme-ha2/checkpoints/${JOB_B}/chk-4/state-0`, 'state', ago(0));
  bucket.write('jars/0123456789abcdef.jar', 'jar', ago(30));
  bucket.write('acme-ha2/ha/job-graph', 'graph', ago(1));
  return parts;
}

describe('the savepoint ledger', () => {
  it('lists the savepoints and every HA epoch’s retained checkpoints, newest first, with job, size and path', async () => {
    const { ledger } = seeded();
    const items = await ledger.list(acme, TENANT);
    expect(items.map((item) => item.id)).toEqual([
      `checkpoint-acme-ha2-${JOB_B}-3`,
      'savepoint-abcdef-000000000002',
      `checkpoint-acme-ha1-${JOB_A}-7`,
      'savepoint-abcdef-000000000001',
    ]);
    expect(items[1]).toEqual({
      id: 'savepoint-abcdef-000000000002',
      kind: 'savepoint',
      jobId: JOB_A,
      jobName: 'com.example.Counter',
      takenAt: ago(2),
      bytes: 'state'.length * 2 + JSON.stringify(['state-0', 'state-1']).length,
      path: `s3://${BUCKET}/savepoints/savepoint-abcdef-000000000002`,
      restorable: true,
      checkedWith: '1.20',
    });
    expect(items[2]).toMatchObject({
      kind: 'checkpoint',
      jobId: JOB_A,
      path: `s3://${BUCKET}/acme-ha1/checkpoints/${JOB_A}/chk-7`,
    });
  });

  it('names a running job by the name its JobManager reports', async () => {
    const { ledger } = seeded({ running: [JOB_A] });
    const items = await ledger.list(acme, TENANT);
    expect(items.find((item) => item.jobId === JOB_A)?.jobName).toBe('job abcdef');
    expect(items.find((item) => item.jobId === JOB_B)?.jobName).toBe('com.example.Other');
  });

  it('turns restorable false, naming the file, once a referenced file is deleted, without reading _metadata again', async () => {
    const { ledger, bucket, calls } = seeded();
    await ledger.list(acme, TENANT);
    const reads = calls.length;
    await bucket.delete(BUCKET, 'savepoints/savepoint-abcdef-000000000002/state-1');
    const item = (await ledger.list(acme, TENANT)).find((found) => found.id === 'savepoint-abcdef-000000000002');
    expect(item).toMatchObject({
      restorable: false,
      reason: `missing s3://${BUCKET}/savepoints/savepoint-abcdef-000000000002/state-1`,
      missing: [`s3://${BUCKET}/savepoints/savepoint-abcdef-000000000002/state-1`],
    });
    expect(calls.length).toBe(reads);
  });

  it('reads a snapshot again when its _metadata is rewritten', async () => {
    const { ledger, bucket, calls } = seeded();
    await ledger.list(acme, TENANT);
    bucket.write('savepoints/savepoint-abcdef-000000000001/_metadata', JSON.stringify(['gone']), ago(0));
    const item = (await ledger.list(acme, TENANT)).find((found) => found.id === 'savepoint-abcdef-000000000001');
    expect(item?.restorable).toBe(false);
    expect(calls.filter((call) => call.path.endsWith('savepoint-abcdef-000000000001'))).toHaveLength(2);
  });

  it("answers restorable false for a snapshot that references another bucket, which the tenant's pods cannot read", async () => {
    const { ledger, bucket } = seeded();
    snapshot(bucket, 'savepoints/savepoint-abcdef-000000000003', ago(0), ['state-0', 's3://flinkplane-other/x']);
    const item = (await ledger.list(acme, TENANT)).find((found) => found.id === 'savepoint-abcdef-000000000003');
    expect(item).toMatchObject({
      restorable: false,
      reason: 'references a file outside the tenant bucket: s3://flinkplane-other/x',
    });
  });

  it('answers restorable null with the reason when the plane has no inspector', async () => {
    const { ledger } = seeded({ inspector: false });
    const [item] = await ledger.list(acme, TENANT);
    expect(item).toMatchObject({
      restorable: null,
      reason: 'not checked: this control plane has no snapshot inspector',
    });
  });

  it('leaves a snapshot the inspector fails on unchecked, and still answers the others', async () => {
    const parts = seeded();
    const { snapshotInspector } = parts.deps as { snapshotInspector: SnapshotInspector };
    const real = snapshotInspector.check.bind(snapshotInspector);
    snapshotInspector.check = async (snapshot) => {
      if (snapshot.path.endsWith('000000000001')) throw new Error('java: not found');
      return real(snapshot);
    };
    const items = await parts.ledger.list(acme, TENANT);
    expect(items.find((item) => item.id === 'savepoint-abcdef-000000000001')).toMatchObject({
      restorable: null,
      reason: 'not checked: the snapshot inspector failed on it; the next listing tries again',
    });
    expect(items.filter((item) => item.restorable === true)).toHaveLength(3);
  });

  it('refuses another tenant', async () => {
    const { ledger } = seeded();
    await expect(ledger.list(stranger, TENANT)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(ledger.delete(stranger, TENANT, 'savepoint-abcdef-000000000001')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(ledger.setRetention(stranger, TENANT, { maxCount: 1 })).rejects.toMatchObject({ code: 'forbidden' });
  });
});

describe('deleting a snapshot', () => {
  it('refuses the newest restorable snapshot of a job with conflict', async () => {
    const { ledger, bucket } = seeded();
    await expect(ledger.delete(acme, TENANT, 'savepoint-abcdef-000000000002')).rejects.toMatchObject({
      code: 'conflict',
      details: { jobId: JOB_A },
    });
    expect(bucket.keys('savepoints/savepoint-abcdef-000000000002/')).toHaveLength(3);
  });

  it('deletes every object of an older one', async () => {
    const { ledger, bucket } = seeded();
    await ledger.delete(acme, TENANT, 'savepoint-abcdef-000000000001');
    expect(bucket.keys('savepoints/savepoint-abcdef-000000000001/')).toEqual([]);
    expect((await ledger.list(acme, TENANT)).map((item) => item.id)).not.toContain('savepoint-abcdef-000000000001');
  });

  it('refuses an unchecked snapshot that may be the newest restorable one', async () => {
    const { ledger } = seeded({ inspector: false });
    await expect(ledger.delete(acme, TENANT, 'savepoint-abcdef-000000000001')).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('answers not_found for an id the ledger lacks', async () => {
    const { ledger } = seeded();
    await expect(ledger.delete(acme, TENANT, 'savepoint-ffffff-000000000009')).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

describe('the retention setting', () => {
  it('answers the platform default until the tenant sets one', async () => {
    const { ledger } = setup({ platform: { snapshotRetention: { default: { maxCount: 4, maxAgeDays: 9 } } } });
    expect(await ledger.retention(acme, TENANT)).toEqual({
      maxCount: 4,
      maxAgeDays: 9,
      setting: {},
      platformDefault: { maxCount: 4, maxAgeDays: 9 },
      platformMaximum: { maxCount: 100, maxAgeDays: 365 },
    });
  });

  it('keeps the setting in the tenant bucket; a field left out takes the default', async () => {
    const { ledger, bucket } = setup();
    const view = await ledger.setRetention(acme, TENANT, { maxCount: 2 });
    expect(view).toMatchObject({ maxCount: 2, maxAgeDays: 30, setting: { maxCount: 2 } });
    expect(bucket.keys('settings/')).toEqual([RETENTION_KEY]);
    expect(await ledger.retention(acme, TENANT)).toMatchObject({ maxCount: 2, maxAgeDays: 30 });
  });

  it('refuses values below 1 or above the platform maximum, naming every field', async () => {
    const { ledger } = setup();
    const refused = ledger.setRetention(acme, TENANT, { maxCount: 0, maxAgeDays: 400 });
    await expect(refused).rejects.toMatchObject({
      code: 'invalid_request',
      details: {
        issues: [
          expect.objectContaining({ path: 'snapshotRetention.maxCount', code: 'below_minimum' }),
          expect.objectContaining({ path: 'snapshotRetention.maxAgeDays', code: 'above_maximum', limit: 365 }),
        ],
      },
    });
  });

  it('refuses unknown fields and non-numbers', async () => {
    const { ledger } = setup();
    await expect(ledger.setRetention(acme, TENANT, { keep: 3 })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(ledger.setRetention(acme, TENANT, { maxCount: '3' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('holds a stored setting to a lower platform maximum', async () => {
    const { ledger, bucket } = setup({
      platform: {
        snapshotRetention: { default: { maxCount: 3, maxAgeDays: 30 }, maximum: { maxCount: 5, maxAgeDays: 60 } },
      },
    });
    bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 50, maxAgeDays: 20 }), ago(1));
    expect(await ledger.retention(acme, TENANT)).toMatchObject({ maxCount: 5, maxAgeDays: 20 });
  });
});

describe('the retention sweep', () => {
  it("deletes what retention plans to, never a job's newest restorable snapshot", async () => {
    const { ledger, bucket } = seeded();
    bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 1 }), ago(1));
    const result = await ledger.sweep(CLUSTER);
    expect([...result.deleted].sort()).toEqual([`checkpoint-acme-ha1-${JOB_A}-7`, 'savepoint-abcdef-000000000001']);
    expect(bucket.keys('savepoints/')).toHaveLength(3);
    expect(bucket.keys(`acme-ha2/checkpoints/${JOB_B}/chk-3/`)).toHaveLength(2);
  });

  it('leaves the checkpoints of a running job to Flink', async () => {
    const { ledger, bucket } = seeded({ running: [JOB_A] });
    bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 1 }), ago(1));
    const result = await ledger.sweep(CLUSTER);
    expect(result.deleted).toEqual(['savepoint-abcdef-000000000001']);
    expect(bucket.keys(`acme-ha1/checkpoints/${JOB_A}/chk-7/`)).toHaveLength(2);
  });

  it('deletes nothing when the JobManager cannot say which jobs run', async () => {
    const { ledger, bucket } = seeded({ overviewFails: true });
    bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 1 }), ago(1));
    expect((await ledger.sweep(CLUSTER)).deleted).toEqual([]);
    expect(bucket.keys('savepoints/')).toHaveLength(5);
  });

  it('runs when the reconciler finds the cluster RUNNING, and not while it is DEGRADED', async () => {
    const running = seeded();
    running.bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 1 }), ago(1));
    await new ControlPlane(running.deps).reconcile();
    expect(running.bucket.keys('savepoints/savepoint-abcdef-000000000001/')).toEqual([]);
    const degraded = seeded({ degraded: true });
    degraded.bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 1 }), ago(1));
    await new ControlPlane(degraded.deps).reconcile();
    expect(degraded.bucket.keys('savepoints/savepoint-abcdef-000000000001/')).toHaveLength(2);
  });

  it('runs from the reconciler hook at most once per interval per tenant', async () => {
    const { ledger, bucket, advance } = seeded();
    bucket.write(RETENTION_KEY, JSON.stringify({ maxCount: 1 }), ago(1));
    expect(await ledger.sweepIfDue(CLUSTER)).toBeDefined();
    expect(await ledger.sweepIfDue(CLUSTER)).toBeUndefined();
    advance(SWEEP_INTERVAL_MS);
    expect(await ledger.sweepIfDue(CLUSTER)).toBeDefined();
  });
});

describe('the ledger routes', () => {
  function router(parts: ReturnType<typeof seeded>) {
    const plane = new ControlPlane(parts.deps);
    return createRouter({
      controlPlane: plane,
      authenticate: async (request) => (request.headers.authorization === 'Bearer other' ? stranger : acme),
      log: () => undefined,
    });
  }
  const request = (method: string, path: string, body?: unknown, token = 'acme') => ({
    method,
    path,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    query: {},
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  it('lists, refuses the newest restorable with 409 in the error shape, and deletes with 204', async () => {
    const handle = router(seeded());
    const listed = await handle(request('GET', '/v1/tenants/acme/savepoints'));
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body).items).toHaveLength(4);
    const refused = await handle(request('DELETE', '/v1/tenants/acme/savepoints/savepoint-abcdef-000000000002'));
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'conflict', details: { jobId: JOB_A } });
    const deleted = await handle(request('DELETE', '/v1/tenants/acme/savepoints/savepoint-abcdef-000000000001'));
    expect(deleted.status).toBe(204);
  });

  it('reads and replaces the retention setting; another tenant gets 403', async () => {
    const handle = router(seeded());
    const put = await handle(request('PUT', '/v1/tenants/acme/savepoints/retention', { maxAgeDays: 3 }));
    expect(put.status).toBe(200);
    const got = await handle(request('GET', '/v1/tenants/acme/savepoints/retention'));
    expect(JSON.parse(got.body)).toMatchObject({ maxAgeDays: 3, setting: { maxAgeDays: 3 } });
    const other = await handle(request('PUT', '/v1/tenants/acme/savepoints/retention', { maxAgeDays: 3 }, 'other'));
    expect(other.status).toBe(403);
  });

  it('takes retention as the literal path, not as the snapshot id "retention"', async () => {
    const handle = router(seeded());
    const answer = await handle(request('DELETE', '/v1/tenants/acme/savepoints/retention'));
    expect(answer.status).toBe(405);
    expect(answer.headers.allow?.split(', ').sort()).toEqual(['GET', 'PUT']);
  });
});
