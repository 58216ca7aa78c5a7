import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotView } from '../../functions/core/jobs/ledger-service.ts';
import type { Principal } from '../../functions/core/principal.ts';
import { prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import { type IngressPlane, startIngressPlane } from '../ingress/support/ingress-plane.ts';
import { compileTestJob, counterArgs, MINIMUM_SIZES, STATEFUL_COUNTER_CLASS } from './support/compile-test-job.ts';
import { eventually, waitForCluster } from './support/real-cluster.ts';

/**
 * The savepoint ledger against real Flink 1.20 at minimum sizes (the kubelet runtime runs each pod as a real process;
 * only the Kubernetes API is a stand-in): savepoints taken through the job service are listed with the verdict of the
 * snapshot inspector run on Flink 1.20's own classes, a deleted state file turns it, the newest restorable one cannot
 * be deleted, and retention deletes the older ones from the bucket.
 */
const VERSION = '1.20';
const TENANT = 'acme';
const BUCKET = `flinkplane-${TENANT}`;
const SPEC = {
  flinkVersion: VERSION,
  ...MINIMUM_SIZES,
  // Every state handle in a file of its own, not inline in `_metadata`, so a savepoint references files to check.
  flinkConfiguration: { 'state.storage.fs.memory-threshold': '0' },
};
const ARGS = counterArgs({ printEvery: 50 });

describe('the savepoint ledger on real Flink 1.20', () => {
  const acme: Principal = { kind: 'tenant', tenant: TENANT, registered: true };
  let plane: IngressPlane;
  let work: string;
  let token: string;
  let jobId: string;
  /** Savepoint paths, oldest first. */
  const savepoints: string[] = [];

  const ledger = () => plane.local.plane.savepoints;
  const listed = async () => (await ledger().list(acme, TENANT)) as SnapshotView[];
  const byPath = async (path: string) => (await listed()).find((entry) => entry.path === path);
  const keysUnder = async (prefix: string) => {
    const answer = await plane.local.s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (answer.Contents ?? []).map((object) => object.Key!);
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'flinkplane-ledger-'));
    const image = await prepareFlinkImage(VERSION);
    const jarPath = await compileTestJob(join(image.home, 'lib'), work);
    plane = await startIngressPlane({ pods: 'kubelet', platform: { podCidr: '10.248.0.0/24' } });
    token = await plane.registerTenant(TENANT);
    await plane.local.plane.deploy(acme, TENANT, SPEC);
    await waitForCluster(plane, TENANT, 'RUNNING', 150_000);
    const jobs = plane.local.plane.jobs;
    const jar = await jobs.uploadJar(acme, TENANT, 'stateful-counter.jar', createReadStream(jarPath));
    ({ jobId } = await jobs.runJob(acme, TENANT, {
      jarId: jar.jarId,
      entryClass: STATEFUL_COUNTER_CLASS,
      args: ARGS,
      parallelism: 1,
    }));
    await eventually('the job RUNNING', 120_000, async () =>
      (await jobs.getJob(acme, TENANT, jobId)).state === 'RUNNING' ? true : undefined,
    );
    // A savepoint triggered before every task runs fails ("not all required tasks are currently running"): the first
    // one is retried until the job's tasks are up.
    const savepoint = async () => {
      const started = await jobs.triggerSavepoint(acme, TENANT, jobId);
      return eventually('the savepoint to end', 120_000, async () => {
        const operation = await jobs.getJobOperation(acme, TENANT, started.operationId);
        return operation.status === 'IN_PROGRESS' ? undefined : operation;
      });
    };
    for (let taken = 0; taken < 3; taken++) {
      // Object times have a resolution of a second: one savepoint per second keeps them in order.
      if (taken > 0) await new Promise((resolve) => setTimeout(resolve, 1_100));
      const done = await eventually(`savepoint ${taken + 1}`, 120_000, async () => {
        const operation = await savepoint();
        return operation.status === 'SUCCEEDED' ? operation : undefined;
      });
      savepoints.push(done.savepointPath!);
    }
  }, 420_000);

  afterAll(async () => {
    await plane?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lists every savepoint of the job as restorable, read by Flink 1.20’s classes', async () => {
    const entries = await listed();
    const ours = entries.filter((entry) => entry.kind === 'savepoint');
    expect(ours.map((entry) => entry.path)).toEqual([...savepoints].reverse());
    for (const entry of ours) {
      expect(entry).toMatchObject({ jobId, jobName: expect.any(String), restorable: true, checkedWith: VERSION });
      expect(entry.bytes).toBeGreaterThan(0);
    }
  });

  it('answers restorable false, naming the file, once a file the savepoint references is deleted', async () => {
    const middle = savepoints[1]!;
    const dir = middle.slice(`s3://${BUCKET}/`.length);
    const stateFile = (await keysUnder(`${dir}/`)).find((key) => !key.endsWith('/_metadata'));
    expect(stateFile, `${middle} holds state files`).toBeDefined();
    await plane.local.s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: stateFile! }));
    const entry = await byPath(middle);
    expect(entry?.restorable).toBe(false);
    expect(entry?.reason).toContain(`s3://${BUCKET}/${stateFile}`);
    expect((await byPath(savepoints[2]!))?.restorable).toBe(true);
  });

  it('refuses to delete the newest restorable savepoint with 409 through the API', async () => {
    const newest = (await byPath(savepoints[2]!))!;
    const answer = await plane.api('DELETE', `/v1/tenants/${TENANT}/savepoints/${newest.id}`, { token });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'conflict', details: { id: newest.id, jobId } });
    expect((await keysUnder(newest.path.slice(`s3://${BUCKET}/`.length))).length).toBeGreaterThan(1);
  });

  it('deletes the older savepoints from the bucket under a retention of one per job, keeping the newest', async () => {
    const set = await plane.api('PUT', `/v1/tenants/${TENANT}/savepoints/retention`, { token, body: { maxCount: 1 } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ maxCount: 1, setting: { maxCount: 1 } });
    const { value } = (await plane.local.store.getCluster(TENANT))!;
    const swept = await ledger().sweep(value);
    const [oldest, middle, newest] = savepoints.map((path) => path.slice(`s3://${BUCKET}/`.length));
    expect([...swept.deleted].sort()).toEqual([oldest!.split('/').pop(), middle!.split('/').pop()].sort());
    expect(await keysUnder(`${oldest}/`)).toEqual([]);
    expect(await keysUnder(`${middle}/`)).toEqual([]);
    expect(await keysUnder(`${newest}/_metadata`)).toHaveLength(1);
    const after = await plane.api('GET', `/v1/tenants/${TENANT}/savepoints`, { token });
    expect(after.status).toBe(200);
    expect(after.body.items.map((entry: SnapshotView) => entry.path)).toEqual([savepoints[2]]);
  });
}, 600_000);
