import type { ClusterState, RetainedResource } from './api-types.ts';
import { h } from './dom.ts';

const STATE_HINTS: Record<ClusterState, string> = {
  DEPLOYING: 'Starting the JobManager and the TaskManagers',
  RUNNING: 'All pods are ready',
  DEGRADED: 'Some pods are not ready',
  FAILED: 'The cluster failed; see the last error',
  DESTROYING: 'Removing the pods and the Flink UI',
  DESTROYED: 'Stopped; the bucket, ZooKeeper namespace and volume are kept',
};

/** A state badge: colour for sighted users, the state's name as text for everyone. */
export function stateBadge(state: ClusterState | null): HTMLElement {
  if (!state) return h('span', { class: 'badge badge-none' }, 'No cluster');
  return h('span', { class: `badge badge-state state-${state.toLowerCase()}`, title: STATE_HINTS[state] }, state);
}

export function stateHint(state: ClusterState): string {
  return STATE_HINTS[state];
}

/** A live state: the cluster's objects exist and the Flink UI can be reached. */
export function isLive(state: ClusterState): boolean {
  return state === 'DEPLOYING' || state === 'RUNNING' || state === 'DEGRADED' || state === 'FAILED';
}

export function formatTime(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h('time', { datetime: iso }, date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
}

export function formatCpu(cores: number): string {
  return `${cores} CPU`;
}

export function formatMemory(mb: number): string {
  return `${mb} MB`;
}

export function formatConfigValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

const RETAINED_LABELS: Record<RetainedResource['kind'], string> = {
  bucket: 'Bucket',
  'zookeeper-namespace': 'ZooKeeper namespace',
  volume: 'JAR volume',
  'ha-state': 'HA state',
};

export function retainedLabel(kind: string): string {
  return RETAINED_LABELS[kind as RetainedResource['kind']] ?? kind;
}
