import type { KubeApi } from '../api.ts';
import { PODS, specOf } from '../controllers/pods.ts';
import { WorkQueue } from '../controllers/work-queue.ts';
import type { EventRecorder } from '../events.ts';
import { deepEqual, isRecord, type JsonRecord, type KubeObject, timestamp } from '../objects.ts';
import { resourceDef, STANDIN_VERSION } from '../resources.ts';
import type { StoreEvent } from '../store.ts';
import type { PodEvent, PodRuntime, ResourceReader } from './pod-runtime.ts';

const NODES = resourceDef('', 'nodes');
const DEFAULT_GRACE_SECONDS = 30;

/**
 * The kubelet's side of the stand-in, over any PodRuntime: it registers the Node object, hands every Pod bound to
 * its node to the runtime (createPod, updatePod, deletePod with the Pod's grace period), writes the status the
 * runtime reports into the Pod (keeping the scheduler's PodScheduled condition and the QoS class), records the
 * runtime's events, and finishes a graceful deletion by deleting the Pod with a grace period of 0 once the runtime
 * has stopped it. On start it does what a rebooted kubelet does: starts every Pod bound to its node again. Pods
 * bound to a node that no longer exists are deleted, as the pod garbage collector does.
 */
export class NodeAgent {
  /** uid → what the runtime was last told, so status writes (which come back as store events) are not echoed. */
  private readonly started = new Map<string, KubeObject>();
  private readonly stopping = new Set<string>();
  private readonly queue = new WorkQueue((key) => this.syncKey(key));
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly api: KubeApi,
    private readonly runtime: PodRuntime,
    private readonly resources: ResourceReader,
    private readonly events: EventRecorder,
    private readonly log: (line: string) => void,
  ) {}

  get nodeName(): string {
    return this.runtime.node().name;
  }

  start(): void {
    this.runtime.onPodStatus((namespace, name, uid, status) => this.writeStatus(namespace, name, uid, status));
    this.runtime.onEvent?.((namespace, name, uid, event) => this.recordEvent(namespace, name, uid, event));
    this.runtime.useResources?.(this.resources);
    this.registerNode();
    this.unsubscribe = this.api.store.subscribe((event) => this.onEvent(event));
    for (const pod of this.api.store.list(PODS)) {
      const nodeName = specOf(pod).nodeName;
      if (nodeName === this.nodeName) this.sync(pod);
      else if (nodeName) this.api.internalDelete(PODS, pod, 0);
    }
  }

  /** Stops watching and stops every Pod, as a node shutdown would; the Pods stay in the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.queue.stop();
    await this.runtime.stop();
    this.started.clear();
  }

  private registerNode(): void {
    const info = this.runtime.node();
    for (const node of this.api.store.list(NODES)) {
      if (node.metadata.name !== info.name) this.api.internalDelete(NODES, node);
    }
    const now = timestamp();
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
      reason,
      message,
    });
    const status = {
      capacity: { ...info.capacity },
      allocatable: { ...info.allocatable },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition(
          'Ready',
          'True',
          'KubeletReady',
          `kubelet is posting ready status (${this.runtime.kind} pod runtime)`,
        ),
      ],
      addresses: [
        { type: 'InternalIP', address: info.address },
        { type: 'Hostname', address: info.name },
      ],
      nodeInfo: {
        kubeletVersion: STANDIN_VERSION.gitVersion,
        kubeProxyVersion: STANDIN_VERSION.gitVersion,
        containerRuntimeVersion: `flinkplane-${this.runtime.kind}://1`,
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        osImage: 'Flinkplane kube stand-in node',
        kernelVersion: '',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    };
    const labels = {
      'kubernetes.io/hostname': info.name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': status.nodeInfo.architecture,
    };
    let node = this.api.store.get(NODES, undefined, info.name);
    if (!node) {
      node = this.api.internalCreate(
        NODES,
        { apiVersion: 'v1', kind: 'Node', metadata: { name: info.name, labels } },
        'kubelet',
      );
    }
    if (node) this.api.internalStatusUpdate(NODES, node, status, 'kubelet');
  }

  private onEvent(event: StoreEvent): void {
    if (event.def !== PODS) return;
    const pod = event.object;
    if (specOf(pod).nodeName !== this.nodeName) return;
    if (event.type === 'DELETED') {
      // Deleted at once (grace 0, or by the namespace going): stop whatever still runs.
      if (this.started.has(pod.metadata.uid!)) void this.kill(pod, 0);
      return;
    }
    // Handled on a later turn, as a watch delivers it: never inside the write that caused it.
    this.queue.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
  }

  private syncKey(key: string): void {
    const [namespace, name] = key.split('/') as [string, string];
    const pod = this.api.store.get(PODS, namespace, name);
    if (pod && specOf(pod).nodeName === this.nodeName && !this.stopped) this.sync(pod);
  }

  /** Brings the runtime in line with one Pod object. */
  private sync(pod: KubeObject): void {
    const uid = pod.metadata.uid!;
    if (pod.metadata.deletionTimestamp) {
      if (this.stopping.has(uid)) return;
      const grace = pod.metadata.deletionGracePeriodSeconds ?? specGrace(pod);
      void this.kill(pod, grace).then(() => {
        const live = this.api.store.get(PODS, pod.metadata.namespace, pod.metadata.name!);
        if (live?.metadata.uid === uid && !this.stopped) this.api.internalDelete(PODS, live, 0);
      });
      return;
    }
    const known = this.started.get(uid);
    if (!known) {
      this.started.set(uid, pod);
      this.runtime.createPod(pod).catch((error: unknown) => {
        this.log(`kube stand-in node: the runtime could not start pod ${key(pod)}: ${String(error)}`);
      });
      return;
    }
    if (!sameDesiredState(known, pod)) {
      this.started.set(uid, pod);
      this.runtime.updatePod(pod).catch((error: unknown) => {
        this.log(`kube stand-in node: the runtime could not update pod ${key(pod)}: ${String(error)}`);
      });
    }
  }

  private async kill(pod: KubeObject, grace: number): Promise<void> {
    const uid = pod.metadata.uid!;
    this.stopping.add(uid);
    try {
      if (this.started.has(uid)) {
        for (const container of containerNames(pod)) {
          this.events.record(
            { ...pod, fieldPath: `spec.containers{${container}}` },
            'Normal',
            'Killing',
            `Stopping container ${container}`,
            this.source(),
          );
        }
      }
      await this.runtime.deletePod(pod, grace);
    } catch (error) {
      this.log(`kube stand-in node: the runtime could not stop pod ${key(pod)}: ${String(error)}`);
    } finally {
      this.started.delete(uid);
      this.stopping.delete(uid);
    }
  }

  /** The status manager: the runtime's view of the Pod, with the conditions and fields it does not own kept. */
  private writeStatus(namespace: string, name: string, uid: string, reported: JsonRecord): void {
    if (this.stopped) return;
    const live = this.api.store.get(PODS, namespace, name);
    if (!live || live.metadata.uid !== uid) return;
    const previous = isRecord(live.status) ? live.status : {};
    const reportedConditions = Array.isArray(reported.conditions) ? reported.conditions.filter(isRecord) : [];
    const kept = (Array.isArray(previous.conditions) ? previous.conditions.filter(isRecord) : []).filter(
      (c) => !reportedConditions.some((r) => r.type === c.type),
    );
    const status: JsonRecord = { ...reported, conditions: [...reportedConditions, ...kept] };
    if (status.qosClass === undefined && previous.qosClass !== undefined) status.qosClass = previous.qosClass;
    if (deepEqual(previous, status)) return;
    this.api.internalStatusUpdate(PODS, live, status, 'kubelet');
  }

  private recordEvent(namespace: string, name: string, uid: string, event: PodEvent): void {
    if (this.stopped) return;
    const live = this.api.store.get(PODS, namespace, name);
    if (!live || live.metadata.uid !== uid) return;
    this.events.record({ ...live, fieldPath: event.fieldPath }, event.type, event.reason, event.message, this.source());
  }

  private source(): { component: string; host: string } {
    return { component: 'kubelet', host: this.nodeName };
  }
}

function key(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

function specGrace(pod: KubeObject): number {
  const grace = specOf(pod).terminationGracePeriodSeconds;
  return typeof grace === 'number' ? grace : DEFAULT_GRACE_SECONDS;
}

function containerNames(pod: KubeObject): string[] {
  const containers = specOf(pod).containers;
  return (Array.isArray(containers) ? containers.filter(isRecord) : []).map((c) => String(c.name));
}

/** Same spec, labels and annotations: a status write is no reason to call `updatePod`. */
function sameDesiredState(a: KubeObject, b: KubeObject): boolean {
  return (
    deepEqual(a.spec, b.spec) &&
    deepEqual(a.metadata.labels, b.metadata.labels) &&
    deepEqual(a.metadata.annotations, b.metadata.annotations)
  );
}
