import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type {
  ContainerLaunch,
  ImageTable,
  LogOptions,
  NodeInfo,
  PodEventCallback,
  PodRuntime,
  PodStatusCallback,
  ResourceReader,
} from '../../kube-standin/node/pod-runtime.ts';
import { deepEqual, isRecord, type JsonRecord, type KubeObject, timestamp } from '../../kube-standin/objects.ts';
import { containerCommandLine } from './container-command.ts';
import { hostsFile, type PodEndpoint, podIsReady, serviceAddresses, writeInPlace } from './hosts.ts';
import { ContainerLogStore } from './log-store.ts';
import { BridgeNetwork, DEFAULT_POD_CIDR, type PodNetwork } from './network.ts';
import {
  ContainerConfigError,
  containerCommand,
  containerEnv,
  containerIdentity,
  containerSecurity,
  podContainers,
  podSpec,
  qosClass,
} from './pod-spec.ts';
import { execProbe, type ProbeResult, type ProbeSpec, parseProbe, runProbe } from './probes.ts';
import { containerMounts, prepareVolumes, readOnlyClaimVolumes, VolumeError } from './volumes.ts';

export type KubeletRuntimeOptions = {
  /** What each image runs. */
  readonly images: ImageTable;
  /**
   * ConfigMaps, Secrets and claims for volumes; Services, Endpoints and Pods for the hosts files. Given here or later
   * through `useResources` (before the first pod).
   */
  readonly resources?: ResourceReader;
  /** Per-pod directories (volumes, logs) and the claims' directories, which outlive pods. */
  readonly dataDir: string;
  /** The pod network. @default 10.244.0.0/16 */
  readonly podCidr?: string;
  /** @default the machine's hostname */
  readonly nodeName?: string;
  /** Memory kept back from the node's allocatable for everything that is not a pod. @default 1 GiB */
  readonly memoryReserveBytes?: number;
  /** A crashed container's restart delay: initial, doubling to max, reset after running resetAfter. @default 10 s, 300 s, 10 min */
  readonly backOff?: { readonly initialMs?: number; readonly maxMs?: number; readonly resetAfterMs?: number };
  /** How long a pod waits before retrying a volume or image that failed. @default 5 s */
  readonly retryMs?: number;
  /** Each container instance's log is kept to about twice this. @default 10 MiB */
  readonly logMaxBytes?: number;
};

type ContainerState =
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | { readonly terminated: Terminated };

/** What `FallbackToLogsOnError` keeps of a failed container's log, as the kubelet: 80 lines, 2 KiB. */
const TERMINATION_MESSAGE_LINES = 80;
const TERMINATION_MESSAGE_BYTES = 2048;

type Terminated = {
  readonly exitCode: number;
  readonly signal?: number;
  readonly reason: string;
  readonly message?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly containerID: string;
};

type ContainerWorker = {
  readonly spec: JsonRecord;
  readonly name: string;
  readonly logs: ContainerLogStore;
  state: ContainerState;
  lastTerminated: Terminated | undefined;
  restartCount: number;
  ready: boolean;
  started: boolean;
  launch: ContainerLaunch | undefined;
  child: ChildProcess | undefined;
  /** Resolves when the current process has exited and its output is stored. */
  exited: Promise<void>;
  /** Bumped for every process, so probers and timers of an earlier one stop. */
  instance: number;
  startedAtMs: number;
  nextBackOffMs: number;
  timers: Set<NodeJS.Timeout>;
};

type PodRecord = {
  pod: KubeObject;
  readonly key: string;
  readonly uid: string;
  readonly dir: string;
  readonly startTime: string;
  readonly containers: ContainerWorker[];
  network: PodNetwork | undefined;
  /** Settles once the network is attached (or failed): deletion waits for it before releasing. */
  attached: Promise<void>;
  volumePaths: Map<string, string> | undefined;
  /** Set the moment deletion starts: nothing new starts, probers and restarts stop, the pod leaves the hosts files. */
  deleting: boolean;
  deletion: Promise<void> | undefined;
  status: JsonRecord | undefined;
  hosts: string | undefined;
};

/**
 * A kubelet for the Kubernetes stand-in that runs every container as a real process: each pod in a network
 * namespace of its own on a bridge, each container in its own PID, mount and UTS namespace with the image and the
 * pod's volumes bind-mounted, as the pod's user; probes against the pod's address; restarts with back-off; logs on
 * disk. Split as the kubelet is: a pod worker per pod, a container worker per container, probers, and one status
 * path (`onPodStatus`).
 *
 * Simplified: no init containers, no cgroup limits (this machine's memory controller is cgroup v1 only), no
 * ephemeral containers; configMap and secret volumes are written when the pod starts and not refreshed.
 */
export class KubeletRuntime implements PodRuntime {
  readonly kind = 'kubelet' as const;
  private readonly pods = new Map<string, PodRecord>();
  private statusCallback: PodStatusCallback | undefined;
  private eventCallback: PodEventCallback | undefined;
  private resources: ResourceReader = NO_RESOURCES;
  private unsubscribe: () => void = () => undefined;
  private hostsRefresh: Promise<void> | undefined;
  private hostsAgain = false;
  private stopped = false;
  private readonly backOff: { initialMs: number; maxMs: number; resetAfterMs: number };

  private constructor(
    private readonly options: KubeletRuntimeOptions,
    private readonly network: BridgeNetwork,
    private readonly nodeInfo: NodeInfo,
  ) {
    this.backOff = {
      initialMs: options.backOff?.initialMs ?? 10_000,
      maxMs: options.backOff?.maxMs ?? 300_000,
      resetAfterMs: options.backOff?.resetAfterMs ?? 600_000,
    };
    if (options.resources) this.useResources(options.resources);
  }

  /** The objects the runtime reads; re-reads hosts files' sources on every change it is told of. */
  useResources(reader: ResourceReader): void {
    this.unsubscribe();
    this.resources = reader;
    if (reader.subscribe) {
      this.unsubscribe = reader.subscribe((group, resource) => {
        if (group === '' && (resource === 'services' || resource === 'endpoints' || resource === 'pods'))
          this.refreshHosts();
      });
    } else {
      // Without change notifications, Services are re-read every two seconds (own pods refresh on every change).
      const timer = setInterval(() => this.refreshHosts(), 2_000);
      timer.unref();
      this.unsubscribe = () => clearInterval(timer);
    }
  }

  /**
   * Sets up the node: removes what a crashed run with the same pod CIDR left (namespaces, veths, the bridge, pod
   * directories), refuses a CIDR the host already routes, creates the bridge and measures the node's memory.
   */
  static async start(options: KubeletRuntimeOptions): Promise<KubeletRuntime> {
    await rm(join(options.dataDir, 'pods'), { recursive: true, force: true });
    await mkdir(join(options.dataDir, 'pods'), { recursive: true });
    await mkdir(join(options.dataDir, 'volumes'), { recursive: true });
    const network = await BridgeNetwork.create(options.podCidr ?? DEFAULT_POD_CIDR);
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0);
    const reserveKib = Math.round((options.memoryReserveBytes ?? 1024 ** 3) / 1024);
    const cpu = String(cpus().length);
    const nodeInfo: NodeInfo = {
      name: options.nodeName ?? hostname(),
      capacity: { cpu, memory: `${kib('MemTotal')}Ki`, pods: '110' },
      // Measured: what the kernel says is available now, less the reserve for the control plane's own processes.
      allocatable: { cpu, memory: `${Math.max(0, kib('MemAvailable') - reserveKib)}Ki`, pods: '110' },
      address: network.gateway,
    };
    return new KubeletRuntime(options, network, nodeInfo);
  }

  node(): NodeInfo {
    return this.nodeInfo;
  }

  onPodStatus(callback: PodStatusCallback): void {
    this.statusCallback = callback;
  }

  onEvent(callback: PodEventCallback): void {
    this.eventCallback = callback;
  }

  getPodStatus(namespace: string, name: string): JsonRecord | undefined {
    return this.pods.get(`${namespace}/${name}`)?.status;
  }

  /** Where a pod sits in the pod network (its namespace, veth and address), for diagnostics and tests. */
  podNetwork(namespace: string, name: string): PodNetwork | undefined {
    return this.pods.get(`${namespace}/${name}`)?.network;
  }

  readLogs(namespace: string, name: string, container: string, options: LogOptions): Readable | undefined {
    const worker = this.pods.get(`${namespace}/${name}`)?.containers.find((c) => c.name === container);
    return worker?.logs.read(options);
  }

  async createPod(pod: KubeObject): Promise<void> {
    if (this.stopped) throw new Error('the kubelet runtime is stopped');
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    const existing = this.pods.get(key);
    if (existing && existing.uid === pod.metadata.uid) return;
    if (existing) await this.deletePod(existing.pod, 0);
    const uid = pod.metadata.uid ?? key.replace('/', '_');
    const dir = join(this.options.dataDir, 'pods', uid);
    const record: PodRecord = {
      pod,
      key,
      uid,
      dir,
      startTime: timestamp(),
      containers: podContainers(pod).map((spec) => ({
        spec,
        name: String(spec.name),
        logs: new ContainerLogStore(join(dir, 'logs', String(spec.name)), this.options.logMaxBytes ?? 10 * 1024 ** 2),
        state: { waiting: { reason: 'ContainerCreating' } },
        lastTerminated: undefined,
        restartCount: 0,
        ready: false,
        started: false,
        launch: undefined,
        child: undefined,
        exited: Promise.resolve(),
        instance: 0,
        startedAtMs: 0,
        nextBackOffMs: this.backOff.initialMs,
        timers: new Set(),
      })),
      network: undefined,
      attached: Promise.resolve(),
      volumePaths: undefined,
      deleting: false,
      deletion: undefined,
      status: undefined,
      hosts: undefined,
    };
    this.pods.set(key, record);
    this.report(record);
    record.attached = this.attach(record);
    void record.attached.then(
      () => this.runPod(record),
      () => undefined,
    );
  }

  async updatePod(pod: KubeObject): Promise<void> {
    const record = this.pods.get(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`);
    if (!record || record.uid !== pod.metadata.uid) return;
    record.pod = pod;
    this.refreshHosts();
  }

  deletePod(pod: KubeObject, gracePeriodSeconds: number): Promise<void> {
    const record = this.pods.get(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`);
    if (!record) return Promise.resolve();
    if (!record.deletion) {
      record.deleting = true;
      record.deletion = this.terminate(record, gracePeriodSeconds * 1000);
    }
    return record.deletion;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    await Promise.all(
      [...this.pods.values()].map((record) => this.deletePod(record.pod, terminationGraceSeconds(record.pod))),
    );
    await this.hostsRefresh;
    await this.network.destroy();
  }

  private async attach(record: PodRecord): Promise<void> {
    try {
      record.network = await this.network.attach();
      // Unreachable DNS would stall every lookup of a name the hosts file lacks for seconds; a nameserver on the
      // pod's own loopback answers "connection refused" at once.
      await mkdir(`/etc/netns/${record.network.netns}`, { recursive: true });
      await writeFile(`/etc/netns/${record.network.netns}/resolv.conf`, 'nameserver 127.0.0.1\noptions attempts:1\n');
      await this.writeHosts(record, this.endpoints());
      this.report(record);
    } catch (error) {
      this.setWaiting(record, 'ContainerCreating', `failed to set up the pod network: ${(error as Error).message}`);
      this.event(
        record,
        'Warning',
        'FailedCreatePodSandBox',
        `Failed to create pod sandbox: ${(error as Error).message}`,
      );
      throw error;
    }
  }

  /** Mounts the volumes (retrying until their sources exist), then resolves and starts every container. */
  private async runPod(record: PodRecord): Promise<void> {
    while (!record.deleting) {
      try {
        record.volumePaths = await prepareVolumes(record.pod, this.resources, {
          podDir: record.dir,
          claimsDir: join(this.options.dataDir, 'volumes'),
        });
        break;
      } catch (error) {
        const message = `MountVolume.SetUp failed: ${(error as Error).message}`;
        this.setWaiting(record, 'ContainerCreating', message);
        this.event(record, 'Warning', 'FailedMount', message);
        await delay(this.options.retryMs ?? 5_000);
      }
    }
    for (const worker of record.containers) void this.pullAndStart(record, worker);
  }

  private async pullAndStart(record: PodRecord, worker: ContainerWorker): Promise<void> {
    const image = String(worker.spec.image);
    let failures = 0;
    while (!record.deleting && !worker.launch) {
      this.event(record, 'Normal', 'Pulling', `Pulling image "${image}"`, worker);
      const began = Date.now();
      try {
        worker.launch = await this.options.images.resolve(record.pod, worker.spec);
        this.event(
          record,
          'Normal',
          'Pulled',
          `Successfully pulled image "${image}" in ${Date.now() - began}ms`,
          worker,
        );
      } catch (error) {
        const message = (error as Error).message;
        worker.state = { waiting: { reason: failures++ === 0 ? 'ErrImagePull' : 'ImagePullBackOff', message } };
        this.report(record);
        this.event(record, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`, worker);
        await delay(Math.min(this.backOff.initialMs * 2 ** (failures - 1), this.backOff.maxMs));
      }
    }
    this.startContainer(record, worker);
  }

  private startContainer(record: PodRecord, worker: ContainerWorker): void {
    if (record.deleting || !record.network || !worker.launch) return;
    void this.containerLine(record, worker).then(
      ({ commandLine, env }) => {
        if (!record.deleting) this.spawnContainer(record, worker, commandLine, env);
      },
      (error: Error) => {
        if (record.deleting) return;
        const reason =
          error instanceof ContainerConfigError || error instanceof VolumeError
            ? 'CreateContainerConfigError'
            : 'CreateContainerError';
        worker.state = { waiting: { reason, message: error.message } };
        this.report(record);
        this.event(record, 'Warning', 'Failed', `Error: ${error.message}`, worker);
        this.later(worker, this.options.retryMs ?? 5_000, () => this.startContainer(record, worker));
      },
    );
  }

  private async containerLine(
    record: PodRecord,
    worker: ContainerWorker,
  ): Promise<{ commandLine: { file: string; args: string[] }; env: Record<string, string> }> {
    const launch = worker.launch!;
    const network = record.network!;
    const identity = containerIdentity(record.pod, worker.spec);
    const env = containerEnv(
      record.pod,
      worker.spec,
      launch,
      { podIP: network.ip, hostIP: this.nodeInfo.address, nodeName: this.nodeInfo.name },
      this.resources,
    );
    const { command, args } = containerCommand(worker.spec, launch, env);
    const volumeMounts = await containerMounts(worker.spec, record.volumePaths!, readOnlyClaimVolumes(record.pod));
    const security = containerSecurity(worker.spec);
    // The previous process's mount namespace is gone with it: on the host the stage holds only empty mount points.
    const stageDir = join(record.dir, 'stage', worker.name);
    await rm(stageDir, { recursive: true, force: true });
    await mkdir(stageDir, { recursive: true, mode: 0o700 });
    const commandLine = containerCommandLine({
      netns: network.netns,
      hostname: record.pod.metadata.name ?? '',
      ...identity,
      noNewPrivileges: security.noNewPrivileges,
      dropAllCapabilities: security.dropAll,
      mounts: [
        ...(launch.imageMounts ?? []).map((m) =>
          m.file
            ? { source: m.hostPath, target: m.containerPath, readOnly: true, file: true }
            : {
                source: m.hostPath,
                target: m.containerPath,
                readOnly: security.readOnlyRoot,
                file: false,
                overlay: true,
              },
        ),
        ...volumeMounts,
      ],
      stageDir,
      workingDir: typeof worker.spec.workingDir === 'string' ? worker.spec.workingDir : (launch.workingDir ?? '/'),
      command,
      args,
    });
    return { commandLine, env };
  }

  private spawnContainer(
    record: PodRecord,
    worker: ContainerWorker,
    commandLine: { file: string; args: string[] },
    env: Record<string, string>,
  ): void {
    const instance = ++worker.instance;
    if (instance > 1) worker.restartCount++;
    worker.logs.begin();
    const child = spawn(commandLine.file, commandLine.args, {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.child = child;
    worker.startedAtMs = Date.now();
    const startedAt = timestamp(worker.startedAtMs);
    const containerID = `process://${child.pid ?? 0}`;
    child.stdout?.on('data', (chunk: Buffer) => worker.logs.append('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => worker.logs.append('stderr', chunk));
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    worker.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        worker.logs.end();
        resolve();
        const exitCode = code ?? 128 + signalNumber(signal);
        // As the kubelet does: a failed container's termination message falls back to the end of its log.
        const message =
          exitCode !== 0 && worker.spec.terminationMessagePolicy === 'FallbackToLogsOnError'
            ? worker.logs.tail(TERMINATION_MESSAGE_LINES, TERMINATION_MESSAGE_BYTES)
            : undefined;
        this.onExit(record, worker, instance, {
          exitCode,
          ...(signal ? { signal: signalNumber(signal) } : {}),
          reason: spawnError ? 'StartError' : code === 0 ? 'Completed' : 'Error',
          ...(message ? { message } : {}),
          startedAt,
          finishedAt: timestamp(),
          containerID,
        });
      });
    });
    worker.state = { running: { startedAt } };
    const readiness = this.probe(record, worker, 'readinessProbe');
    const liveness = this.probe(record, worker, 'livenessProbe');
    const startup = this.probe(record, worker, 'startupProbe');
    worker.started = !startup;
    worker.ready = !readiness && worker.started;
    this.event(record, 'Normal', 'Created', `Created container ${worker.name}`, worker);
    this.event(record, 'Normal', 'Started', `Started container ${worker.name}`, worker);
    this.report(record);
    const runReadinessAndLiveness = () => {
      if (readiness) this.runProber(record, worker, instance, 'Readiness', readiness);
      if (liveness) this.runProber(record, worker, instance, 'Liveness', liveness);
    };
    if (startup) this.runProber(record, worker, instance, 'Startup', startup, runReadinessAndLiveness);
    else runReadinessAndLiveness();
  }

  private probe(record: PodRecord, worker: ContainerWorker, field: string): ProbeSpec | undefined {
    try {
      return parseProbe(worker.spec, field);
    } catch (error) {
      this.event(record, 'Warning', 'Unhealthy', (error as Error).message, worker);
      return undefined;
    }
  }

  /**
   * One prober, as the kubelet's prober workers: after the initial delay, every period; `successThreshold`
   * successes in a row make it pass, `failureThreshold` failures in a row make it fail. A failing readiness probe
   * marks the container unready; a failing liveness or startup probe restarts it.
   */
  private runProber(
    record: PodRecord,
    worker: ContainerWorker,
    instance: number,
    kind: 'Readiness' | 'Liveness' | 'Startup',
    spec: ProbeSpec,
    onStartup?: () => void,
  ): void {
    let successes = 0;
    let failures = 0;
    const tick = async () => {
      if (record.deleting || worker.instance !== instance || !worker.child) return;
      const result = await runProbe(spec, record.network!.ip, (command, timeoutMs) =>
        this.execInContainer(record, worker, command, timeoutMs),
      );
      if (record.deleting || worker.instance !== instance || 'terminated' in worker.state) return;
      if (result.ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        this.event(record, 'Warning', 'Unhealthy', `${kind} probe failed: ${result.message}`, worker);
      }
      if (kind === 'Readiness') {
        if (!worker.ready && successes >= spec.successThreshold) this.setReady(record, worker, true);
        if (worker.ready && failures >= spec.failureThreshold) this.setReady(record, worker, false);
      } else if (kind === 'Startup' && successes >= 1) {
        worker.started = true;
        this.report(record);
        onStartup?.();
        return;
      } else if (failures >= spec.failureThreshold) {
        const why = kind === 'Liveness' ? 'failed liveness probe' : 'failed startup probe';
        this.event(record, 'Normal', 'Killing', `Container ${worker.name} ${why}, will be restarted`, worker);
        void this.kill(worker, terminationGraceSeconds(record.pod) * 1000);
        return;
      }
      this.later(worker, spec.periodMs, tick);
    };
    this.later(worker, spec.initialDelayMs, tick);
  }

  private setReady(record: PodRecord, worker: ContainerWorker, ready: boolean): void {
    worker.ready = ready;
    this.report(record);
    this.refreshHosts();
  }

  private async execInContainer(
    record: PodRecord,
    worker: ContainerWorker,
    command: readonly string[],
    timeoutMs: number,
  ): Promise<ProbeResult> {
    const pid = worker.child?.pid;
    const init = pid ? childPids(pid)[0] : undefined;
    if (!init) return { ok: false, message: 'container is not running' };
    const { uid, gid, groups } = containerIdentity(record.pod, worker.spec);
    return execProbe(
      'nsenter',
      [
        `--target=${init}`,
        '--mount',
        '--net',
        '--uts',
        '--',
        'setpriv',
        `--reuid=${uid}`,
        `--regid=${gid}`,
        groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups',
        '--',
        ...command,
      ],
      timeoutMs,
    );
  }

  private onExit(record: PodRecord, worker: ContainerWorker, instance: number, terminated: Terminated): void {
    if (worker.instance !== instance) return;
    worker.child = undefined;
    worker.ready = false;
    worker.lastTerminated = terminated;
    worker.state = { terminated };
    if (record.deleting) return;
    const policy = String(podSpec(record.pod).restartPolicy ?? 'Always');
    const restart = policy === 'Always' || (policy === 'OnFailure' && terminated.exitCode !== 0);
    if (!restart) {
      this.report(record);
      this.refreshHosts();
      return;
    }
    if (Date.now() - worker.startedAtMs >= this.backOff.resetAfterMs) worker.nextBackOffMs = this.backOff.initialMs;
    const wait = worker.nextBackOffMs;
    worker.nextBackOffMs = Math.min(wait * 2, this.backOff.maxMs);
    const message = `back-off ${formatDuration(wait)} restarting failed container=${worker.name} pod=${record.pod.metadata.name}_${record.pod.metadata.namespace}(${record.uid})`;
    worker.state = { waiting: { reason: 'CrashLoopBackOff', message } };
    this.event(record, 'Warning', 'BackOff', 'Back-off restarting failed container', worker);
    this.report(record);
    this.refreshHosts();
    this.later(worker, wait, () => this.startContainer(record, worker));
  }

  /** SIGTERM to the container's process group, SIGKILL after the grace period; resolves once it has exited. */
  private async kill(worker: ContainerWorker, graceMs: number): Promise<void> {
    const child = worker.child;
    if (!child?.pid) return;
    const pgid = child.pid;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-pgid, name);
      } catch {
        // Already gone.
      }
    };
    signal('SIGTERM');
    const hard = setTimeout(() => signal('SIGKILL'), graceMs);
    await worker.exited;
    clearTimeout(hard);
  }

  private async terminate(record: PodRecord, graceMs: number): Promise<void> {
    for (const worker of record.containers) {
      for (const timer of worker.timers) clearTimeout(timer);
      worker.timers.clear();
      worker.ready = false;
    }
    this.report(record);
    this.refreshHosts();
    await Promise.all(
      record.containers.map(async (worker) => {
        if (worker.child) this.event(record, 'Normal', 'Killing', `Stopping container ${worker.name}`, worker);
        await this.kill(worker, graceMs);
      }),
    );
    await record.attached.catch(() => undefined);
    await this.hostsRefresh;
    if (record.network) await this.network.detach(record.network);
    for (const worker of record.containers) worker.logs.remove();
    await rm(record.dir, { recursive: true, force: true });
    this.pods.delete(record.key);
    this.refreshHosts();
  }

  private setWaiting(record: PodRecord, reason: string, message: string): void {
    for (const worker of record.containers)
      if ('waiting' in worker.state && !worker.launch) worker.state = { waiting: { reason, message } };
    this.report(record);
  }

  private later(worker: ContainerWorker, ms: number, task: () => unknown): void {
    const timer = setTimeout(() => {
      worker.timers.delete(timer);
      void task();
    }, ms);
    worker.timers.add(timer);
  }

  /** Computes the pod's full status and hands it to the callback when it changed. */
  private report(record: PodRecord): void {
    if (this.pods.get(record.key) !== record) return;
    const status = this.podStatus(record);
    if (record.status && deepEqual(record.status, status)) return;
    const readinessChanged = podIsReady(record.status) !== podIsReady(status);
    record.status = status;
    this.statusCallback?.(
      record.pod.metadata.namespace ?? 'default',
      record.pod.metadata.name ?? '',
      record.uid,
      status,
    );
    if (readinessChanged) this.refreshHosts();
  }

  private podStatus(record: PodRecord): JsonRecord {
    const previous = record.status;
    const workers = record.containers;
    const allReady = workers.length > 0 && workers.every((w) => w.ready) && !record.deleting;
    const notReady = workers.filter((w) => !w.ready).map((w) => w.name);
    const readyReason = allReady
      ? {}
      : { reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]` };
    const neverRan = workers.some((w) => w.instance === 0);
    const terminated = workers.every((w) => 'terminated' in w.state);
    const phase = neverRan
      ? 'Pending'
      : terminated
        ? workers.every((w) => 'terminated' in w.state && w.state.terminated.exitCode === 0)
          ? 'Succeeded'
          : 'Failed'
        : 'Running';
    const condition = (type: string, ok: boolean, extra: JsonRecord = {}) => {
      const status = ok ? 'True' : 'False';
      const before = Array.isArray(previous?.conditions)
        ? previous.conditions.filter(isRecord).find((c) => c.type === type)
        : undefined;
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: before?.status === status ? before.lastTransitionTime : timestamp(),
        ...extra,
      };
    };
    const status: JsonRecord = {
      phase,
      conditions: [
        condition('PodReadyToStartContainers', record.network !== undefined),
        condition('Initialized', true),
        condition('Ready', allReady, readyReason),
        condition('ContainersReady', allReady, readyReason),
        condition('PodScheduled', true),
      ],
      hostIP: this.nodeInfo.address,
      hostIPs: [{ ip: this.nodeInfo.address }],
      startTime: record.startTime,
      containerStatuses: workers.map((w) => ({
        name: w.name,
        state: w.state,
        lastState: w.lastTerminated && !('terminated' in w.state) ? { terminated: w.lastTerminated } : {},
        ready: w.ready,
        restartCount: w.restartCount,
        image: w.spec.image,
        imageID: w.launch ? String(w.spec.image) : '',
        ...('running' in w.state && w.child?.pid ? { containerID: `process://${w.child.pid}` } : {}),
        started: 'running' in w.state && w.started,
      })),
      qosClass: qosClass(workers.map((w) => w.spec)),
    };
    if (record.network) {
      status.podIP = record.network.ip;
      status.podIPs = [{ ip: record.network.ip }];
    }
    return status;
  }

  private event(
    record: PodRecord,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    worker?: ContainerWorker,
  ): void {
    this.eventCallback?.(record.pod.metadata.namespace ?? 'default', record.pod.metadata.name ?? '', record.uid, {
      type,
      reason,
      message,
      ...(worker ? { fieldPath: `spec.containers{${worker.name}}` } : {}),
    });
  }

  /** Every pod Services may select: the API's view, with this node's own pods as it knows them right now. */
  private endpoints(): PodEndpoint[] {
    const own = new Map([...this.pods.values()].map((r) => [r.uid, r]));
    const endpoints: PodEndpoint[] = [];
    for (const pod of this.resources.list('', 'pods')) {
      if (own.has(pod.metadata.uid ?? '')) continue;
      const status = isRecord(pod.status) ? pod.status : undefined;
      endpoints.push({
        namespace: pod.metadata.namespace ?? 'default',
        labels: pod.metadata.labels ?? {},
        ip: typeof status?.podIP === 'string' && !pod.metadata.deletionTimestamp ? status.podIP : undefined,
        ready: podIsReady(status) && !pod.metadata.deletionTimestamp,
      });
    }
    for (const record of this.pods.values()) {
      endpoints.push({
        namespace: record.pod.metadata.namespace ?? 'default',
        labels: record.pod.metadata.labels ?? {},
        ip: record.deleting ? undefined : record.network?.ip,
        ready: record.status ? podIsReady(record.status) : false,
      });
    }
    return endpoints;
  }

  /** Rewrites the hosts files whose content changed; coalesces calls that arrive while one is running. */
  private refreshHosts(): void {
    if (this.hostsRefresh) {
      this.hostsAgain = true;
      return;
    }
    this.hostsRefresh = (async () => {
      do {
        this.hostsAgain = false;
        await new Promise((resolve) => setImmediate(resolve));
        const endpoints = this.endpoints();
        for (const record of [...this.pods.values()]) await this.writeHosts(record, endpoints);
      } while (this.hostsAgain);
    })()
      .catch(() => undefined)
      .finally(() => {
        this.hostsRefresh = undefined;
      });
  }

  private async writeHosts(record: PodRecord, endpoints: readonly PodEndpoint[]): Promise<void> {
    const network = record.network;
    if (!network || record.deleting) return;
    const content = hostsFile(
      { namespace: record.pod.metadata.namespace ?? 'default', name: record.pod.metadata.name ?? '', ip: network.ip },
      serviceAddresses(this.resources, endpoints),
    );
    if (content === record.hosts) return;
    record.hosts = content;
    await writeInPlace(`/etc/netns/${network.netns}/hosts`, content);
  }
}

/** Until `useResources`: no objects, so volumes that need one wait. */
const NO_RESOURCES: ResourceReader = { get: () => undefined, list: () => [] };

/** `spec.terminationGracePeriodSeconds`, 30 by default. */
export function terminationGraceSeconds(pod: KubeObject): number {
  const value = podSpec(pod).terminationGracePeriodSeconds;
  return typeof value === 'number' ? value : 30;
}

/** The direct children of a process, from /proc. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 1) : 0;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
