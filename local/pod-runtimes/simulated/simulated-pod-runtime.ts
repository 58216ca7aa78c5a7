import type { Readable } from 'node:stream';
import { ContainerLog } from '../../kube-standin/node/container-log.ts';
import type {
  LogOptions,
  NodeInfo,
  PodEvent,
  PodEventCallback,
  PodRuntime,
  PodStatusCallback,
} from '../../kube-standin/node/pod-runtime.ts';
import { isRecord, type JsonRecord, type KubeObject, timestamp } from '../../kube-standin/objects.ts';

/** Why a workload's Pods do not become ready, as a container waiting reason (`ImagePullBackOff` …). */
export type WorkloadFailure = { reason: string; message: string };

/** A failure set on a workload: it applies to the Pods of the template revision it was set on. */
export type StoredFailure = WorkloadFailure & { hash: string };

export type SimulatedPodRuntimeOptions = {
  /** How long a Pod takes from `createPod` to Running and Ready, in ms. @default 50 */
  readinessDelayMs?: number;
  /** @default kube-standin-node */
  nodeName?: string;
  /**
   * The node's capacity (and allocatable). @default { cpu: '1k', memory: '1Pi', pods: '1M' }: room for thousands
   * of tenants, since nothing runs.
   */
  capacity?: Readonly<Record<string, string>>;
};

const DEFAULT_NODE = 'kube-standin-node';
const DEFAULT_CAPACITY = { cpu: '1k', memory: '1Pi', pods: '1M', 'ephemeral-storage': '1Pi' };
/** The kubelet's crash-loop back-off: 10 s, doubling, at most five minutes. */
const BACKOFF_START_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;

type Container = {
  name: string;
  image: string;
  log: ContainerLog;
  previous?: ContainerLog;
  restarts: number;
  lastTerminated?: JsonRecord;
  startedAt?: string;
};

type SimulatedPod = {
  pod: KubeObject;
  uid: string;
  state: 'creating' | 'running' | 'failed';
  failure?: WorkloadFailure;
  createdAt: number;
  startTime: string;
  transitionTime: string;
  ip?: string;
  containers: Container[];
  timer?: NodeJS.Timeout;
  backoffMs: number;
  status: JsonRecord;
};

/**
 * A PodRuntime in which nothing runs: a Pod turns Running and Ready `readinessDelayMs` after it was started, or
 * fails the way a test asks (`fail`: ImagePullBackOff, CrashLoopBackOff with a growing restartCount and the last
 * run's termination, any other waiting reason), or on its own when an image contains `does-not-exist`. Each start
 * of a container writes one log line, so `kubectl logs` (and `--previous` after a crash) has something to show.
 * Pod IPs come from 10.244.0.0/16; nothing listens on them.
 */
export class SimulatedPodRuntime implements PodRuntime {
  readonly kind = 'simulated' as const;
  private readonly pods = new Map<string, SimulatedPod>();
  private readonly failures = new Map<string, StoredFailure>();
  private readonly ipsInUse = new Set<number>();
  private readonly nodeInfo: NodeInfo;
  private readinessDelayMs: number;
  private nextIp = 0;
  private statusCallback: PodStatusCallback = () => {};
  private eventCallback: PodEventCallback = () => {};

  constructor(options: SimulatedPodRuntimeOptions = {}) {
    this.readinessDelayMs = options.readinessDelayMs ?? 50;
    const capacity = { ...DEFAULT_CAPACITY, ...options.capacity };
    this.nodeInfo = { name: options.nodeName ?? DEFAULT_NODE, capacity, allocatable: capacity, address: '127.0.0.1' };
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

  async createPod(pod: KubeObject): Promise<void> {
    const key = podKey(pod);
    if (this.pods.get(key)?.uid === pod.metadata.uid) return;
    const now = Date.now();
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const containers = (Array.isArray(spec.containers) ? spec.containers.filter(isRecord) : []).map((c) => ({
      name: String(c.name),
      image: String(c.image),
      log: new ContainerLog(),
      restarts: 0,
    }));
    const entry: SimulatedPod = {
      pod,
      uid: pod.metadata.uid!,
      state: 'creating',
      createdAt: now,
      startTime: timestamp(now),
      transitionTime: timestamp(now),
      containers,
      backoffMs: BACKOFF_START_MS,
      status: {},
    };
    this.pods.set(key, entry);
    this.report(entry);
    this.settle(entry);
  }

  async updatePod(pod: KubeObject): Promise<void> {
    const entry = this.pods.get(podKey(pod));
    if (entry && entry.uid === pod.metadata.uid) entry.pod = pod;
  }

  async deletePod(pod: KubeObject): Promise<void> {
    const key = podKey(pod);
    const entry = this.pods.get(key);
    if (!entry || entry.uid !== pod.metadata.uid) return;
    this.release(entry);
    this.pods.delete(key);
  }

  getPodStatus(namespace: string, name: string): JsonRecord | undefined {
    return this.pods.get(`${namespace}/${name}`)?.status;
  }

  readLogs(namespace: string, name: string, container: string, options: LogOptions): Readable | undefined {
    const found = this.pods.get(`${namespace}/${name}`)?.containers.find((c) => c.name === container);
    const log = options.previous ? found?.previous : found?.log;
    return log?.read(options);
  }

  async stop(): Promise<void> {
    for (const entry of this.pods.values()) this.release(entry);
    this.pods.clear();
  }

  /** Changes how long Pods take to become ready; Pods not ready yet take the new delay from their start. */
  setReadinessDelay(ms: number): void {
    this.readinessDelayMs = ms;
    for (const entry of this.pods.values()) if (entry.state === 'creating') this.settle(entry);
  }

  /**
   * Makes the Pods of a workload's template revision fail with `failure` (`workload` is `deployments/<ns>/<name>` or
   * `statefulsets/<ns>/<name>`, `hash` its `pod-template-hash` or template hash), until healed.
   */
  fail(workload: string, failure: StoredFailure): void {
    this.failures.set(workload, failure);
    for (const entry of this.pods.values()) if (workloadOf(entry.pod)?.key === workload) this.settle(entry);
  }

  /** Undoes `fail`: the Pods then start as usual. */
  heal(workload: string): void {
    if (!this.failures.delete(workload)) return;
    for (const entry of this.pods.values()) if (workloadOf(entry.pod)?.key === workload) this.settle(entry);
  }

  /** The failures set, to persist: they survive a restart with a data file. */
  exportFailures(): [string, StoredFailure][] {
    return [...this.failures];
  }

  importFailures(entries: unknown): void {
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && isRecord(entry[1])) {
        this.failures.set(entry[0], entry[1] as StoredFailure);
      }
    }
  }

  /** Brings a Pod to the state it is due: failed, running, or still creating until its ready time. */
  private settle(entry: SimulatedPod): void {
    if (!this.pods.has(podKey(entry.pod))) return;
    const failure = this.failureFor(entry.pod);
    if (failure) {
      if (entry.state !== 'failed' || entry.failure?.reason !== failure.reason) this.enterFailure(entry, failure);
      return;
    }
    if (entry.state === 'failed') {
      entry.state = 'creating';
      entry.failure = undefined;
      clearTimeout(entry.timer);
    }
    if (entry.state !== 'creating') return;
    clearTimeout(entry.timer);
    const wait = entry.createdAt + this.readinessDelayMs - Date.now();
    if (wait > 0) {
      entry.timer = setTimeout(() => this.settle(entry), wait);
      entry.timer.unref();
      return;
    }
    this.start(entry);
  }

  private start(entry: SimulatedPod): void {
    const now = timestamp();
    entry.state = 'running';
    entry.transitionTime = now;
    this.assignIp(entry);
    for (const c of entry.containers) {
      this.event(entry, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, c);
      this.event(entry, 'Normal', 'Created', `Created container: ${c.name}`, c);
      this.run(c, now);
      this.event(entry, 'Normal', 'Started', `Started container ${c.name}`, c);
    }
    this.report(entry);
  }

  private enterFailure(entry: SimulatedPod, failure: WorkloadFailure): void {
    clearTimeout(entry.timer);
    entry.state = 'failed';
    entry.failure = failure;
    entry.transitionTime = timestamp();
    this.assignIp(entry);
    for (const c of entry.containers) {
      if (failure.reason === 'ImagePullBackOff' || failure.reason === 'ErrImagePull') {
        this.event(entry, 'Normal', 'Pulling', `Pulling image "${c.image}"`, c);
        this.event(entry, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${failure.message}`, c);
        this.event(entry, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, c);
      } else if (failure.reason !== 'CrashLoopBackOff') {
        this.event(entry, 'Warning', 'Failed', `Error: ${failure.reason}`, c);
      }
    }
    if (failure.reason === 'CrashLoopBackOff') this.crash(entry);
    else this.report(entry);
  }

  /** One more failed run of every container, then the back-off until the next one. */
  private crash(entry: SimulatedPod): void {
    const now = timestamp();
    for (const c of entry.containers) {
      this.run(c, now);
      c.log.append(`simulated container ${c.name} exited with code 1`);
      c.log.close();
      // Waiting to restart: the run that just ended is the last terminated one, which `--previous` reads.
      c.previous = c.log;
      c.restarts++;
      c.lastTerminated = { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now };
      this.event(
        entry,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${c.name} in pod ${entry.pod.metadata.name}_${entry.pod.metadata.namespace}(${entry.uid})`,
        c,
      );
    }
    this.report(entry);
    entry.timer = setTimeout(() => {
      if (entry.state === 'failed' && entry.failure?.reason === 'CrashLoopBackOff') this.crash(entry);
    }, entry.backoffMs);
    entry.timer.unref();
    entry.backoffMs = Math.min(entry.backoffMs * 2, BACKOFF_MAX_MS);
  }

  /** A new run of a container: the last run's log becomes the previous one. */
  private run(c: Container, now: string): void {
    if (c.startedAt !== undefined) {
      c.log.close();
      c.previous = c.log;
      c.log = new ContainerLog();
    }
    c.startedAt = now;
    c.log.append(`simulated container ${c.name} started (image ${c.image}, run ${c.restarts + 1})`);
  }

  private report(entry: SimulatedPod): void {
    entry.status = this.statusOf(entry);
    const { namespace, name } = entry.pod.metadata;
    this.statusCallback(namespace!, name!, entry.uid, entry.status);
  }

  private statusOf(entry: SimulatedPod): JsonRecord {
    const { state, failure } = entry;
    const ready = state === 'running';
    const crashing = failure?.reason === 'CrashLoopBackOff';
    const names = entry.containers.map((c) => c.name);
    const conditionStatus = ready ? 'True' : 'False';
    const notReady = ready
      ? {}
      : { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` };
    const condition = (type: string, status: string, time: string, extra: JsonRecord = {}) => ({
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: time,
      ...extra,
    });
    const created = entry.pod.metadata.creationTimestamp ?? entry.startTime;
    const status: JsonRecord = {
      phase: ready || crashing ? 'Running' : 'Pending',
      conditions: [
        condition('PodReadyToStartContainers', state === 'creating' ? 'False' : 'True', entry.transitionTime),
        condition('Initialized', 'True', created),
        condition('Ready', conditionStatus, entry.transitionTime, notReady),
        condition('ContainersReady', conditionStatus, entry.transitionTime, notReady),
      ],
      hostIP: this.nodeInfo.address,
      hostIPs: [{ ip: this.nodeInfo.address }],
      startTime: entry.startTime,
      containerStatuses: entry.containers.map((c) => ({
        name: c.name,
        state: ready
          ? { running: { startedAt: c.startedAt } }
          : {
              waiting: failure ? { reason: failure.reason, message: failure.message } : { reason: 'ContainerCreating' },
            },
        ...(c.lastTerminated ? { lastState: { terminated: c.lastTerminated } } : { lastState: {} }),
        ready,
        restartCount: c.restarts,
        image: c.image,
        imageID: ready || crashing ? `${c.image}@sha256:${'0'.repeat(64)}` : '',
        started: ready,
      })),
    };
    if (entry.ip) {
      status.podIP = entry.ip;
      status.podIPs = [{ ip: entry.ip }];
    }
    return JSON.parse(JSON.stringify(status)) as JsonRecord;
  }

  private event(entry: SimulatedPod, type: PodEvent['type'], reason: string, message: string, c: Container): void {
    const { namespace, name } = entry.pod.metadata;
    this.eventCallback(namespace!, name!, entry.uid, {
      type,
      reason,
      message,
      fieldPath: `spec.containers{${c.name}}`,
    });
  }

  private failureFor(pod: KubeObject): WorkloadFailure | undefined {
    const workload = workloadOf(pod);
    const explicit = workload && this.failures.get(workload.key);
    if (explicit && workload.revision === workload.expected(explicit.hash)) return explicit;
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const containers = Array.isArray(spec.containers) ? spec.containers.filter(isRecord) : [];
    const missing = containers.find((c) => String(c.image).includes('does-not-exist'));
    if (missing) return { reason: 'ImagePullBackOff', message: `Back-off pulling image "${String(missing.image)}"` };
    return undefined;
  }

  /** The lowest free address after the last one handed out, in 10.244.0.1 – 10.244.255.254. */
  private assignIp(entry: SimulatedPod): void {
    if (entry.ip) return;
    for (let tries = 0; tries < 65_534; tries++) {
      this.nextIp = (this.nextIp % 65_534) + 1;
      if (this.ipsInUse.has(this.nextIp)) continue;
      this.ipsInUse.add(this.nextIp);
      entry.ip = `10.244.${this.nextIp >> 8}.${this.nextIp & 255}`;
      return;
    }
    throw new Error('simulated pod runtime: 10.244.0.0/16 has no free address left');
  }

  private release(entry: SimulatedPod): void {
    clearTimeout(entry.timer);
    for (const c of entry.containers) c.log.close();
    if (entry.ip) {
      const [, , hi, lo] = entry.ip.split('.').map(Number);
      this.ipsInUse.delete(hi! * 256 + lo!);
    }
  }
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** The workload that controls a Pod, as the key failures are set on, and the Pod's template revision. */
function workloadOf(
  pod: KubeObject,
): { key: string; revision: string | undefined; expected: (hash: string) => string } | undefined {
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller);
  const labels = pod.metadata.labels ?? {};
  const namespace = pod.metadata.namespace;
  if (owner?.kind === 'Deployment') {
    return { key: `deployments/${namespace}/${owner.name}`, revision: labels['pod-template-hash'], expected: (h) => h };
  }
  if (owner?.kind === 'StatefulSet') {
    return {
      key: `statefulsets/${namespace}/${owner.name}`,
      revision: labels['controller-revision-hash'],
      expected: (h) => `${owner.name}-${h}`,
    };
  }
  return undefined;
}
