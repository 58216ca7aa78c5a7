import type { KubeApi } from './api.ts';
import { isRunningOrPending, PODS, specOf } from './controllers/pods.ts';
import { WorkQueue } from './controllers/work-queue.ts';
import type { EventRecorder } from './events.ts';
import type { NodeInfo } from './node/pod-runtime.ts';
import { isRecord, type JsonRecord, type KubeObject, timestamp } from './objects.ts';
import { parseQuantity } from './quantity.ts';
import type { StoreEvent } from './store.ts';

const SOURCE = { component: 'default-scheduler' };
const QUEUE_KEY = 'pending';

/**
 * The scheduler of a one-node cluster: binds each Pod without `spec.nodeName` (and with the default scheduler) to
 * the node when the node's allocatable memory, less the memory requests of the Pods bound to it that have not
 * finished (terminating ones included: they still hold it), fits the Pod's request. A Pod that does not fit stays
 * Pending with PodScheduled=False/Unschedulable and a FailedScheduling event, and is tried again whenever a Pod
 * leaves the node or finishes. Memory is the only resource it checks; CPU and the pod count are not.
 */
export class Scheduler {
  private readonly queue = new WorkQueue(() => this.scheduleAll());
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
    private readonly node: () => NodeInfo,
  ) {}

  start(): void {
    this.unsubscribe = this.api.store.subscribe((event) => this.onEvent(event));
    this.queue.add(QUEUE_KEY);
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private onEvent(event: StoreEvent): void {
    if (event.def !== PODS) return;
    const { object, previous } = event;
    const unbound = !specOf(object).nodeName && !object.metadata.deletionTimestamp;
    const freed =
      event.type === 'DELETED' ||
      (previous !== undefined && isRunningOrPending(previous) && !isRunningOrPending(object));
    if ((event.type === 'ADDED' && unbound) || freed) this.queue.add(QUEUE_KEY);
  }

  /** Binds every pending Pod that fits, oldest first, as the scheduling queue orders Pods of equal priority. */
  private scheduleAll(): void {
    const node = this.node();
    const pods = this.api.store.list(PODS);
    let free = parseQuantity(node.allocatable.memory ?? '0');
    for (const pod of pods) {
      if (specOf(pod).nodeName === node.name && isRunningOrPending(pod)) free -= memoryRequest(pod);
    }
    const pending = pods
      .filter((p) => !specOf(p).nodeName && !p.metadata.deletionTimestamp && isRunningOrPending(p))
      .filter((p) => (specOf(p).schedulerName ?? 'default-scheduler') === 'default-scheduler')
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    for (const pod of pending) {
      const request = memoryRequest(pod);
      if (request <= free) {
        free -= request;
        this.bind(pod, node);
      } else {
        this.markUnschedulable(pod);
      }
    }
  }

  /** What the `pods/binding` subresource does: the PodScheduled condition, then the node name. */
  private bind(pod: KubeObject, node: NodeInfo): void {
    const status = isRecord(pod.status) ? pod.status : {};
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
      (c) => !(isRecord(c) && c.type === 'PodScheduled'),
    );
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp() });
    const scheduled = this.api.internalStatusUpdate(PODS, pod, { ...status, conditions }, 'kube-scheduler');
    this.api.internalUpdate(
      PODS,
      scheduled,
      { ...scheduled, spec: { ...specOf(scheduled), nodeName: node.name } },
      'kube-scheduler',
    );
    const { namespace, name } = pod.metadata;
    this.events.record(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${namespace}/${name} to ${node.name}`,
      SOURCE,
    );
  }

  private markUnschedulable(pod: KubeObject): void {
    const message = '0/1 nodes are available: 1 Insufficient memory.';
    const status = isRecord(pod.status) ? pod.status : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
    const current = conditions.find((c) => c.type === 'PodScheduled');
    if (current?.status === 'False' && current.message === message) return;
    const scheduled: JsonRecord = {
      type: 'PodScheduled',
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime: timestamp(),
      reason: 'Unschedulable',
      message,
    };
    const next = [...conditions.filter((c) => c.type !== 'PodScheduled'), scheduled];
    this.api.internalStatusUpdate(PODS, pod, { ...status, phase: 'Pending', conditions: next }, 'kube-scheduler');
    this.events.record(
      pod,
      'Warning',
      'FailedScheduling',
      `${message} preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`,
      SOURCE,
    );
  }
}

/**
 * A Pod's memory request in bytes, as the scheduler computes it: the sum over its containers, or the largest init
 * container's when that is more. A container with a limit and no request requests its limit (API defaulting).
 */
export function memoryRequest(pod: KubeObject): number {
  const spec = specOf(pod);
  const of = (list: unknown): number[] =>
    (Array.isArray(list) ? list.filter(isRecord) : []).map((c) => {
      const resources = isRecord(c.resources) ? c.resources : {};
      const requests = isRecord(resources.requests) ? resources.requests : {};
      const limits = isRecord(resources.limits) ? resources.limits : {};
      const value = parseQuantity(requests.memory ?? limits.memory ?? 0);
      return Number.isFinite(value) ? value : 0;
    });
  const containers = of(spec.containers).reduce((sum, v) => sum + v, 0);
  return Math.max(containers, ...of(spec.initContainers));
}
