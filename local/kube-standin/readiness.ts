import type { KubeApi } from './api.ts';
import {
  deepEqual,
  fnv32a,
  isRecord,
  type JsonRecord,
  type KubeObject,
  randomSuffix,
  safeEncode,
  stableStringify,
  timestamp,
} from './objects.ts';
import { type ResourceDef, resourceDef } from './resources.ts';
import type { StoreEvent } from './store.ts';

const DEPLOYMENTS = resourceDef('apps', 'deployments');
const STATEFULSETS = resourceDef('apps', 'statefulsets');
const PODS = resourceDef('', 'pods');
const PVCS = resourceDef('', 'persistentvolumeclaims');
const NODE_NAME = 'kube-standin-node';

/** Why a workload's pods do not become ready, as a container waiting reason. */
export type WorkloadFailure = { reason: string; message: string };

type PodState = 'pending' | 'ready' | 'failed';

/**
 * Simulated Deployment and StatefulSet controllers plus kubelet: keeps one Pod per replica, marks Pods ready
 * `readinessDelayMs` after they appear, rolls Pods when the template changes and writes the workload status
 * the way the real controllers do, so a deploy workflow can wait for rollouts and report failures.
 *
 * Simplified: no ReplicaSets (Pods are owned by the Deployment directly) and no ControllerRevisions; a rollout
 * replaces all old Pods at once when every new Pod is ready, ignoring maxSurge and minReadySeconds; a
 * StatefulSet replaces all Pods at once; a failure shows at once instead of after `progressDeadlineSeconds`.
 */
export class WorkloadSimulator {
  private readonly createdAt = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly queue = new Set<string>();
  private readonly failures = new Map<string, WorkloadFailure & { hash: string }>();
  private flushScheduled = false;
  private podIpCounter = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly random: () => number,
    private readinessDelayMs: number,
  ) {}

  start(): void {
    this.unsubscribe = this.api.store.subscribe((event) => this.onEvent(event));
    for (const def of [DEPLOYMENTS, STATEFULSETS]) {
      for (const obj of this.api.store.list(def))
        this.enqueue(workloadKey(def, obj.metadata.namespace!, obj.metadata.name!));
    }
  }

  stop(): void {
    this.unsubscribe?.();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
  }

  setReadinessDelay(ms: number): void {
    this.readinessDelayMs = ms;
    for (const def of [DEPLOYMENTS, STATEFULSETS]) {
      for (const obj of this.api.store.list(def))
        this.enqueue(workloadKey(def, obj.metadata.namespace!, obj.metadata.name!));
    }
  }

  /** Makes the current Pods of a Deployment (or StatefulSet) fail with `reason` until its template changes. */
  fail(namespace: string, name: string, failure: WorkloadFailure): void {
    const def = this.api.store.get(DEPLOYMENTS, namespace, name) ? DEPLOYMENTS : STATEFULSETS;
    const workload = this.api.store.get(def, namespace, name);
    if (!workload) throw new Error(`kube stand-in: no Deployment or StatefulSet ${namespace}/${name} to fail`);
    const key = workloadKey(def, namespace, name);
    this.failures.set(key, { ...failure, hash: templateHash(specOf(workload).template) });
    this.reconcile(key);
  }

  /** Clears a failure set by `fail`; the Pods then become ready as usual. */
  heal(namespace: string, name: string): void {
    for (const def of [DEPLOYMENTS, STATEFULSETS]) {
      const key = workloadKey(def, namespace, name);
      if (this.failures.delete(key)) this.reconcile(key);
    }
  }

  /** Failures to persist: they survive a restart with a data file. */
  exportFailures(): [string, WorkloadFailure & { hash: string }][] {
    return [...this.failures];
  }

  importFailures(entries: unknown): void {
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && isRecord(entry[1])) {
        this.failures.set(entry[0], entry[1] as WorkloadFailure & { hash: string });
      }
    }
  }

  private onEvent(event: StoreEvent): void {
    const { def, object, previous } = event;
    if (def === DEPLOYMENTS || def === STATEFULSETS) {
      if (event.type === 'MODIFIED' && previous?.metadata.generation === object.metadata.generation) return;
      this.enqueue(workloadKey(def, object.metadata.namespace!, object.metadata.name!));
    } else if (def === PODS && event.type === 'DELETED') {
      this.createdAt.delete(object.metadata.uid!);
      const owner = object.metadata.ownerReferences?.find((r) => r.controller);
      if (owner?.kind === 'Deployment') this.enqueue(workloadKey(DEPLOYMENTS, object.metadata.namespace!, owner.name));
      if (owner?.kind === 'StatefulSet')
        this.enqueue(workloadKey(STATEFULSETS, object.metadata.namespace!, owner.name));
    }
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const keys = [...this.queue];
      this.queue.clear();
      for (const k of keys) this.reconcile(k);
    });
  }

  private reconcile(key: string): void {
    const [resource, namespace, name] = key.split('/') as [string, string, string];
    const def = resource === 'deployments' ? DEPLOYMENTS : STATEFULSETS;
    const workload = this.api.store.get(def, namespace, name);
    if (!workload || workload.metadata.deletionTimestamp) {
      clearTimeout(this.timers.get(key));
      this.timers.delete(key);
      if (!workload) this.failures.delete(key);
      return;
    }
    if (def === DEPLOYMENTS) this.reconcileDeployment(key, workload);
    else this.reconcileStatefulSet(key, workload);
  }

  private reconcileDeployment(key: string, deployment: KubeObject): void {
    const spec = specOf(deployment);
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const hash = templateHash(spec.template);
    const failure = this.failureFor(key, hash, spec.template);
    const owned = this.ownedPods(deployment);
    const current = owned.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
    let old = owned.filter((p) => p.metadata.labels?.['pod-template-hash'] !== hash);

    while (current.length < desired) {
      const name = `${deployment.metadata.name}-${hash}-${randomSuffix(this.random)}`;
      const pod = this.createPod(deployment, name, { 'pod-template-hash': hash });
      if (!pod) break;
      current.push(pod);
    }
    if (current.length > desired) {
      const extras = current
        .sort((a, b) => Number(podState(a) === 'ready') - Number(podState(b) === 'ready'))
        .splice(0, current.length - desired);
      for (const pod of extras) this.api.internalDelete(PODS, pod);
    }
    const nextWake = this.settlePods(current, failure);
    const readyNew = current.filter((p) => podState(p) === 'ready').length;
    if (readyNew === desired && !failure) {
      for (const pod of old) this.api.internalDelete(PODS, pod);
      old = [];
    }
    const all = [...current, ...old];
    const ready = all.filter((p) => podState(p) === 'ready').length;
    const replicaSet = `${deployment.metadata.name}-${hash}`;
    const complete = current.length === desired && ready >= desired && all.length === desired;
    const maxUnavailable = resolveMaxUnavailable(spec, desired);
    const previous =
      isRecord(deployment.status) && Array.isArray(deployment.status.conditions) ? deployment.status.conditions : [];
    const conditions = [
      condition(
        previous,
        'Available',
        ready >= desired - maxUnavailable
          ? ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.']
          : ['False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'],
      ),
      condition(
        previous,
        'Progressing',
        failure
          ? ['False', 'ProgressDeadlineExceeded', `ReplicaSet "${replicaSet}" has timed out progressing.`]
          : complete
            ? ['True', 'NewReplicaSetAvailable', `ReplicaSet "${replicaSet}" has successfully progressed.`]
            : ['True', 'ReplicaSetUpdated', `ReplicaSet "${replicaSet}" is progressing.`],
      ),
    ];
    const status = withoutZeros({
      observedGeneration: deployment.metadata.generation,
      replicas: all.length,
      updatedReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, desired - ready),
      conditions,
    });
    this.writeStatus(DEPLOYMENTS, deployment, status);
    this.wakeAt(key, nextWake);
  }

  private reconcileStatefulSet(key: string, statefulSet: KubeObject): void {
    const spec = specOf(statefulSet);
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const name = statefulSet.metadata.name!;
    const namespace = statefulSet.metadata.namespace!;
    const revision = `${name}-${templateHash(spec.template)}`;
    const failure = this.failureFor(key, revision.slice(name.length + 1), spec.template);
    const owned = new Map(this.ownedPods(statefulSet).map((p) => [p.metadata.name!, p]));
    const pods: KubeObject[] = [];
    for (let i = 0; i < desired; i++) {
      const podName = `${name}-${i}`;
      this.ensureClaims(statefulSet, i);
      let pod = owned.get(podName);
      owned.delete(podName);
      if (pod && pod.metadata.labels?.['controller-revision-hash'] !== revision) {
        this.api.internalDelete(PODS, pod);
        pod = undefined;
      }
      if (!pod && !this.api.store.get(PODS, namespace, podName)) {
        pod = this.createPod(statefulSet, podName, {
          'controller-revision-hash': revision,
          'statefulset.kubernetes.io/pod-name': podName,
          'apps.kubernetes.io/pod-index': String(i),
        });
      }
      if (pod) pods.push(pod);
    }
    for (const extra of owned.values()) this.api.internalDelete(PODS, extra);
    const nextWake = this.settlePods(pods, failure);
    const ready = pods.filter((p) => podState(p) === 'ready').length;
    const status: JsonRecord = {
      observedGeneration: statefulSet.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: pods.length,
      updatedReplicas: pods.length,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
      availableReplicas: ready,
    };
    for (const field of ['readyReplicas', 'currentReplicas', 'updatedReplicas']) {
      if (status[field] === 0) delete status[field];
    }
    this.writeStatus(STATEFULSETS, statefulSet, status);
    this.wakeAt(key, nextWake);
  }

  /** Brings each Pod's status to its due state; answers when the next pending Pod becomes ready. */
  private settlePods(pods: KubeObject[], failure: WorkloadFailure | undefined): number {
    const now = Date.now();
    let nextWake = Number.POSITIVE_INFINITY;
    pods.forEach((pod, i) => {
      const uid = pod.metadata.uid!;
      let created = this.createdAt.get(uid);
      if (created === undefined) {
        created = now;
        this.createdAt.set(uid, now);
      }
      const readyAt = created + this.readinessDelayMs;
      const currentState = podState(pod);
      // A Pod that became ready stays ready when the delay changes later, as a running container would.
      const target: PodState = failure ? 'failed' : currentState === 'ready' || readyAt <= now ? 'ready' : 'pending';
      if (target === 'pending') nextWake = Math.min(nextWake, readyAt);
      if (currentState === target && (target !== 'failed' || waitingReason(pod) === failure?.reason)) return;
      pods[i] = this.api.internalStatusUpdate(PODS, pod, this.podStatus(pod, target, failure), 'kubelet');
    });
    return nextWake;
  }

  private podStatus(pod: KubeObject, state: PodState, failure: WorkloadFailure | undefined): JsonRecord {
    const now = timestamp();
    const containers = Array.isArray(specOf(pod).containers) ? (specOf(pod).containers as JsonRecord[]) : [];
    const names = containers.map((c) => String(c.name));
    const ready = state === 'ready';
    const crashing = failure?.reason === 'CrashLoopBackOff';
    const previous = isRecord(pod.status) ? pod.status : {};
    const conditionStatus = ready ? 'True' : 'False';
    const notReady = ready
      ? {}
      : { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` };
    const status: JsonRecord = {
      phase: ready || crashing ? 'Running' : 'Pending',
      conditions: [
        {
          type: 'PodReadyToStartContainers',
          status: state === 'pending' ? 'False' : 'True',
          lastProbeTime: null,
          lastTransitionTime: now,
        },
        {
          type: 'Initialized',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: pod.metadata.creationTimestamp,
        },
        { type: 'Ready', status: conditionStatus, lastProbeTime: null, lastTransitionTime: now, ...notReady },
        { type: 'ContainersReady', status: conditionStatus, lastProbeTime: null, lastTransitionTime: now, ...notReady },
        {
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: pod.metadata.creationTimestamp,
        },
      ],
      hostIP: '10.0.0.10',
      hostIPs: [{ ip: '10.0.0.10' }],
      startTime: previous.startTime ?? pod.metadata.creationTimestamp,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        state: ready
          ? { running: { startedAt: now } }
          : {
              waiting: failure ? { reason: failure.reason, message: failure.message } : { reason: 'ContainerCreating' },
            },
        ...(crashing
          ? { lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } } }
          : {}),
        ready,
        restartCount: crashing ? 5 : 0,
        image: c.image,
        imageID: ready ? `${String(c.image)}@sha256:${'0'.repeat(64)}` : '',
        started: ready,
      })),
      qosClass: qosClass(containers),
    };
    if (state !== 'pending') {
      const ip = isRecord(previous) && typeof previous.podIP === 'string' ? previous.podIP : this.nextPodIp();
      status.podIP = ip;
      status.podIPs = [{ ip }];
    }
    return status;
  }

  private nextPodIp(): string {
    this.podIpCounter++;
    return `10.244.${(this.podIpCounter >> 8) & 255}.${this.podIpCounter & 255}`;
  }

  private createPod(owner: KubeObject, name: string, extraLabels: Record<string, string>): KubeObject | undefined {
    const spec = specOf(owner);
    const template = isRecord(spec.template) ? spec.template : {};
    const templateMeta = isRecord(template.metadata) ? template.metadata : {};
    const podSpec: JsonRecord = { ...(isRecord(template.spec) ? template.spec : {}), nodeName: NODE_NAME };
    if (owner.kind === 'StatefulSet') {
      podSpec.hostname = name;
      if (spec.serviceName) podSpec.subdomain = spec.serviceName;
      const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates.filter(isRecord) : [];
      const volumes = Array.isArray(podSpec.volumes) ? [...podSpec.volumes] : [];
      for (const claim of claims) {
        const claimName = String((claim.metadata as JsonRecord | undefined)?.name);
        volumes.push({ name: claimName, persistentVolumeClaim: { claimName: `${claimName}-${name}` } });
      }
      if (volumes.length > 0) podSpec.volumes = volumes;
    }
    const metadata: JsonRecord = {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...(isRecord(templateMeta.labels) ? templateMeta.labels : {}), ...extraLabels },
      ownerReferences: [
        {
          apiVersion: owner.apiVersion,
          kind: owner.kind,
          name: owner.metadata.name,
          uid: owner.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    if (isRecord(templateMeta.annotations)) metadata.annotations = templateMeta.annotations;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec } as KubeObject;
    const created = this.api.internalCreate(PODS, pod);
    if (created) this.createdAt.set(created.metadata.uid!, Date.now());
    return created;
  }

  private ensureClaims(statefulSet: KubeObject, ordinal: number): void {
    const spec = specOf(statefulSet);
    const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates.filter(isRecord) : [];
    const selector = isRecord(spec.selector) && isRecord(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    for (const claim of claims) {
      const meta = isRecord(claim.metadata) ? claim.metadata : {};
      const name = `${String(meta.name)}-${statefulSet.metadata.name}-${ordinal}`;
      if (this.api.store.get(PVCS, statefulSet.metadata.namespace, name)) continue;
      this.api.internalCreate(PVCS, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: statefulSet.metadata.namespace,
          labels: {
            ...(isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {}),
            ...(selector as Record<string, string>),
          },
        },
        spec: claim.spec,
      });
    }
  }

  private ownedPods(owner: KubeObject): KubeObject[] {
    return this.api.store
      .list(PODS, owner.metadata.namespace)
      .filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.uid === owner.metadata.uid));
  }

  private failureFor(key: string, hash: string, template: unknown): WorkloadFailure | undefined {
    const explicit = this.failures.get(key);
    if (explicit?.hash === hash) return explicit;
    if (explicit) this.failures.delete(key);
    const podSpec = isRecord(template) && isRecord(template.spec) ? template.spec : {};
    const containers = Array.isArray(podSpec.containers) ? podSpec.containers.filter(isRecord) : [];
    const missing = containers.find((c) => String(c.image).includes('does-not-exist'));
    if (missing) return { reason: 'ImagePullBackOff', message: `Back-off pulling image "${String(missing.image)}"` };
    return undefined;
  }

  private writeStatus(def: ResourceDef, workload: KubeObject, status: JsonRecord): void {
    if (deepEqual(workload.status, status)) return;
    this.api.internalStatusUpdate(def, workload, status);
  }

  private wakeAt(key: string, at: number): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (!Number.isFinite(at)) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.enqueue(key);
      },
      Math.max(0, at - Date.now()) + 1,
    );
    timer.unref();
    this.timers.set(key, timer);
  }
}

function workloadKey(def: ResourceDef, namespace: string, name: string): string {
  return `${def.resource}/${namespace}/${name}`;
}

function specOf(obj: KubeObject): JsonRecord {
  return isRecord(obj.spec) ? obj.spec : {};
}

/** `pod-template-hash`: FNV-32a of the template, safe-encoded like the Deployment controller does. */
function templateHash(template: unknown): string {
  return safeEncode(String(fnv32a(stableStringify(template ?? {}))));
}

/** The simulated state of a Pod; `new` until the kubelet stand-in first reports on it. */
function podState(pod: KubeObject): PodState | 'new' {
  const status = isRecord(pod.status) ? pod.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  if (conditions.length === 0) return 'new';
  if (conditions.some((c) => c.type === 'Ready' && c.status === 'True')) return 'ready';
  return waitingReason(pod) && waitingReason(pod) !== 'ContainerCreating' ? 'failed' : 'pending';
}

function waitingReason(pod: KubeObject): string | undefined {
  const status = isRecord(pod.status) ? pod.status : {};
  const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses.filter(isRecord) : [];
  for (const s of statuses) {
    const waiting = isRecord(s.state) && isRecord(s.state.waiting) ? s.state.waiting : undefined;
    if (waiting) return String(waiting.reason);
  }
  return undefined;
}

function condition(previous: unknown[], type: string, [status, reason, message]: [string, string, string]): JsonRecord {
  const before = previous.find((c): c is JsonRecord => isRecord(c) && c.type === type);
  const now = timestamp();
  const unchanged = before && before.status === status && before.reason === reason && before.message === message;
  return {
    type,
    status,
    lastUpdateTime: unchanged ? before.lastUpdateTime : now,
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
    reason,
    message,
  };
}

function resolveMaxUnavailable(spec: JsonRecord, desired: number): number {
  const strategy = isRecord(spec.strategy) ? spec.strategy : {};
  if (strategy.type === 'Recreate') return desired;
  const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const value = rolling.maxUnavailable ?? '25%';
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(String(value));
  return percent ? Math.floor((desired * Number(percent[1])) / 100) : 0;
}

function withoutZeros(status: JsonRecord): JsonRecord {
  const out: JsonRecord = {};
  for (const [key, value] of Object.entries(status)) if (value !== 0 && value !== undefined) out[key] = value;
  return out;
}

function qosClass(containers: JsonRecord[]): string {
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const resources = isRecord(c.resources) ? c.resources : {};
    const limits = isRecord(resources.limits) ? resources.limits : {};
    const requests = isRecord(resources.requests) ? resources.requests : limits;
    if (Object.keys(limits).length > 0 || Object.keys(requests).length > 0) any = true;
    if (!limits.cpu || !limits.memory || requests.cpu !== limits.cpu || requests.memory !== limits.memory)
      guaranteed = false;
  }
  if (guaranteed) return 'Guaranteed';
  return any ? 'Burstable' : 'BestEffort';
}
