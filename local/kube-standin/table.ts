import { isRecord, type JsonRecord, type KubeObject } from './objects.ts';
import type { ResourceDef } from './resources.ts';

/**
 * `meta.k8s.io/v1` Table answers, which `kubectl get` asks for: the usual columns for the resources Flinkplane
 * uses, NAME and AGE for the rest.
 */
type Column = { name: string; type: string; format?: string; cell: (obj: KubeObject) => unknown };

const age: Column = { name: 'Age', type: 'string', cell: (o) => humanDuration(o.metadata.creationTimestamp) };
const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name };

const spec = (o: KubeObject): JsonRecord => (isRecord(o.spec) ? o.spec : {});
const status = (o: KubeObject): JsonRecord => (isRecord(o.status) ? o.status : {});
const count = (v: unknown): number => (typeof v === 'number' ? v : 0);

const COLUMNS: Record<string, Column[]> = {
  deployments: [
    name,
    { name: 'Ready', type: 'string', cell: (o) => `${count(status(o).readyReplicas)}/${count(spec(o).replicas)}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => count(status(o).updatedReplicas) },
    { name: 'Available', type: 'integer', cell: (o) => count(status(o).availableReplicas) },
    age,
  ],
  statefulsets: [
    name,
    { name: 'Ready', type: 'string', cell: (o) => `${count(status(o).readyReplicas)}/${count(spec(o).replicas)}` },
    age,
  ],
  pods: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => {
        const statuses = Array.isArray(status(o).containerStatuses)
          ? (status(o).containerStatuses as JsonRecord[])
          : [];
        const containers = Array.isArray(spec(o).containers) ? spec(o).containers : [];
        return `${statuses.filter((s) => s.ready).length}/${(containers as unknown[]).length}`;
      },
    },
    {
      name: 'Status',
      type: 'string',
      cell: (o) => {
        const statuses = Array.isArray(status(o).containerStatuses)
          ? (status(o).containerStatuses as JsonRecord[])
          : [];
        for (const s of statuses) {
          const waiting = isRecord(s.state) && isRecord(s.state.waiting) ? s.state.waiting : undefined;
          if (waiting?.reason) return waiting.reason;
        }
        return status(o).phase ?? 'Unknown';
      },
    },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) => {
        const statuses = Array.isArray(status(o).containerStatuses)
          ? (status(o).containerStatuses as JsonRecord[])
          : [];
        return String(statuses.reduce((sum, s) => sum + count(s.restartCount), 0));
      },
    },
    age,
  ],
  services: [
    name,
    { name: 'Type', type: 'string', cell: (o) => spec(o).type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => spec(o).clusterIP ?? '<none>' },
    { name: 'External-IP', type: 'string', cell: () => '<none>' },
    {
      name: 'Port(s)',
      type: 'string',
      cell: (o) =>
        (Array.isArray(spec(o).ports) ? (spec(o).ports as JsonRecord[]) : [])
          .map((p) => `${String(p.port)}/${String(p.protocol ?? 'TCP')}`)
          .join(',') || '<none>',
    },
    age,
  ],
  namespaces: [name, { name: 'Status', type: 'string', cell: (o) => status(o).phase ?? '' }, age],
  nodes: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: (o) => {
        const conditions = Array.isArray(status(o).conditions) ? (status(o).conditions as JsonRecord[]) : [];
        const ready = conditions.find((c) => c.type === 'Ready');
        return ready?.status === 'True' ? 'Ready' : 'NotReady';
      },
    },
    { name: 'Roles', type: 'string', cell: () => '<none>' },
    age,
    {
      name: 'Version',
      type: 'string',
      cell: (o) => (isRecord(status(o).nodeInfo) ? (status(o).nodeInfo as JsonRecord).kubeletVersion : '') ?? '',
    },
  ],
  events: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o) => humanDuration(String(o.lastTimestamp ?? o.metadata.creationTimestamp)),
    },
    { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => {
        const ref = isRecord(o.involvedObject) ? o.involvedObject : {};
        return `${String(ref.kind ?? '').toLowerCase()}/${String(ref.name ?? '')}`;
      },
    },
    { name: 'Message', type: 'string', cell: (o) => o.message ?? '' },
  ],
  configmaps: [
    name,
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(isRecord(o.data) ? o.data : {}).length },
    age,
  ],
  secrets: [
    name,
    { name: 'Type', type: 'string', cell: (o) => o.type ?? 'Opaque' },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(isRecord(o.data) ? o.data : {}).length },
    age,
  ],
  persistentvolumeclaims: [
    name,
    { name: 'Status', type: 'string', cell: (o) => status(o).phase ?? '' },
    {
      name: 'Capacity',
      type: 'string',
      cell: (o) => (isRecord(status(o).capacity) ? String((status(o).capacity as JsonRecord).storage ?? '') : ''),
    },
    age,
  ],
};

/** True when the client asked for a Table (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

export function toTable(
  def: ResourceDef,
  objects: KubeObject[],
  resourceVersion: string,
  extra?: JsonRecord,
): JsonRecord {
  const columns = COLUMNS[def.resource] ?? [name, age];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion, ...extra },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: '',
      priority: 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/** `duration.HumanDuration`, as kubectl prints an age. */
function humanDuration(since: string | undefined): string {
  if (!since) return '<unknown>';
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 192) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 730) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}
