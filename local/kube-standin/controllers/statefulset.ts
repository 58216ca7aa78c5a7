import type { KubeApi } from '../api.ts';
import type { EventRecorder } from '../events.ts';
import { deepEqual, isRecord, type JsonRecord, type KubeObject } from '../objects.ts';
import { resourceDef } from '../resources.ts';
import type { StoreEvent } from '../store.ts';
import { isActive, isAvailable, isReady, ownedPods, PODS, podFromTemplate, specOf, templateHash } from './pods.ts';
import { WorkQueue } from './work-queue.ts';

export const STATEFULSETS = resourceDef('apps', 'statefulsets');
const PVCS = resourceDef('', 'persistentvolumeclaims');
const SOURCE = { component: 'statefulset-controller' };

/**
 * The StatefulSet controller: Pods `<name>-0 … <name>-(n-1)` with their volume claims. `OrderedReady` (the default)
 * creates a Pod only once every lower ordinal is Running and Ready and removes surplus Pods from the highest ordinal,
 * one at a time; `Parallel` creates and removes them all at once. A new template rolls out from the highest ordinal
 * down, one Pod at a time, each replaced only while all others are ready. A replaced Pod's name is reused only once
 * the old Pod is gone. The status comes from the Pods only.
 *
 * Simpler than the real one: no ControllerRevision objects (the revision is `<name>-<template hash>`), no partition,
 * no maxUnavailable, no OnDelete strategy, no PVC retention policy.
 */
export class StatefulSetController {
  private readonly queue = new WorkQueue((key) => this.reconcile(key));
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
  ) {}

  start(): void {
    this.unsubscribe = this.api.store.subscribe((event) => this.onEvent(event));
    for (const s of this.api.store.list(STATEFULSETS)) this.queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private onEvent(event: StoreEvent): void {
    const { def, object, previous } = event;
    if (def === STATEFULSETS) {
      if (event.type === 'MODIFIED' && previous?.metadata.generation === object.metadata.generation) return;
      this.queue.add(`${object.metadata.namespace}/${object.metadata.name}`);
    } else if (def === PODS) {
      const owner = object.metadata.ownerReferences?.find((r) => r.controller);
      if (owner?.kind === 'StatefulSet') this.queue.add(`${object.metadata.namespace}/${owner.name}`);
    }
  }

  private reconcile(key: string): void {
    const [namespace, name] = key.split('/') as [string, string];
    const set = this.api.store.get(STATEFULSETS, namespace, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const spec = specOf(set);
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const revision = `${name}-${templateHash(spec.template)}`;
    const parallel = spec.podManagementPolicy === 'Parallel';
    const byName = new Map(this.api.store.list(PODS, namespace).map((p) => [p.metadata.name!, p]));
    const owned = ownedPods(this.api, set);

    // Scale up (or fill gaps) in ordinal order.
    for (let i = 0; i < desired; i++) {
      const podName = `${name}-${i}`;
      const pod = byName.get(podName);
      if (!pod) {
        this.ensureClaims(set, i);
        const created = this.api.internalCreate(PODS, this.podFor(set, podName, i, revision));
        if (created) {
          this.events.record(
            set,
            'Normal',
            'SuccessfulCreate',
            `create Pod ${podName} in StatefulSet ${name} successful`,
            SOURCE,
          );
        }
        if (!parallel) break;
        continue;
      }
      if (!parallel && !(isActive(pod) && isReady(pod))) break;
    }

    // Scale down from the highest ordinal.
    const surplus = owned
      .filter((p) => ordinalOf(name, p) >= desired && isActive(p))
      .sort((a, b) => ordinalOf(name, b) - ordinalOf(name, a));
    const waitingForDeletion = owned.some((p) => ordinalOf(name, p) >= desired && !isActive(p));
    for (const pod of parallel ? surplus : waitingForDeletion ? [] : surplus.slice(0, 1)) this.deletePod(set, pod);

    // Roll the template from the highest ordinal down, one Pod at a time, while every other Pod is ready.
    const inRange = owned.filter((p) => ordinalOf(name, p) < desired);
    const allReady = inRange.length === desired && inRange.every((p) => isActive(p) && isReady(p));
    const outdated = inRange
      .filter((p) => isActive(p) && p.metadata.labels?.['controller-revision-hash'] !== revision)
      .sort((a, b) => ordinalOf(name, b) - ordinalOf(name, a));
    const updating = inRange.some((p) => !isActive(p));
    if (outdated.length > 0 && !updating && (allReady || !isReady(outdated[0]!))) this.deletePod(set, outdated[0]!);

    this.writeStatus(set, revision);
  }

  private deletePod(set: KubeObject, pod: KubeObject): void {
    this.api.internalDelete(PODS, pod);
    this.events.record(
      set,
      'Normal',
      'SuccessfulDelete',
      `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      SOURCE,
    );
  }

  private podFor(set: KubeObject, podName: string, ordinal: number, revision: string): KubeObject {
    const spec = specOf(set);
    const template = isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : {};
    const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates.filter(isRecord) : [];
    const volumes = Array.isArray(template.volumes) ? [...template.volumes] : [];
    for (const claim of claims) {
      const claimName = String((claim.metadata as JsonRecord | undefined)?.name);
      volumes.push({ name: claimName, persistentVolumeClaim: { claimName: `${claimName}-${podName}` } });
    }
    const extraSpec: JsonRecord = { hostname: podName };
    if (spec.serviceName) extraSpec.subdomain = spec.serviceName;
    if (volumes.length > 0) extraSpec.volumes = volumes;
    return podFromTemplate(
      set,
      podName,
      {
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': podName,
        'apps.kubernetes.io/pod-index': String(ordinal),
      },
      extraSpec,
    );
  }

  private ensureClaims(set: KubeObject, ordinal: number): void {
    const spec = specOf(set);
    const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates.filter(isRecord) : [];
    const selector = isRecord(spec.selector) && isRecord(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    for (const claim of claims) {
      const meta = isRecord(claim.metadata) ? claim.metadata : {};
      const name = `${String(meta.name)}-${set.metadata.name}-${ordinal}`;
      if (this.api.store.get(PVCS, set.metadata.namespace, name)) continue;
      this.api.internalCreate(PVCS, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: set.metadata.namespace,
          labels: {
            ...(isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {}),
            ...(selector as Record<string, string>),
          },
        },
        spec: claim.spec,
      });
    }
  }

  private writeStatus(set: KubeObject, updateRevision: string): void {
    const live = this.api.store.get(STATEFULSETS, set.metadata.namespace, set.metadata.name!);
    if (!live) return;
    const spec = specOf(live);
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const minReadySeconds = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
    const previous = isRecord(live.status) ? live.status : {};
    const pods = ownedPods(this.api, live).filter(isActive);
    const updated = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === updateRevision).length;
    const rolledOut = updated === desired && pods.length === desired;
    const currentRevision =
      rolledOut || typeof previous.currentRevision !== 'string' ? updateRevision : previous.currentRevision;
    const current = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision).length;
    const status: JsonRecord = {
      observedGeneration: live.metadata.generation,
      replicas: pods.length,
      readyReplicas: pods.filter(isReady).length,
      currentReplicas: current,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount: 0,
      availableReplicas: pods.filter((p) => isAvailable(p, minReadySeconds, Date.now())).length,
    };
    for (const field of ['readyReplicas', 'currentReplicas', 'updatedReplicas']) {
      if (status[field] === 0) delete status[field];
    }
    if (!deepEqual(live.status, status)) this.api.internalStatusUpdate(STATEFULSETS, live, status);
  }
}

function ordinalOf(setName: string, pod: KubeObject): number {
  const match = new RegExp(`^${setName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(pod.metadata.name ?? '');
  return match ? Number(match[1]) : -1;
}
