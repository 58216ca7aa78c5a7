import { Readable } from 'node:stream';
import type {
  LogOptions,
  NodeInfo,
  PodEventCallback,
  PodRuntime,
  PodStatusCallback,
} from '../../../local/kube-standin/node/pod-runtime.ts';
import type { JsonRecord, KubeObject } from '../../../local/kube-standin/objects.ts';

type Entry = { pod: KubeObject; ready: boolean; status: JsonRecord };

/**
 * A PodRuntime the test drives by hand: Pods stay ContainerCreating until `setReady`, deletions can be held until
 * `releaseDeletions` (a container that takes its grace period to stop), and every container's log is canned text.
 * `kind` 'kubelet' with `ip` 127.0.0.1 makes the stand-in treat Pod IPs as reachable (for the service proxy).
 */
export class ManualPodRuntime implements PodRuntime {
  readonly pods = new Map<string, Entry>();
  readonly deletions: { pod: string; grace: number }[] = [];
  private held: (() => void)[] = [];
  private holding = false;
  private statusCallback: PodStatusCallback = () => {};
  private eventCallback: PodEventCallback = () => {};

  constructor(
    readonly kind: 'simulated' | 'kubelet' = 'simulated',
    private readonly ip = '10.244.9.9',
    private readonly memory = '64Gi',
  ) {}

  node(): NodeInfo {
    const capacity = { cpu: '8', memory: this.memory, pods: '110' };
    return { name: 'manual-node', capacity, allocatable: capacity, address: '127.0.0.1' };
  }

  onPodStatus(callback: PodStatusCallback): void {
    this.statusCallback = callback;
  }

  onEvent(callback: PodEventCallback): void {
    this.eventCallback = callback;
  }

  async createPod(pod: KubeObject): Promise<void> {
    const entry = { pod, ready: false, status: {} };
    this.pods.set(key(pod.metadata.namespace!, pod.metadata.name!), entry);
    this.eventCallback(pod.metadata.namespace!, pod.metadata.name!, pod.metadata.uid!, {
      type: 'Normal',
      reason: 'Started',
      message: 'Started container main',
      fieldPath: 'spec.containers{main}',
    });
    this.report(entry);
  }

  async updatePod(): Promise<void> {}

  async deletePod(pod: KubeObject, grace: number): Promise<void> {
    this.deletions.push({ pod: pod.metadata.name!, grace });
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    this.pods.delete(key(pod.metadata.namespace!, pod.metadata.name!));
  }

  getPodStatus(namespace: string, name: string): JsonRecord | undefined {
    return this.pods.get(key(namespace, name))?.status;
  }

  readLogs(namespace: string, name: string, container: string, options: LogOptions): Readable | undefined {
    if (!this.pods.has(key(namespace, name))) return undefined;
    const lines = [`log of ${container} in ${namespace}/${name}`, `previous: ${options.previous ?? false}`];
    return Readable.from([`${lines.join('\n')}\n`]);
  }

  async stop(): Promise<void> {
    this.releaseDeletions();
    this.pods.clear();
  }

  /** Marks a Pod's containers ready (or not), as a readiness probe would. */
  setReady(namespace: string, name: string, ready: boolean): void {
    const entry = this.pods.get(key(namespace, name));
    if (!entry) throw new Error(`no pod ${namespace}/${name} runs`);
    entry.ready = ready;
    this.report(entry);
  }

  /** From now on, deletePod waits for `releaseDeletions`. */
  holdDeletions(): void {
    this.holding = true;
  }

  releaseDeletions(): void {
    this.holding = false;
    for (const release of this.held) release();
    this.held = [];
  }

  private report(entry: Entry): void {
    const { ready } = entry;
    const state = ready ? 'True' : 'False';
    entry.status = {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: state, lastProbeTime: null, lastTransitionTime: new Date().toISOString() },
        { type: 'ContainersReady', status: state, lastProbeTime: null, lastTransitionTime: new Date().toISOString() },
      ],
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      containerStatuses: [
        {
          name: 'main',
          ready,
          restartCount: 0,
          state: { running: { startedAt: new Date().toISOString() } },
          image: 'app:1',
          imageID: '',
          started: true,
        },
      ],
    };
    const { namespace, name, uid } = entry.pod.metadata;
    this.statusCallback(namespace!, name!, uid!, entry.status);
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
