import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { findFlinkVersion } from '../functions/core/catalog.ts';
import { COMPONENT_NAMES, PORTS } from '../functions/core/naming.ts';
import { FIXED_SIZES } from '../functions/core/sizing.ts';
import { prepareFlinkImage } from '../local/flink-runtime/flink-image.ts';
import { type LocalControlPlane, startLocalControlPlane } from '../local/local-control-plane.ts';
import { type LocalServer, serveLocalPlane } from '../local/local-server.ts';
import { freePort } from '../local/net.ts';
import { compileTestJob, STATEFUL_COUNTER_CLASS } from '../test/flink/support/compile-test-job.ts';
import type { CheckpointingStatistics } from '../test/flink/support/flink-rest.ts';
import { createApiClient } from '../test/support/local-api.ts';
import type { Benchmark, BenchmarkOptions } from './main.ts';
import { elapsedMs, type Figures, progress, round } from './report.ts';

const TENANT = 'benchflink';
const FLINK_VERSION = '1.20';
/** The platform's minimum sizes: the smallest cluster a tenant can have. */
const SPEC = {
  flinkVersion: FLINK_VERSION,
  jobManager: { memoryMB: 1024 },
  taskManager: { memoryMB: 1024, instances: 1 },
};
/** A pod network of this benchmark's own, so it never meets a test's. */
const POD_CIDR = '10.253.0.0/24';
const CHECKPOINT_INTERVAL_MS = 2_000;
const CHECKPOINTS_BEFORE_DESTROY = 2;
const FULL_WINDOW_SECONDS = 30;
const QUICK_WINDOW_SECONDS = 15;
/** How long any one phase may take before the run gives up: several times its first bar. */
const PHASE_TIMEOUT_MS = 5 * 60_000;
const POLL_MS = 250;

/** One tenant's smallest cluster on real Flink: deploy, a restored redeploy, its ZooKeeper proxy and JVMs under load. */
export const flinkBenchmark: Benchmark = {
  description: `one tenant on real Flink ${FLINK_VERSION} pods (JobManager 1024 MB, one TaskManager 1024 MB): deploy to UI, redeploy to the restored job, proxy and JVM footprint`,
  bars: [
    { figure: 'deployToUiSeconds', label: 'deploy PUT to the UI serving, every TaskManager registered', max: 60 },
    { figure: 'redeployToRestoredSeconds', label: 'redeploy PUT to the job running again, restored', max: 90 },
  ],
  run: (options) => runFlink(options),
};

/** The figures of one run: needs root (network namespaces) and Maven Central's Flink artifacts. */
export async function runFlink(options: BenchmarkOptions): Promise<Figures> {
  const windowSeconds = options.quick ? QUICK_WINDOW_SECONDS : FULL_WINDOW_SECONDS;
  const version = findFlinkVersion(FLINK_VERSION);
  if (!version) throw new Error(`Flink ${FLINK_VERSION} is not in the catalog`);
  // Fetched and compiled before anything is timed: the figures are the platform's, not Maven Central's.
  const image = await prepareFlinkImage(version, { progress });
  const work = await mkdtemp(join(tmpdir(), 'flinkplane-bench-flink-'));
  try {
    const jarPath = await compileTestJob(join(image.home, 'lib'), join(work, 'job'));
    const stack = await startFlinkStack();
    try {
      return await measure(stack, jarPath, version.release, windowSeconds);
    } finally {
      await stack.stop();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function measure(stack: FlinkStack, jarPath: string, release: string, windowSeconds: number): Promise<Figures> {
  const token = await stack.registerTenant(TENANT);
  const ui = stack.vhost(TENANT, token);
  const instances = SPEC.taskManager.instances;

  progress(`flink: deploying ${TENANT} (Flink ${release}, real JobManager and TaskManager processes)`);
  let started = performance.now();
  await stack.expect('PUT', `/v1/tenants/${TENANT}/flink-cluster`, token, 202, SPEC);
  const deployed = await milestones(
    'the UI serving with every TaskManager registered, and the cluster RUNNING',
    started,
    {
      ui: () => uiServing(ui, release, instances),
      running: async () => (await stack.state(token)) === 'RUNNING',
    },
  );
  progress(`flink: UI serving after ${seconds(deployed.ui)} s, RUNNING after ${seconds(deployed.running)} s`);

  started = performance.now();
  const jarId = await ui.uploadJar(jarPath);
  const jobId = await ui.runJar(jarId, ['--checkpoint-interval-ms', String(CHECKPOINT_INTERVAL_MS)]);
  await until(`${CHECKPOINTS_BEFORE_DESTROY} completed checkpoints of job ${jobId}`, async () => {
    const statistics = await ui.checkpoints(jobId);
    return statistics !== undefined && statistics.counts.completed >= CHECKPOINTS_BEFORE_DESTROY;
  });
  const checkpointedMs = elapsedMs(started);
  progress(`flink: job ${jobId} checkpointed ${CHECKPOINTS_BEFORE_DESTROY} times after ${seconds(checkpointedMs)} s`);

  progress(`flink: ${windowSeconds} s of checkpoints every ${CHECKPOINT_INTERVAL_MS / 1000} s`);
  const window = await checkpointWindow(stack, ui, jobId, windowSeconds);

  started = performance.now();
  await stack.expect('DELETE', `/v1/tenants/${TENANT}/flink-cluster`, token, 202);
  await until('the cluster DESTROYED', async () => (await stack.state(token)) === 'DESTROYED');
  const destroyMs = elapsedMs(started);
  progress(`flink: destroyed after ${seconds(destroyMs)} s; redeploying`);

  started = performance.now();
  await stack.expect('PUT', `/v1/tenants/${TENANT}/flink-cluster`, token, 202, SPEC);
  const redeployed = await milestones(`job ${jobId} RUNNING again, restored from a checkpoint`, started, {
    // The reconciler's sweep is part of the path (it records RUNNING); the job is asked through the vhost.
    running: async () => (await stack.state(token)) === 'RUNNING',
    ui: () => uiServing(ui, release, instances),
    restored: async () => (await ui.jobRunning(jobId)) && Boolean((await ui.checkpoints(jobId))?.latest.restored),
  });
  progress(
    `flink: after the redeploy, UI serving after ${seconds(redeployed.ui)} s, RUNNING after ${seconds(redeployed.running)} s, ` +
      `job ${jobId} RUNNING and restored after ${seconds(redeployed.restored)} s`,
  );

  return {
    flinkRelease: release,
    jobManagerMemoryMB: SPEC.jobManager.memoryMB,
    taskManagerMemoryMB: SPEC.taskManager.memoryMB,
    taskManagers: instances,
    deployToUiSeconds: seconds(deployed.ui),
    deployToRunningSeconds: seconds(deployed.running),
    runToCheckpointedSeconds: seconds(checkpointedMs),
    destroySeconds: seconds(destroyMs),
    redeployToUiSeconds: seconds(redeployed.ui),
    redeployToRunningSeconds: seconds(redeployed.running),
    redeployToRestoredSeconds: seconds(redeployed.restored),
    ...window,
  };
}

/**
 * Watches the tenant's proxy and JVMs for `windowSeconds` while the job checkpoints: ZooKeeper requests through the
 * proxy (its own counter), the proxy process's CPU and memory against its fixed allocation, the JVMs' memory.
 */
async function checkpointWindow(stack: FlinkStack, ui: Vhost, jobId: string, windowSeconds: number): Promise<Figures> {
  const proxyPod = stack.pod(COMPONENT_NAMES.zookeeperProxy);
  const proxy = findProcess(proxyPod.pid, (cmdline) => cmdline.includes('zk-proxy.mjs'));
  const jobManager = findProcess(stack.pod(COMPONENT_NAMES.jobManager).pid, (cmdline) =>
    cmdline.includes('StandaloneSessionClusterEntrypoint'),
  );
  const taskManager = findProcess(stack.pod(COMPONENT_NAMES.taskManager).pid, (cmdline) =>
    cmdline.includes('TaskManagerRunner'),
  );
  const metricsUrl = `http://${proxyPod.ip}:${PORTS.zookeeperProxyMetrics}/metrics`;

  const requestsBefore = await proxyRequests(metricsUrl);
  const cpuBefore = cpuSeconds(proxy);
  const checkpointsBefore = (await ui.checkpoints(jobId))?.counts.completed ?? 0;
  const started = performance.now();
  let proxyRssPeak = 0;
  while (elapsedMs(started) < windowSeconds * 1000) {
    proxyRssPeak = Math.max(proxyRssPeak, rssMB(proxy));
    await sleep(1_000);
  }
  const windowMs = elapsedMs(started);
  const requests = (await proxyRequests(metricsUrl)) - requestsBefore;
  const cores = (cpuSeconds(proxy) - cpuBefore) / (windowMs / 1000);
  const checkpoints = ((await ui.checkpoints(jobId))?.counts.completed ?? 0) - checkpointsBefore;
  const allocation = FIXED_SIZES.zookeeperProxy;
  return {
    windowSeconds: seconds(windowMs),
    checkpointsInWindow: checkpoints,
    zkRequestsPerSecond: round(requests / (windowMs / 1000), 2),
    zkRequestsPerCheckpoint: checkpoints > 0 ? round(requests / checkpoints, 1) : 0,
    proxyCpuCores: round(cores, 4),
    proxyCpuOfAllocation: round(cores / allocation.cpu, 3),
    proxyRssMB: round(proxyRssPeak, 1),
    proxyRssOfAllocation: round(proxyRssPeak / allocation.memoryMB, 3),
    jobManagerRssMB: round(rssMB(jobManager), 1),
    taskManagerRssMB: round(rssMB(taskManager), 1),
  };
}

/** The local control plane with real pods, behind the server `npm start` runs (ingress by Host header, then the API). */
type FlinkStack = {
  registerTenant(name: string): Promise<string>;
  /** Sends an API request and fails unless it answers `status`. */
  expect(method: string, path: string, token: string, status: number, body?: unknown): Promise<void>;
  /** Runs one reconciler sweep, then answers the tenant's cluster state. */
  state(token: string): Promise<string | undefined>;
  /** The tenant's Flink UI through its vhost, as its users reach it. */
  vhost(tenant: string, token: string): Vhost;
  /** The running pod of a component: its address and the pid the kubelet started its container as. */
  pod(component: string): { ip: string; pid: number };
  stop(): Promise<void>;
};

async function startFlinkStack(): Promise<FlinkStack> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = `operator-${randomBytes(16).toString('hex')}`;
  const errors: string[] = [];
  const log = (message: string, context: Record<string, unknown>) =>
    errors.push(`${message} ${JSON.stringify(context)}`);
  const local: LocalControlPlane = await startLocalControlPlane({
    pods: 'kubelet',
    adminToken,
    platformKey: randomBytes(32).toString('hex'),
    platform: { podCidr: POD_CIDR, ui: { scheme: 'http', port } },
    progress,
    log,
  });
  let served: LocalServer;
  try {
    served = await serveLocalPlane(local, { port, adminToken, consoleUrl: url, log });
  } catch (error) {
    await local.stop();
    throw error;
  }
  const api = createApiClient(url, adminToken);
  const kube = local.kube!;
  const namespace = `tenant-${TENANT}`;

  return {
    async registerTenant(name) {
      const response = await api('POST', '/v1/tenants', { body: { name } });
      if (response.status !== 201)
        throw new Error(`register ${name}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body.token as string;
    },
    async expect(method, path, token, status, body) {
      const response = await api(method, path, { token, ...(body === undefined ? {} : { body }) });
      if (response.status !== status) {
        throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
      }
    },
    async state(token) {
      await local.plane.reconcile();
      const response = await api('GET', `/v1/tenants/${TENANT}/flink-cluster`, { token });
      return response.body?.state as string | undefined;
    },
    vhost: (tenant, token) => createVhost(port, `flink-cluster-ui-${tenant}.${local.platform.domain}:${port}`, token),
    pod(component) {
      const pod = kube
        .objects()
        .find(
          (object) =>
            object.kind === 'Pod' &&
            object.metadata.namespace === namespace &&
            object.metadata.name?.startsWith(`${component}-`) &&
            !object.metadata.deletionTimestamp,
        );
      const status = pod?.status as
        | { podIP?: string; containerStatuses?: { containerID?: string; state?: { running?: unknown } }[] }
        | undefined;
      const running = status?.containerStatuses?.find((container) => container.state?.running);
      const pid = Number(running?.containerID?.replace(/^process:\/\//, ''));
      if (!status?.podIP || !pid) throw new Error(`no running ${component} pod in ${namespace}`);
      return { ip: status.podIP, pid };
    },
    async stop() {
      await served.close();
      await local.stop();
      if (errors.length > 0) progress(`flink: the control plane logged ${errors.length} errors, first: ${errors[0]}`);
    },
  };
}

/** The parts of Flink's REST API the benchmark uses, through the tenant's vhost with the tenant's token. */
type Vhost = {
  overview(): Promise<{ status: number; body?: { 'flink-version'?: string; taskmanagers?: number } }>;
  uploadJar(path: string): Promise<string>;
  runJar(jarId: string, programArgs: string[]): Promise<string>;
  /**
   * Whether the job and every one of its tasks are RUNNING: processing, not only scheduled (a restored job turns
   * RUNNING before a TaskManager offers it slots).
   */
  jobRunning(jobId: string): Promise<boolean>;
  /** The job's checkpoint statistics, or undefined while they cannot be had. */
  checkpoints(jobId: string): Promise<CheckpointingStatistics | undefined>;
};

function createVhost(serverPort: number, host: string, token: string): Vhost {
  const call = async (method: string, path: string, body?: { data: Buffer; type: string }) => {
    const response = await vhostRequest(serverPort, host, token, method, path, body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body.toString('utf8'));
    } catch {
      // An ingress or proxy page, not Flink's JSON.
    }
    return { status: response.status, body: parsed };
  };
  const json = async <T>(method: string, path: string, body?: { data: Buffer; type: string }): Promise<T> => {
    const response = await call(method, path, body);
    if (response.status < 200 || response.status > 299) {
      throw new Error(
        `${method} ${path} through the vhost answered ${response.status}: ${JSON.stringify(response.body)}`,
      );
    }
    return response.body as T;
  };
  return {
    overview: () => call('GET', '/overview') as ReturnType<Vhost['overview']>,
    async uploadJar(path) {
      const form = new FormData();
      form.append('jarfile', new Blob([readFileSync(path)]), basename(path));
      // The multipart encoding fetch would send, sent through node:http, which can name the vhost in Host.
      const encoded = new Response(form);
      const data = Buffer.from(await encoded.arrayBuffer());
      const type = encoded.headers.get('content-type') ?? 'multipart/form-data';
      const { filename } = await json<{ filename: string }>('POST', '/jars/upload', { data, type });
      return basename(filename);
    },
    async runJar(jarId, programArgs) {
      const body = JSON.stringify({ programArgsList: programArgs, entryClass: STATEFUL_COUNTER_CLASS });
      const { jobid } = await json<{ jobid: string }>('POST', `/jars/${encodeURIComponent(jarId)}/run`, {
        data: Buffer.from(body),
        type: 'application/json',
      });
      return jobid;
    },
    async jobRunning(jobId) {
      const response = await call('GET', `/jobs/${jobId}`);
      if (response.status !== 200) return false;
      const job = response.body as { state: string; vertices: { status: string }[] };
      return job.state === 'RUNNING' && job.vertices.every((vertex) => vertex.status === 'RUNNING');
    },
    async checkpoints(jobId) {
      const response = await call('GET', `/jobs/${jobId}/checkpoints`);
      return response.status === 200 ? (response.body as CheckpointingStatistics) : undefined;
    },
  };
}

/** Whether the UI answers `/overview` with the catalog's release and `instances` TaskManagers registered. */
async function uiServing(ui: Vhost, release: string, instances: number): Promise<boolean> {
  const { status, body } = await ui.overview();
  return status === 200 && body?.['flink-version'] === release && body.taskmanagers === instances;
}

type RawResponse = { status: number; headers: IncomingHttpHeaders; body: Buffer };

/** One request to the local server naming the vhost in Host (Node does not resolve `*.localhost` to loopback). */
function vhostRequest(
  serverPort: number,
  host: string,
  token: string,
  method: string,
  path: string,
  body?: { data: Buffer; type: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port: serverPort,
        method,
        path,
        headers: {
          host,
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body ? { 'content-type': body.type, 'content-length': body.data.length } : {}),
        },
        agent: false,
        timeout: 30_000,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer to ${method} ${path} within 30 s`)));
    outgoing.on('error', reject);
    outgoing.end(body?.data);
  });
}

/** The proxy's `zk_proxy_requests_total`, summed over opcodes. */
async function proxyRequests(metricsUrl: string): Promise<number> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${metricsUrl} answered ${response.status}`);
  let total = 0;
  for (const line of (await response.text()).split('\n')) {
    const match = /^zk_proxy_requests_total(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/**
 * The process under `rootPid` (the kubelet's container process, itself included) whose command line matches. The
 * kubelet runs a container in a PID namespace of its own; from here its processes have their host pids.
 */
function findProcess(rootPid: number, matches: (cmdline: string) => boolean): number {
  const queue = [rootPid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (matches(readProc(pid, 'cmdline').replaceAll('\0', ' '))) return pid;
    for (const task of safeReaddir(`/proc/${pid}/task`)) {
      queue.push(...readProc(pid, `task/${task}/children`).split(/\s+/).filter(Boolean).map(Number));
    }
  }
  throw new Error(`no matching process under pid ${rootPid}`);
}

/** User plus system CPU time of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readProc(pid, 'stat');
  // Fields after the command (which may hold spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Linux's USER_HZ, which /proc reports CPU times in; 100 on every architecture Node runs on here. */
const CLOCK_TICKS_PER_SECOND = 100;

/** A process's resident memory (VmRSS), in MB. */
function rssMB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readProc(pid, 'status'));
  if (!match) throw new Error(`pid ${pid} reports no VmRSS`);
  return Number(match[1]) / 1024;
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/**
 * Polls every probe in one loop, in order, until each has held once; answers when each first held, in ms after
 * `started`. A probe that throws has not held yet.
 */
async function milestones<K extends string>(
  what: string,
  started: number,
  probes: Record<K, () => Promise<boolean>>,
): Promise<Record<K, number>> {
  const reached: Partial<Record<K, number>> = {};
  const keys = Object.keys(probes) as K[];
  await until(what, async () => {
    for (const key of keys) {
      if (reached[key] === undefined && (await probes[key]().catch(() => false))) reached[key] = elapsedMs(started);
    }
    return keys.every((key) => reached[key] !== undefined);
  });
  return reached as Record<K, number>;
}

/** Polls `done` every 250 ms until it answers true; errors count as "not yet" and the last one is in the timeout's. */
async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  let last: unknown;
  for (;;) {
    try {
      if (await done()) return;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `flink: ${what}: not within ${PHASE_TIMEOUT_MS / 1000} s${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await sleep(POLL_MS);
  }
}

function seconds(ms: number): number {
  return round(ms / 1000, 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
