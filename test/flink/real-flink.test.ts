import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFlinkVersion } from '../../functions/core/catalog.ts';
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
import { eventually, podLog, podProcesses, pods, vhostFlink, waitForCluster } from './support/real-cluster.ts';

/**
 * Real Flink behind every cluster: the local plane with the kubelet runtime runs each pod as a real process (Flink
 * from Maven Central, the ZooKeeper proxy's bundle) in a network namespace of its own; only the Kubernetes API is a
 * stand-in. Minimum sizes: a 1024 MB JobManager and one 1024 MB TaskManager.
 */
const MINIMUM = MINIMUM_SIZES;
const KEYS = 4;
const JOB_ARGS = counterArgs({ keys: KEYS, checkpointIntervalMs: 2000 });

type Job = { jid: string; state: string };
type Checkpoints = {
  counts: { completed: number };
  latest: { completed: { id: number; external_path: string } | null; restored: { external_path: string } | null };
};

const SUITES = [
  { version: '1.20', cidr: '10.251.0.0/24', faults: true },
  { version: '2.2', cidr: '10.252.0.0/24', faults: false },
] as const;

describe.each(SUITES)(
  'real Flink $version on the local plane',
  ({ version, cidr, faults }) => {
    const release = findFlinkVersion(version)!.release;
    const tenant = 'acme';
    let plane: IngressPlane;
    let token: string;
    let flink: ReturnType<typeof vhostFlink>;
    let jarPath: string;
    let jarId: string;
    let jobId: string;
    let work: string;
    let haClusterId: string;
    const before: CounterLine[] = [];

    const running = () =>
      eventually('the job RUNNING', 240_000, async () => {
        const job = await flink.get<Job>(`/jobs/${jobId}`);
        return job?.state === 'RUNNING' ? job : undefined;
      });
    const completedCheckpoints = (atLeast: number, timeoutMs = 90_000) =>
      eventually(`${atLeast} completed checkpoints`, timeoutMs, async () => {
        const stats = await flink.get<Checkpoints>(`/jobs/${jobId}/checkpoints`);
        return stats && stats.counts.completed >= atLeast ? stats : undefined;
      });
    /** Waits for `count` more checkpoints than the job has completed now. */
    const moreCheckpoints = async (count: number) =>
      completedCheckpoints((await completedCheckpoints(0)).counts.completed + count, 240_000);
    const taskManagerLines = async () => {
      const [taskManager] = pods(plane, tenant, 'taskmanager');
      return taskManager ? parseCounterLines(await podLog(plane, taskManager, 'taskmanager')) : [];
    };

    // A data dir of its own and fixed secrets, so the plane can be stopped and started again as `npm start` is.
    const secrets = {
      adminToken: `operator-${randomBytes(16).toString('hex')}`,
      platformKey: randomBytes(32).toString('hex'),
    };
    const startPlane = () =>
      startIngressPlane({ ...secrets, dataDir: join(work, 'data'), pods: 'kubelet', platform: { podCidr: cidr } });

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), `flinkplane-real-${version}-`));
      const image = await prepareFlinkImage(version);
      jarPath = await compileTestJob(join(image.home, 'lib'), work);
      plane = await startPlane();
      token = await plane.registerTenant(tenant);
      flink = vhostFlink(plane, tenant, token);
    });

    afterAll(async () => {
      await plane?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it('deploys at minimum sizes and is RUNNING once every TaskManager registered; the vhost serves the release', async () => {
      const put = await plane.api('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
        token,
        body: { flinkVersion: version, ...MINIMUM },
      });
      expect(put.status).toBe(202);
      const view = await waitForCluster(plane, tenant, 'RUNNING', 150_000);
      expect(view.observed).toMatchObject({ taskManagersRegistered: 1, flinkVersion: release });
      haClusterId = view.haClusterId;
      const overview = await flink.get<{ taskmanagers: number; 'flink-version': string }>('/overview');
      expect(overview).toMatchObject({ taskmanagers: 1, 'flink-version': release });
    });

    it('runs a stateful job uploaded through the vhost, with its checkpoints in the tenant bucket', async () => {
      jarId = await flink.uploadJar(jarPath);
      const started = await flink.call('POST', `/jars/${encodeURIComponent(jarId)}/run`, {
        entryClass: STATEFUL_COUNTER_CLASS,
        programArgsList: JOB_ARGS,
      });
      expect(started.status).toBe(200);
      jobId = started.json().jobid;
      await running();
      const stats = await completedCheckpoints(2);
      expect(stats.latest.completed?.external_path).toMatch(new RegExp(`^s3://flinkplane-${tenant}/${haClusterId}/`));
      const listed = await plane.local.s3.client.send(
        new ListObjectsV2Command({ Bucket: `flinkplane-${tenant}`, Prefix: `${haClusterId}/checkpoints/` }),
      );
      expect((listed.Contents ?? []).some((object) => object.Key?.endsWith('/_metadata'))).toBe(true);
      const lines = await eventually('counter lines in the TaskManager log', 60_000, async () => {
        const found = await taskManagerLines();
        return found.length > 0 ? found : undefined;
      });
      expect(lines.every((line) => isConsistent(line, KEYS))).toBe(true);
    });

    if (faults) {
      it('recovers the job after the JobManager is killed with SIGKILL: the Deployment restarts it', async () => {
        const [jobManager] = pods(plane, tenant, 'jobmanager');
        const pids = await podProcesses(plane, jobManager!, /StandaloneSessionClusterEntrypoint/);
        expect(pids.length).toBe(1);
        const completedBefore = (await completedCheckpoints(1)).counts.completed;
        process.kill(pids[0]!, 'SIGKILL');
        await eventually('the JobManager restarted', 120_000, async () => {
          const [pod] = pods(plane, tenant, 'jobmanager');
          const status = pod?.status as { containerStatuses?: { restartCount: number }[] } | undefined;
          return (status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? true : undefined;
        });
        await running();
        const after = await completedCheckpoints(1, 240_000);
        expect(after.latest.restored).not.toBeNull();
        expect(completedBefore).toBeGreaterThan(0);
      });

      it('keeps checkpointing when the ZooKeeper proxy is killed: Flink reconnects', async () => {
        const [proxy] = pods(plane, tenant, 'zookeeper-proxy');
        const pids = await podProcesses(plane, proxy!, /zk-proxy\.mjs/);
        expect(pids.length).toBe(1);
        const before = (await completedCheckpoints(1)).counts.completed;
        process.kill(pids[0]!, 'SIGKILL');
        const after = await completedCheckpoints(before + 3, 240_000);
        expect(after.counts.completed).toBeGreaterThanOrEqual(before + 3);
        expect((await flink.get<Job>(`/jobs/${jobId}`))?.state).toBe('RUNNING');
      });

      it('restarts the job by the fixed-delay strategy when the TaskManager is killed', async () => {
        const [taskManager] = pods(plane, tenant, 'taskmanager');
        const pids = await podProcesses(plane, taskManager!, /TaskManagerRunner/);
        expect(pids.length).toBe(1);
        process.kill(pids[0]!, 'SIGKILL');
        await eventually('the job restarting', 120_000, async () => {
          const job = await flink.get<Job>(`/jobs/${jobId}`);
          return job && job.state !== 'RUNNING' ? job : undefined;
        });
        await running();
        await moreCheckpoints(1);
        const exceptions = await flink.get<{ exceptionHistory?: { entries: unknown[] } }>(`/jobs/${jobId}/exceptions`);
        expect(exceptions?.exceptionHistory?.entries.length).toBeGreaterThan(0);
      });
    }

    if (!faults) {
      it('fails a version Maven Central does not serve here, naming what it lacks', async () => {
        const other = await plane.registerTenant('legacy');
        const put = await plane.api('PUT', '/v1/tenants/legacy/flink-cluster', {
          token: other,
          body: { flinkVersion: '2.1', ...MINIMUM },
        });
        expect(put.status).toBe(202);
        const view = await waitForCluster(plane, 'legacy', 'FAILED', 60_000);
        expect(view.observed.reason).toMatch(/ErrImagePull/);
        expect(view.observed.reason).toMatch(/not served locally.*flink-metrics-prometheus/);
        expect((await plane.api('DELETE', '/v1/tenants/legacy/flink-cluster', { token: other })).status).toBe(202);
        await waitForCluster(plane, 'legacy', 'DESTROYED', 60_000);
      });

      it('keeps a TaskManager the machine cannot hold Pending with Insufficient memory, and says so', async () => {
        const other = await plane.registerTenant('huge');
        const put = await plane.api('PUT', '/v1/tenants/huge/flink-cluster', {
          token: other,
          body: {
            flinkVersion: version,
            jobManager: { memoryMB: 1024 },
            taskManager: { memoryMB: 65_536, instances: 1 },
          },
        });
        expect(put.status).toBe(202);
        const view = await eventually('the reason in the cluster view', 60_000, async () => {
          await plane.local.plane.reconcile();
          const found = (await plane.api('GET', '/v1/tenants/huge/flink-cluster', { token: other })).body;
          return /Insufficient memory/.test(found?.observed?.reason ?? '') ? found : undefined;
        });
        expect(view.state).toBe('DEPLOYING');
        expect(pods(plane, 'huge', 'taskmanager')[0]?.status).toMatchObject({ phase: 'Pending' });
        expect((await plane.api('DELETE', '/v1/tenants/huge/flink-cluster', { token: other })).status).toBe(202);
        await waitForCluster(plane, 'huge', 'DESTROYED', 90_000);
      });
    }

    it('destroy ends the Flink processes, stops the vhost, keeps the bucket, the ZooKeeper nodes and the JAR volume', async () => {
      await moreCheckpoints(2);
      before.push(...(await taskManagerLines()));
      const running = [
        ...(await podProcesses(plane, pods(plane, tenant, 'jobmanager')[0]!, /java/)),
        ...(await podProcesses(plane, pods(plane, tenant, 'taskmanager')[0]!, /java/)),
      ];
      expect(running.length).toBe(2);
      const volume = plane.local.kube!.objects().find((o) => o.kind === 'PersistentVolumeClaim');
      expect((await plane.api('DELETE', `/v1/tenants/${tenant}/flink-cluster`, { token })).status).toBe(202);
      await waitForCluster(plane, tenant, 'DESTROYED', 90_000);
      // Pods are deleted gracefully: each goes once the kubelet has stopped its processes.
      await eventually('the Flink processes and their pods gone', 90_000, async () => {
        const left = plane.local
          .kube!.objects()
          .filter((o) => o.kind === 'Pod' && o.metadata.namespace === `tenant-${tenant}`);
        return left.length === 0 && running.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined;
      });
      const objects = plane.local.kube!.objects();
      expect(objects.find((o) => o.kind === 'PersistentVolumeClaim')?.metadata.uid).toBe(volume?.metadata.uid);
      expect(await plane.local.buckets.bucketExists(`flinkplane-${tenant}`)).toBe(true);
      expect(await plane.local.zookeeper.namespaceExists(`/flinkplane/tenants/${tenant}`)).toBe(true);
      expect((await flink.call('GET', '/overview')).status).toBe(503);
    });

    it('redeploy brings the same job back RUNNING from its latest checkpoint, state continuing; the JAR is kept', async () => {
      const put = await plane.api('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
        token,
        body: { flinkVersion: version, ...MINIMUM },
      });
      expect(put.status).toBe(202);
      await waitForCluster(plane, tenant, 'RUNNING', 150_000);
      await running();
      const stats = await eventually('the job restored from a checkpoint', 90_000, async () => {
        const found = await flink.get<Checkpoints>(`/jobs/${jobId}/checkpoints`);
        return found?.latest.restored ? found : undefined;
      });
      expect(stats.latest.restored!.external_path).toMatch(new RegExp(`^s3://flinkplane-${tenant}/${haClusterId}/`));
      const after = await eventually('counter lines after the restore', 60_000, async () => {
        const found = await taskManagerLines();
        return found.length > 0 ? found : undefined;
      });
      expect(after.every((line) => isConsistent(line, KEYS))).toBe(true);
      // Restarted from zero, the first counts would match the first ones before the destroy.
      const lowest = (lines: CounterLine[]) => Math.min(...lines.map((line) => line.count));
      expect(lowest(after)).toBeGreaterThan(lowest(before));
      const jars = await flink.get<{ files: { id: string }[] }>('/jars');
      expect(jars?.files.map((file) => file.id)).toContain(jarId);
    });

    it('a clean start runs no job, moves to a new HA id and keeps the old checkpoints in the bucket', async () => {
      expect((await plane.api('DELETE', `/v1/tenants/${tenant}/flink-cluster`, { token })).status).toBe(202);
      await waitForCluster(plane, tenant, 'DESTROYED', 90_000);
      const put = await plane.api('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
        token,
        body: { flinkVersion: version, ...MINIMUM, restore: 'clean' },
      });
      expect(put.status).toBe(202);
      const view = await waitForCluster(plane, tenant, 'RUNNING', 150_000);
      expect(view.haClusterId).not.toBe(haClusterId);
      expect(view.previousHaClusterIds).toContain(haClusterId);
      const jobs = await eventually('the job list', 30_000, () => flink.get<{ jobs: Job[] }>('/jobs'));
      expect(jobs.jobs).toEqual([]);
      const old = await plane.local.s3.client.send(
        new ListObjectsV2Command({ Bucket: `flinkplane-${tenant}`, Prefix: `${haClusterId}/checkpoints/` }),
      );
      expect(old.KeyCount ?? 0).toBeGreaterThan(0);
    });

    if (!faults) {
      it('brings the cluster back RUNNING when the plane starts again on its data dir, as a node after a reboot', async () => {
        const jobManagers = await podProcesses(plane, pods(plane, tenant, 'jobmanager')[0]!, /java/);
        expect(jobManagers.length).toBe(1);
        await plane.stop();
        expect(jobManagers.every((pid) => !existsSync(`/proc/${pid}`))).toBe(true);
        plane = await startPlane();
        flink = vhostFlink(plane, tenant, token);
        const view = await waitForCluster(plane, tenant, 'RUNNING', 150_000);
        expect(view.observed).toMatchObject({ taskManagersRegistered: 1, flinkVersion: release });
        expect(await eventually('the vhost serving', 60_000, () => flink.get('/overview'))).toMatchObject({
          taskmanagers: 1,
        });
      });
    }
  },
  // Generous: two real clusters' JVMs share 2 cores with whatever else the suite runs at the time.
  600_000,
);
