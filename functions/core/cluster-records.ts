/**
 * The dependencies of the control plane and the record keeping its parts share: conditional writes, leases, and the
 * reads that answer `*_not_found`.
 */
import { type ClusterView, clusterView } from './cluster-view.ts';
import type { EffectiveCluster } from './effective-cluster.ts';
import { type ErrorCode, FlinkplaneError, isFlinkplaneError } from './errors.ts';
import type { SnapshotInspector } from './jobs/ledger-ports.ts';
import type { PodLogs } from './logs.ts';
import type { PlatformSettings } from './platform.ts';
import type {
  BucketStore,
  Clock,
  ClusterRecord,
  ClusterStore,
  FlinkRest,
  KubeObject,
  KubernetesApplier,
  KubernetesObserver,
  ObjectStore,
  SecretSource,
  TenantAccess,
  UploadSigner,
  Versioned,
  ZooKeeperIdentity,
  ZooKeeperNamespaces,
} from './ports.ts';
import type { Principal } from './principal.ts';
import { validateTenantName } from './tenant-name.ts';

/**
 * Failures a retry of the same step cannot fix, because they need a person: a bucket name another account owns. The
 * cluster ends FAILED and the reconciler leaves it; the tenant's next deploy or destroy starts over.
 */
export const RETRY_CANNOT_FIX: ReadonlySet<string> = new Set<ErrorCode>(['bucket_name_taken']);

/** Builds a cluster's Kubernetes objects, grouped into stages applied in order. */
export type ManifestRenderer = (
  cluster: EffectiveCluster,
  identity: ZooKeeperIdentity,
) => readonly (readonly KubeObject[])[];

/** Logs what a caller is not told: the text of an unexpected error, with its context. */
export type ControlPlaneLogger = (message: string, context: Record<string, unknown>) => void;

/** The world the workflow acts on, wired once per entry point. */
export interface ControlPlaneDeps {
  readonly store: ClusterStore;
  readonly buckets: BucketStore;
  readonly zookeeper: ZooKeeperNamespaces;
  /** Applies the tenant's objects and reports their status back (one adapter may be both). */
  readonly kubernetes: KubernetesApplier & KubernetesObserver;
  readonly access: TenantAccess;
  readonly secrets: SecretSource;
  readonly clock: Clock;
  readonly platform: PlatformSettings;
  readonly render: ManifestRenderer;
  /**
   * The JobManagers' REST API. With it, RUNNING also needs every TaskManager registered with the JobManager; without
   * it (simulated pods, which run no Flink) pod readiness decides. @default none
   */
  readonly flinkRest?: FlinkRest;
  /** Objects in the tenant buckets: JARs and run records (jobs). @default none: the job operations are unavailable */
  readonly objects?: ObjectStore;
  /** Presigned uploads into the tenant buckets (JARs larger than API Gateway's 10 MB body). @default none */
  readonly uploads?: UploadSigner;
  /** Reads snapshots' `_metadata` for the savepoint ledger's restorable check. @default none: entries stay unchecked */
  readonly snapshotInspector?: SnapshotInspector;
  /** The Kubernetes pods/log API of the tenant namespaces. @default none: the log routes are unavailable */
  readonly podLogs?: PodLogs;
  /** How long a request holds a tenant before another request or the reconciler may take over. @default 60 s */
  readonly leaseMs?: number;
  /**
   * Where a failure no caller sees in full is logged: an unexpected error of a step, recorded as `internal` without
   * its text. @default none (the HTTP edge logs what reaches it)
   */
  readonly log?: ControlPlaneLogger;
}

const DEFAULT_LEASE_MS = 60_000;

/** The cluster store as the workflow, the reconciler and purge use it. */
export class ClusterRecords {
  readonly deps: ControlPlaneDeps;
  private readonly leaseMs: number;

  constructor(deps: ControlPlaneDeps) {
    this.deps = deps;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Writes `changes` over the current record, conditional on its version. */
  async record(current: Versioned<ClusterRecord>, changes: Partial<ClusterRecord>): Promise<Versioned<ClusterRecord>> {
    const value = withoutUndefined({ ...current.value, ...changes, updatedAt: this.now() }) as ClusterRecord;
    const version = await this.persist(value, current.version);
    return { value, version };
  }

  /** Writes the record if the store holds `expectedVersion`; a lost race is a `conflict` naming the winner's state. */
  async persist(record: ClusterRecord, expectedVersion: number): Promise<number> {
    try {
      return await this.deps.store.putCluster(record, expectedVersion);
    } catch (error) {
      if (isFlinkplaneError(error) && error.code === 'conflict') {
        const latest = await this.deps.store.getCluster(record.tenant);
        throw new FlinkplaneError('conflict', `Another request changed the cluster of ${record.tenant} first; retry`, {
          tenant: record.tenant,
          generation: latest?.value.generation ?? null,
          state: latest?.value.state ?? null,
        });
      }
      throw error;
    }
  }

  /** Throws `conflict` while another request's lease on the cluster holds. */
  refuseIfBusy(current: Versioned<ClusterRecord> | undefined): void {
    const operation = current?.value.operation;
    if (!operation || !this.leaseHolds(operation.leaseUntil)) return;
    throw new FlinkplaneError('conflict', `A ${operation.kind} of this cluster is in progress; retry after it ends`, {
      tenant: current.value.tenant,
      generation: current.value.generation,
      state: current.value.state,
      operation: operation.kind,
      retryAfter: operation.leaseUntil,
    });
  }

  async requireTenant(tenant: string, principal?: Principal): Promise<void> {
    // Authentication already read this tenant's record; reading it again would only cost a round trip.
    if (principal?.kind === 'tenant' && principal.registered && principal.tenant === tenant) return;
    const record = validateTenantName(tenant).length === 0 ? await this.deps.store.getTenant(tenant) : undefined;
    if (!record) throw new FlinkplaneError('tenant_not_found', `There is no tenant ${tenant}`, { tenant });
  }

  async requireCluster(tenant: string): Promise<Versioned<ClusterRecord>> {
    const current = await this.deps.store.getCluster(tenant);
    if (!current) throw clusterNotFound(tenant);
    return current;
  }

  /** The tenant-object store (JARs, run records, snapshots); a plane without one answers 503 for what needs it. */
  objects(): ObjectStore {
    const { objects } = this.deps;
    if (!objects) {
      throw new FlinkplaneError('dependency_unavailable', 'This control plane keeps no tenant objects', {
        dependency: 'objects',
      });
    }
    return objects;
  }

  view(record: ClusterRecord): ClusterView {
    return clusterView(record, this.deps.platform);
  }

  now(): string {
    return this.deps.clock.now().toISOString();
  }

  leaseUntil(): string {
    return new Date(this.deps.clock.now().getTime() + this.leaseMs).toISOString();
  }

  leaseHolds(leaseUntil: string): boolean {
    return Date.parse(leaseUntil) > this.deps.clock.now().getTime();
  }
}

export function clusterNotFound(tenant: string): FlinkplaneError {
  return new FlinkplaneError('cluster_not_found', `Tenant ${tenant} has no Flink cluster`, { tenant });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
