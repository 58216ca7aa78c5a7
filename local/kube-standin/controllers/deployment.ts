import type { KubeApi } from '../api.ts';
import type { EventRecorder } from '../events.ts';
import { deepEqual, isRecord, type JsonRecord, type KubeObject, randomSuffix } from '../objects.ts';
import { resourceDef } from '../resources.ts';
import type { StoreEvent } from '../store.ts';
import {
  availableAt,
  condition,
  deletionOrder,
  isActive,
  isAvailable,
  isReady,
  isRunningOrPending,
  ownedPods,
  PODS,
  podFromTemplate,
  specOf,
  templateHash,
  withoutZeros,
} from './pods.ts';
import { WorkQueue } from './work-queue.ts';

export const DEPLOYMENTS = resourceDef('apps', 'deployments');
const SOURCE = { component: 'deployment-controller' };

/**
 * The Deployment controller: keeps `spec.replicas` Pods of the current template, rolls a new template out with the
 * `Recreate` strategy (old Pods deleted, and gone, before new ones start) or `RollingUpdate` (within `maxSurge` and
 * `maxUnavailable`), and writes the status from the Pods' own status only, as the real controller does: replicas,
 * updated, ready, available (ready for `minReadySeconds`), unavailable, and the Available and Progressing
 * conditions, Progressing turning False once `progressDeadlineSeconds` pass without progress.
 *
 * Simpler than the real one: there are no ReplicaSet objects. Each template revision is the set of Pods with its
 * `pod-template-hash` label, owned by the Deployment directly; the ReplicaSet names in messages and events are the
 * ones the real controller would use.
 */
export class DeploymentController {
  private readonly queue = new WorkQueue((key) => this.reconcile(key));
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
    private readonly random: () => number,
  ) {}

  start(): void {
    this.unsubscribe = this.api.store.subscribe((event) => this.onEvent(event));
    for (const d of this.api.store.list(DEPLOYMENTS)) this.queue.add(keyOf(d.metadata.namespace!, d.metadata.name!));
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private onEvent(event: StoreEvent): void {
    const { def, object, previous } = event;
    if (def === DEPLOYMENTS) {
      if (event.type === 'MODIFIED' && previous?.metadata.generation === object.metadata.generation) return;
      this.queue.add(keyOf(object.metadata.namespace!, object.metadata.name!));
    } else if (def === PODS) {
      const owner = object.metadata.ownerReferences?.find((r) => r.controller);
      if (owner?.kind === 'Deployment') this.queue.add(keyOf(object.metadata.namespace!, owner.name));
    }
  }

  private reconcile(key: string): void {
    const [namespace, name] = key.split('/') as [string, string];
    const deployment = this.api.store.get(DEPLOYMENTS, namespace, name);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const spec = specOf(deployment);
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const hash = templateHash(spec.template);
    const replicaSet = `${name}-${hash}`;
    const strategy = isRecord(spec.strategy) ? spec.strategy : {};
    const minReadySeconds = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
    const now = Date.now();
    const available = (p: KubeObject) => isAvailable(p, minReadySeconds, now);

    const owned = ownedPods(this.api, deployment);
    const active = owned.filter(isActive);
    const current = active.filter((p) => revisionOf(p) === hash);
    const old = active.filter((p) => revisionOf(p) !== hash);

    if (strategy.type === 'Recreate') {
      this.scaleDownOld(deployment, old, old);
      // New Pods start only once no old Pod runs any more, terminating ones included.
      const oldRunning = ownedPods(this.api, deployment).some((p) => revisionOf(p) !== hash && isRunningOrPending(p));
      if (!oldRunning) this.scaleTo(deployment, replicaSet, hash, current, desired);
    } else {
      const { maxSurge, maxUnavailable } = fenceposts(strategy, desired);
      if (current.length > desired) {
        this.scaleTo(deployment, replicaSet, hash, current, desired);
      } else if (current.length < desired) {
        const room = desired + maxSurge - active.length;
        if (room > 0)
          this.scaleTo(
            deployment,
            replicaSet,
            hash,
            current,
            current.length + Math.min(room, desired - current.length),
          );
      }
      if (old.length > 0) {
        const minAvailable = desired - maxUnavailable;
        const total = current.length + old.length;
        const newUnavailable = current.filter((p) => !available(p)).length;
        let maxScaledDown = total - minAvailable - newUnavailable;
        if (maxScaledDown > 0) {
          // First the old Pods that are not available anyway, then available ones down to minAvailable.
          const unhealthy = old
            .filter((p) => !available(p))
            .sort(deletionOrder)
            .slice(0, maxScaledDown);
          this.scaleDownOld(deployment, unhealthy, old);
          maxScaledDown -= unhealthy.length;
          const healthyOld = old.filter((p) => available(p));
          const availableCount = current.filter(available).length + healthyOld.length;
          const excess = Math.min(availableCount - minAvailable, maxScaledDown, healthyOld.length);
          if (excess > 0) {
            const remaining = old.filter((p) => !unhealthy.includes(p));
            this.scaleDownOld(deployment, healthyOld.sort(deletionOrder).slice(0, excess), remaining);
          }
        }
      }
    }
    this.writeStatus(deployment, desired, hash, replicaSet, minReadySeconds);
  }

  /** Creates or deletes Pods of the current revision until there are `target`. */
  private scaleTo(
    deployment: KubeObject,
    replicaSet: string,
    hash: string,
    current: KubeObject[],
    target: number,
  ): void {
    const from = current.length;
    if (from === target) return;
    if (from < target) {
      let created = from;
      for (; created < target; created++) {
        const pod = podFromTemplate(deployment, `${replicaSet}-${randomSuffix(this.random)}`, {
          'pod-template-hash': hash,
        });
        if (!this.api.internalCreate(PODS, pod)) break;
      }
      if (created > from) {
        this.scalingEvent(deployment, `Scaled up replica set ${replicaSet} from ${from} to ${created}`);
      }
      return;
    }
    for (const pod of [...current].sort(deletionOrder).slice(0, from - target)) this.api.internalDelete(PODS, pod);
    this.scalingEvent(deployment, `Scaled down replica set ${replicaSet} from ${from} to ${target}`);
  }

  /** Deletes old Pods, with one event per old revision, as the real controller scales each old ReplicaSet down. */
  private scaleDownOld(deployment: KubeObject, victims: KubeObject[], activeOld: KubeObject[]): void {
    if (victims.length === 0) return;
    const sizes = countByRevision(activeOld);
    for (const pod of victims) this.api.internalDelete(PODS, pod);
    for (const [revision, cut] of countByRevision(victims)) {
      const from = sizes.get(revision) ?? cut;
      this.scalingEvent(
        deployment,
        `Scaled down replica set ${deployment.metadata.name}-${revision} from ${from} to ${from - cut}`,
      );
    }
  }

  private scalingEvent(deployment: KubeObject, message: string): void {
    this.events.record(deployment, 'Normal', 'ScalingReplicaSet', message, SOURCE);
  }

  /** The status the real controller computes (`calculateStatus`, `syncRolloutStatus`), from the Pods only. */
  private writeStatus(
    deployment: KubeObject,
    desired: number,
    hash: string,
    replicaSet: string,
    minReadySeconds: number,
  ): void {
    const key = keyOf(deployment.metadata.namespace!, deployment.metadata.name!);
    const spec = specOf(deployment);
    const now = Date.now();
    const active = ownedPods(this.api, deployment).filter(isActive);
    const updated = active.filter((p) => revisionOf(p) === hash).length;
    const ready = active.filter(isReady).length;
    const availableCount = active.filter((p) => isAvailable(p, minReadySeconds, now)).length;
    const previous = isRecord(deployment.status) ? deployment.status : {};
    const previousConditions = Array.isArray(previous.conditions) ? previous.conditions : [];
    const strategy = isRecord(spec.strategy) ? spec.strategy : {};
    const maxUnavailable =
      strategy.type === 'Recreate' || desired === 0 ? 0 : fenceposts(strategy, desired).maxUnavailable;

    const counts = {
      replicas: active.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: availableCount,
    };
    const newGeneration = (deployment.metadata.generation ?? 0) > Number(previous.observedGeneration ?? 0);
    const complete = updated === desired && active.length === desired && availableCount === desired;
    const progressed =
      newGeneration ||
      updated > count(previous.updatedReplicas) ||
      active.length - updated < count(previous.replicas) - count(previous.updatedReplicas) ||
      ready > count(previous.readyReplicas) ||
      availableCount > count(previous.availableReplicas);
    const before = previousConditions.find((c): c is JsonRecord => isRecord(c) && c.type === 'Progressing');
    const deadlineSeconds = typeof spec.progressDeadlineSeconds === 'number' ? spec.progressDeadlineSeconds : 600;
    let progressing: JsonRecord | undefined;
    if (complete) {
      progressing = condition(previousConditions, 'Progressing', [
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${replicaSet}" has successfully progressed.`,
      ]);
    } else if (progressed || !before) {
      progressing = condition(
        previousConditions,
        'Progressing',
        ['True', 'ReplicaSetUpdated', `ReplicaSet "${replicaSet}" is progressing.`],
        true,
      );
    } else if (
      before.reason === 'ProgressDeadlineExceeded' ||
      (before.reason !== 'NewReplicaSetAvailable' &&
        Date.parse(String(before.lastUpdateTime)) + deadlineSeconds * 1000 < now)
    ) {
      progressing = condition(previousConditions, 'Progressing', [
        'False',
        'ProgressDeadlineExceeded',
        `ReplicaSet "${replicaSet}" has timed out progressing.`,
      ]);
    } else {
      progressing = before;
    }
    const conditions = [
      condition(
        previousConditions,
        'Available',
        availableCount >= desired - maxUnavailable
          ? ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.']
          : ['False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'],
      ),
      progressing,
    ];
    const status = withoutZeros({
      observedGeneration: deployment.metadata.generation,
      ...counts,
      unavailableReplicas: Math.max(0, desired - availableCount),
      conditions,
    });
    const live = this.api.store.get(DEPLOYMENTS, deployment.metadata.namespace, deployment.metadata.name!);
    if (live && !deepEqual(live.status, status)) this.api.internalStatusUpdate(DEPLOYMENTS, live, status);

    // Come back when the progress deadline passes, or when a ready Pod becomes available.
    if (!complete && progressing.status === 'True') {
      const due = Date.parse(String(progressing.lastUpdateTime)) + deadlineSeconds * 1000 + 1000;
      this.queue.addAfter(key, due - now);
    }
    const nextAvailable = Math.min(
      ...active.map((p) => availableAt(p, minReadySeconds, now) ?? Number.POSITIVE_INFINITY),
    );
    if (Number.isFinite(nextAvailable)) this.queue.addAfter(key, nextAvailable - now + 10);
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function revisionOf(pod: KubeObject): string | undefined {
  return pod.metadata.labels?.['pod-template-hash'];
}

function countByRevision(pods: KubeObject[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pod of pods) counts.set(revisionOf(pod) ?? '', (counts.get(revisionOf(pod) ?? '') ?? 0) + 1);
  return counts;
}

function count(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/**
 * `maxSurge` and `maxUnavailable` as numbers (`deploymentutil.ResolveFenceposts`): a percentage of the replicas,
 * surge rounded up and unavailable rounded down; when both come out 0, one Pod may be unavailable.
 */
export function fenceposts(strategy: JsonRecord, desired: number): { maxSurge: number; maxUnavailable: number } {
  const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const resolve = (value: unknown, roundUp: boolean): number => {
    if (typeof value === 'number') return value;
    const percent = /^(\d+)%$/.exec(String(value));
    if (!percent) return Number.parseInt(String(value), 10) || 0;
    const exact = (desired * Number(percent[1])) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  };
  const maxSurge = resolve(rolling.maxSurge ?? '25%', true);
  let maxUnavailable = resolve(rolling.maxUnavailable ?? '25%', false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, desired) };
}
