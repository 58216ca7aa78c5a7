import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveMavenSet } from '../../local/maven/resolve.ts';
import { freePort } from '../../local/net.ts';
import { S3RVER_CREDENTIALS, type S3Server, startS3 } from '../../local/s3-server.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../../local/zookeeper-server.ts';
import {
  type CounterLine,
  compileTestJob,
  isConsistent,
  parseCounterLines,
} from '../flink/support/compile-test-job.ts';
import { flinkTestRuntime } from '../flink/support/flink-artifacts.ts';
import { type FlinkProcess, type FlinkRole, startFlinkProcess } from '../flink/support/flink-processes.ts';
import { createFlinkRest, type FlinkRest, waitFor } from '../flink/support/flink-rest.ts';

/**
 * Real Flink 1.20 (JobManager and TaskManager JVMs from Maven Central's jars) checkpoints a stateful job through the
 * flink-s3-fs-hadoop plugin (Hadoop S3A) into a bucket of the local S3 server, with ZooKeeper HA whose storageDir is
 * in the same bucket; then both processes are replaced and the job comes back from its last checkpoint.
 */

const FLINK_VERSION = process.env.S3_FLINK_VERSION ?? '1.20.1';
const BUCKET = 'tenant-checkpoints';
const KEYS = 4;
const PRINT_EVERY = 10;

let work: string;
let s3: S3Server;
let zookeeper: ZooKeeperServer;
let jarPath: string;
let libDir: string;
const processes: FlinkProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'flinkplane-s3-flink-'));
  const [runtime, s3Server, zk] = await Promise.all([
    resolveMavenSet(flinkTestRuntime(FLINK_VERSION)),
    startS3({ directory: join(work, 's3') }),
    startZooKeeperServer(),
  ]);
  libDir = runtime.dir;
  s3 = s3Server;
  zookeeper = zk;
  await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  jarPath = await compileTestJob(libDir, join(work, 'job'));
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop('SIGKILL')));
  await zookeeper?.stop();
  await s3?.stop();
  if (work && !process.env.KEEP_S3_FLINK_WORK) await rm(work, { recursive: true, force: true });
});

/** The configuration every process of one cluster shares: what the platform would render into the ConfigMap. */
async function clusterConfig(clusterId: string): Promise<Record<string, string>> {
  return {
    'jobmanager.rpc.address': '127.0.0.1',
    'jobmanager.bind-host': '127.0.0.1',
    'taskmanager.host': '127.0.0.1',
    'taskmanager.bind-host': '127.0.0.1',
    'rest.address': '127.0.0.1',
    'rest.bind-address': '127.0.0.1',
    'rest.port': String(await freePort()),
    'jobmanager.memory.process.size': '1024m',
    'taskmanager.memory.process.size': '1024m',
    'taskmanager.numberOfTaskSlots': '2',
    'high-availability.type': 'zookeeper',
    'high-availability.zookeeper.quorum': zookeeper.connectString,
    'high-availability.zookeeper.path.root': `/flinkplane-test-${clusterId}`,
    'high-availability.zookeeper.client.ensemble-tracker': 'false',
    'high-availability.cluster-id': clusterId,
    'high-availability.storageDir': `s3://${BUCKET}/${clusterId}/ha`,
    'state.backend.type': 'hashmap',
    'execution.checkpointing.dir': `s3://${BUCKET}/${clusterId}/checkpoints`,
    'execution.checkpointing.interval': '2s',
    // The local server: no credentials in the file (they come from the environment), path-style bucket addressing.
    's3.endpoint': s3.endpoint,
    's3.path.style.access': 'true',
  };
}

/** The credentials as environment variables, which S3A's default provider chain reads: no secret in the config. */
const S3_ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
};

/** Starts one JobManager and one TaskManager (generation `generation`) and waits until the TaskManager registered. */
async function startCluster(config: Record<string, string>, generation: number) {
  const start = (role: FlinkRole) =>
    startFlinkProcess({ role, libDir, workDir: join(work, `${role}-${generation}`), config, env: S3_ENV });
  const [jobManager, taskManager] = await Promise.all([start('jobmanager'), start('taskmanager')]);
  processes.push(jobManager, taskManager);
  const rest = createFlinkRest(`http://127.0.0.1:${config['rest.port']}`);
  await waitFor('a TaskManager registered with the JobManager', 90_000, async () =>
    (await rest.taskManagers()) >= 1 ? true : undefined,
  );
  return { jobManager, taskManager, rest };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

async function counterLines(taskManager: FlinkProcess): Promise<CounterLine[]> {
  return parseCounterLines(await taskManager.output());
}

async function runningJob(rest: FlinkRest, jobId: string): Promise<true | undefined> {
  return (await rest.job(jobId)).state === 'RUNNING' ? true : undefined;
}

describe('Flink checkpoints in the local S3 through the S3A plugin (real JVMs, s3rver, ZooKeeper HA)', () => {
  it('checkpoints a stateful job into the bucket and resumes it from there after both processes are replaced', async () => {
    const clusterId = `s3flink-${randomBytes(3).toString('hex')}`;
    const config = await clusterConfig(clusterId);
    const first = await startCluster(config, 1);

    const jarId = await first.rest.uploadJar(jarPath);
    const jobId = await first.rest.runJar(jarId, {
      programArgs: ['--records-per-second', '20', '--keys', String(KEYS), '--print-every', String(PRINT_EVERY)],
      parallelism: 1,
    });
    const checkpointDir = `s3://${BUCKET}/${clusterId}/checkpoints/${jobId}/chk-`;
    // Enough checkpoints and counts that a restore from zero could not pass for a resumed one.
    const completed = await waitFor('three checkpoints and counts of 3 × print-every', 90_000, async () => {
      const statistics = await first.rest.checkpoints(jobId);
      const lines = await counterLines(first.taskManager);
      const highest = Math.max(0, ...lines.map((line) => line.count));
      return statistics.counts.completed >= 3 && highest >= 3 * PRINT_EVERY ? statistics : undefined;
    });
    expect(completed.latest.completed?.external_path.startsWith(checkpointDir)).toBe(true);
    const checkpointKeys = await keysUnder(`${clusterId}/checkpoints/${jobId}/`);
    expect(checkpointKeys.some((key) => /\/chk-\d+\/_metadata$/.test(key))).toBe(true);
    const haKeys = await keysUnder(`${clusterId}/ha/`);
    // The job's graph (1.x: submittedJobGraph…; 2.x: submittedExecutionPlan…), which the next leader recovers.
    const jobStore = haKeys.filter((key) => /\/submitted(JobGraph|ExecutionPlan)/.test(key));
    expect(jobStore).not.toEqual([]);
    expect(haKeys.some((key) => key.includes('/completedCheckpoint'))).toBe(true);

    // SIGTERM, not DELETE /cluster: the shutdown hook leaves the HA data (job graph, checkpoint pointers) in place.
    await Promise.all([first.jobManager.stop('SIGTERM'), first.taskManager.stop('SIGTERM')]);
    const before = await counterLines(first.taskManager);
    expect(await keysUnder(`${clusterId}/ha/`)).toEqual(expect.arrayContaining(jobStore));
    const highestBefore = Math.max(...before.map((line) => line.count));
    expect(before.every((line) => isConsistent(line, KEYS))).toBe(true);

    const second = await startCluster(config, 2);
    await waitFor(`job ${jobId} RUNNING again`, 90_000, () => runningJob(second.rest, jobId));
    const restored = await waitFor('the restored checkpoint', 30_000, async () => {
      const statistics = await second.rest.checkpoints(jobId);
      return statistics.latest.restored ?? undefined;
    });
    expect(restored.external_path.startsWith(checkpointDir)).toBe(true);
    expect(restored.id).toBeGreaterThanOrEqual(completed.latest.completed?.id ?? Number.POSITIVE_INFINITY);

    const after = await waitFor('counts above those before the restart', 60_000, async () => {
      const lines = await counterLines(second.taskManager);
      return lines.some((line) => line.count > highestBefore) ? lines : undefined;
    });
    // Resumed, not restarted: the first count printed is past the first print, and every line agrees with the source's
    // position, so the counters and the sequence came back from the same checkpoint.
    expect(after[0]?.count).toBeGreaterThan(PRINT_EVERY);
    expect(after.filter((line) => !isConsistent(line, KEYS))).toEqual([]);
  }, 240_000);
});
