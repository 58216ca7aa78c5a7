import { DEFAULT_FLINK_VERSION, FLINK_VERSIONS } from './catalog.ts';
import { validateClusterSpec } from './cluster-spec.ts';
import { type ClusterView, clusterView } from './cluster-view.ts';
import { buildEffectiveCluster, type EffectiveCluster } from './effective-cluster.ts';
import { FlinkplaneError, isFlinkplaneError, specError } from './errors.ts';
import { FIXED_PREFIXES, FIXED_SETTINGS } from './fixed-settings.ts';
import { COMPONENT_NAMES, haClusterId, tenantNames } from './naming.ts';
import type { PlatformSettings } from './platform.ts';
import type {
  AppliedObjects,
  BucketStore,
  Clock,
  ClusterRecord,
  ClusterState,
  ClusterStore,
  FlinkRest,
  KubeObject,
  KubernetesApplier,
  ObservedStatus,
  OperationKind,
  Page,
  SecretSource,
  TenantAccess,
  Versioned,
  ZooKeeperIdentity,
  ZooKeeperNamespaces,
} from './ports.ts';
import { authorizeTenant, hashToken, newTenantToken, type Principal, requireOperator } from './principal.ts';
import { FIXED_SIZES, SIZING_FIELDS } from './sizing.ts';
import { validateTenantName } from './tenant-name.ts';

/** Builds a cluster's Kubernetes objects, grouped into stages applied in order. */
export type ManifestRenderer = (
  cluster: EffectiveCluster,
  identity: ZooKeeperIdentity,
) => readonly (readonly KubeObject[])[];

/** The world the workflow acts on, wired once per entry point. */
export interface ControlPlaneDeps {
  readonly store: ClusterStore;
  readonly buckets: BucketStore;
  readonly zookeeper: ZooKeeperNamespaces;
  readonly kubernetes: KubernetesApplier;
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
  /** How long a request holds a tenant before another request or the reconciler may take over. @default 60 s */
  readonly leaseMs?: number;
}

export interface ReconcileSummary {
  readonly checked: number;
  readonly changed: number;
  readonly redriven: number;
  readonly failed: number;
}

const DEFAULT_LEASE_MS = 60_000;

/** States in which the cluster's objects exist and the reconciler keeps its status fresh. */
const LIVE_STATES: ReadonlySet<ClusterState> = new Set(['DEPLOYING', 'RUNNING', 'DEGRADED', 'FAILED']);

/**
 * The control plane: deploy, destroy, status, purge and reconcile. Each workflow runs in a fixed order — load,
 * validate, persist intent, act, record outcome — and every step is idempotent, so a retry after a crash converges.
 */
export class ControlPlane {
  private readonly deps: ControlPlaneDeps;
  private readonly leaseMs: number;

  constructor(deps: ControlPlaneDeps) {
    this.deps = deps;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** The catalog with the sizing defaults, minimums, quota and the fixed settings. */
  versions() {
    const { platform } = this.deps;
    return {
      versions: FLINK_VERSIONS.map((version) => ({
        version: version.version,
        release: version.release,
        configFileName: version.configFileName,
        providedPackages: version.artifacts.map((artifact) => artifact.coordinate),
      })),
      defaultVersion: DEFAULT_FLINK_VERSION,
      zones: platform.zones,
      sizing: SIZING_FIELDS.map((field) => ({
        field: field.path,
        label: field.label,
        unit: field.unit,
        default: field.default,
        minimum: field.minimum,
        maximum: field.maximum(platform),
        step: field.step,
      })),
      fixedSizes: FIXED_SIZES,
      fixedSettings: [
        ...FIXED_SETTINGS.map((setting) => ({ keys: setting.names, scope: setting.scope, value: setting.value })),
        ...FIXED_PREFIXES.map((family) => ({ keys: [`${family.prefix}*`], scope: 'cluster', value: family.value })),
      ],
    };
  }

  /** Registers a tenant (operator only); the token is returned once and stored only as a hash. */
  async registerTenant(principal: Principal, name: unknown): Promise<{ name: string; token: string }> {
    requireOperator(principal);
    const issues = validateTenantName(name, 'name');
    if (issues.length > 0) {
      throw new FlinkplaneError('invalid_request', issues.map((issue) => issue.message).join('; '), { issues });
    }
    const tenant = name as string;
    const token = newTenantToken(tenant);
    await this.deps.store.createTenant({ name: tenant, tokenHash: hashToken(token), createdAt: this.now() });
    return { name: tenant, token };
  }

  /** Tenants with their cluster's state (operator only). */
  async listTenants(principal: Principal, limit: number, cursor?: string) {
    requireOperator(principal);
    const page = await this.deps.store.listTenants(limit, cursor);
    const items = await Promise.all(
      page.items.map(async (tenant) => {
        const cluster = await this.deps.store.getCluster(tenant.name);
        return { name: tenant.name, createdAt: tenant.createdAt, clusterState: cluster?.value.state ?? null };
      }),
    );
    return { items, cursor: page.cursor };
  }

  /** Deploys or updates the tenant's cluster and answers with its view once the objects are applied. */
  async deploy(principal: Principal, tenant: string, body: unknown): Promise<ClusterView> {
    authorizeTenant(principal, tenant);
    await this.requireTenant(tenant, principal);
    const validation = validateClusterSpec(body, this.deps.platform);
    if (!validation.ok) throw specError(validation.issues);
    const spec = validation.spec;

    const current = await this.deps.store.getCluster(tenant);
    this.refuseIfBusy(current);
    const now = this.now();
    const previous = current?.value;
    if (previous && previous.spec.zone !== spec.zone) {
      // The retained JAR volume is a zonal disk: pods in another zone could never mount it.
      throw specError([
        {
          code: 'invalid_value',
          path: 'zone',
          value: spec.zone,
          rule: `the zone of the retained JAR volume (${previous.spec.zone})`,
          limit: previous.spec.zone,
          message: `zone "${spec.zone}" differs from "${previous.spec.zone}", where the tenant's JAR volume lives; keep the zone or purge the tenant first`,
        },
      ]);
    }
    let haEpoch = previous?.haEpoch ?? 1;
    let previousHaClusterIds = previous?.previousHaClusterIds ?? [];
    // A retry of a clean start that has not finished yet reuses the epoch it moved to, rather than skipping another.
    const retryOfCleanStart = previous?.state === 'DEPLOYING' && previous.spec.restore === 'clean';
    if (previous && spec.restore === 'clean' && !retryOfCleanStart) {
      previousHaClusterIds = [...previousHaClusterIds, haClusterId(tenant, haEpoch)];
      haEpoch += 1;
    }
    const intent: ClusterRecord = {
      tenant,
      state: 'DEPLOYING',
      generation: (previous?.generation ?? 0) + 1,
      spec,
      haEpoch,
      previousHaClusterIds,
      operation: {
        kind: 'deploy',
        generation: (previous?.generation ?? 0) + 1,
        step: 'intent',
        leaseUntil: this.leaseUntil(),
      },
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      ...(previous?.deployedAt ? { deployedAt: previous.deployedAt } : {}),
    };
    const version = await this.persist(intent, current?.version ?? 0);
    const done = await this.drive({ value: intent, version });
    return this.view(done.value);
  }

  /** Destroys the cluster's pods, services and vhost; keeps the bucket, the ZooKeeper namespace and the volume. */
  async destroy(principal: Principal, tenant: string): Promise<ClusterView> {
    authorizeTenant(principal, tenant);
    await this.requireTenant(tenant, principal);
    const current = await this.requireCluster(tenant);
    if (current.value.state === 'DESTROYED' && !current.value.operation) return this.view(current.value);
    this.refuseIfBusy(current);
    const generation = current.value.generation + 1;
    const intent: ClusterRecord = {
      ...current.value,
      state: 'DESTROYING',
      generation,
      operation: { kind: 'destroy', generation, step: 'intent', leaseUntil: this.leaseUntil() },
      updatedAt: this.now(),
    };
    const version = await this.persist(intent, current.version);
    const done = await this.drive({ value: intent, version });
    return this.view(done.value);
  }

  async status(principal: Principal, tenant: string): Promise<ClusterView> {
    authorizeTenant(principal, tenant);
    const current = await this.deps.store.getCluster(tenant);
    if (!current) throw notFound(tenant);
    return this.view(current.value);
  }

  async listClusters(principal: Principal, limit: number, cursor?: string): Promise<Page<ClusterView>> {
    requireOperator(principal);
    const page = await this.deps.store.listClusters(limit, cursor);
    return { items: page.items.map((item) => this.view(item.value)), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * Deletes everything a tenant retained — namespace, volume, bucket, ZooKeeper namespace — and the tenant itself.
   * Operator only, confirmed by the tenant's name, and only once the cluster is destroyed. Idempotent.
   */
  async purge(principal: Principal, tenant: string, confirm: unknown): Promise<{ tenant: string; purged: string[] }> {
    requireOperator(principal);
    if (confirm !== tenant) {
      throw new FlinkplaneError(
        'invalid_request',
        `Purging deletes every retained resource; confirm with confirm=${tenant}`,
        {
          field: 'confirm',
          value: confirm ?? null,
          rule: 'equal to the tenant name',
        },
      );
    }
    await this.requireTenant(tenant);
    const current = await this.deps.store.getCluster(tenant);
    const purgeRetry = current?.value.operation?.kind === 'purge';
    if (current && (current.value.state !== 'DESTROYED' || (current.value.operation && !purgeRetry))) {
      throw new FlinkplaneError('conflict', `Destroy the cluster of ${tenant} before purging it`, {
        tenant,
        state: current.value.state,
        generation: current.value.generation,
      });
    }
    if (current) {
      // Hold the tenant while purging: a deploy that starts now finds the lease, or loses the race for the record.
      const hold: ClusterRecord = {
        ...current.value,
        operation: {
          kind: 'purge',
          generation: current.value.generation,
          step: 'intent',
          leaseUntil: this.leaseUntil(),
        },
        updatedAt: this.now(),
      };
      await this.persist(hold, current.version);
    }
    const names = tenantNames(tenant, this.deps.platform);
    await this.deps.access.revoke(tenant, names.namespace, names.serviceAccount);
    await this.deps.kubernetes.deleteNamespace(names.namespace);
    await this.deps.buckets.deleteBucket(names.bucket);
    await this.deps.zookeeper.deleteNamespace(names.zookeeperChroot);
    await this.deps.store.deleteTenant(tenant);
    return {
      tenant,
      purged: [
        `namespace ${names.namespace} (with volume ${COMPONENT_NAMES.volume})`,
        `bucket ${names.bucket}`,
        `ZooKeeper namespace ${names.zookeeperChroot}`,
        `tenant ${tenant}`,
      ],
    };
  }

  /**
   * Refreshes the status of every cluster with bounded parallelism, and re-drives operations a crash left behind
   * once their lease has expired.
   */
  async reconcile(options: { concurrency?: number } = {}): Promise<ReconcileSummary> {
    const concurrency = Math.max(1, options.concurrency ?? 16);
    let checked = 0;
    let changed = 0;
    let redriven = 0;
    let failed = 0;
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listClusters(100, cursor);
      await forEachLimited(page.items, concurrency, async (item) => {
        checked += 1;
        try {
          const outcome = await this.reconcileOne(item);
          if (outcome === 'redriven') redriven += 1;
          if (outcome === 'changed') changed += 1;
        } catch (error) {
          // A conflict means a request is acting on the tenant right now; anything else is retried next sweep.
          if (!(isFlinkplaneError(error) && error.code === 'conflict')) failed += 1;
        }
      });
      cursor = page.cursor;
    } while (cursor);
    return { checked, changed, redriven, failed };
  }

  private async reconcileOne(item: Versioned<ClusterRecord>): Promise<'redriven' | 'changed' | 'unchanged'> {
    const record = item.value;
    if (record.operation) {
      if (Date.parse(record.operation.leaseUntil) > this.deps.clock.now().getTime()) return 'unchanged';
      // A purge is the operator's to retry; the reconciler never deletes retained state on its own.
      if (record.operation.kind === 'purge') return 'unchanged';
      // Take the operation over: a fresh lease, then the same idempotent steps.
      const takeover: ClusterRecord = {
        ...record,
        operation: { ...record.operation, leaseUntil: this.leaseUntil() },
        updatedAt: this.now(),
      };
      const version = await this.persist(takeover, item.version);
      await this.drive({ value: takeover, version });
      return 'redriven';
    }
    if (!LIVE_STATES.has(record.state)) return 'unchanged';
    const names = tenantNames(record.tenant, this.deps.platform);
    const observed = await this.observe(names.namespace, undefined, record);
    const state = stateFrom(record.state, observed);
    if (state === record.state && sameObservation(record.observed, observed)) return 'unchanged';
    await this.persist(
      {
        ...record,
        state,
        observed,
        updatedAt: this.now(),
        ...(state === 'RUNNING' && !record.deployedAt ? { deployedAt: this.now() } : {}),
      },
      item.version,
    );
    return 'changed';
  }

  /** Runs the steps of the record's operation, recording the outcome after each one. */
  private async drive(start: Versioned<ClusterRecord>): Promise<Versioned<ClusterRecord>> {
    const operation = start.value.operation!;
    let current = start;
    const step = async (name: string, action: () => Promise<void>) => {
      await action();
      current = await this.record(current, { operation: { ...operation, step: name, leaseUntil: this.leaseUntil() } });
    };
    try {
      if (operation.kind === 'deploy') return await this.deploySteps(current, step, () => current);
      return await this.destroySteps(step, () => current);
    } catch (error) {
      await this.recordFailure(current, operation.kind, error);
      throw error;
    }
  }

  private async deploySteps(
    start: Versioned<ClusterRecord>,
    step: (name: string, action: () => Promise<void>) => Promise<void>,
    latest: () => Versioned<ClusterRecord>,
  ): Promise<Versioned<ClusterRecord>> {
    const { tenant, spec, haEpoch } = start.value;
    const cluster = buildEffectiveCluster(tenant, spec, this.deps.platform, haEpoch);
    const { names } = cluster;
    const identity = this.deps.secrets.zookeeperIdentity(tenant);
    await step('bucket', () => this.deps.buckets.ensureBucket(names.bucket, tenant));
    await step('zookeeper', () => this.deps.zookeeper.ensureNamespace(names.zookeeperChroot, identity));
    await step('access', () => this.deps.access.grant(tenant, names.namespace, names.serviceAccount));
    let applied: AppliedObjects | undefined;
    await step('kubernetes', async () => {
      applied = await this.deps.kubernetes.apply(this.deps.render(cluster, identity));
    });
    const observed = await this.observe(names.namespace, applied);
    const state = stateFrom('DEPLOYING', observed);
    return this.record(latest(), {
      state,
      observed,
      operation: undefined,
      lastError: undefined,
      ...(state === 'RUNNING' ? { deployedAt: this.now() } : {}),
    });
  }

  private async destroySteps(
    step: (name: string, action: () => Promise<void>) => Promise<void>,
    latest: () => Versioned<ClusterRecord>,
  ): Promise<Versioned<ClusterRecord>> {
    const names = tenantNames(latest().value.tenant, this.deps.platform);
    await step('kubernetes', async () => {
      await this.deps.kubernetes.deleteNotRetained(names.tenant, names.namespace);
    });
    await step('access', () => this.deps.access.revoke(names.tenant, names.namespace, names.serviceAccount));
    return this.record(latest(), {
      state: 'DESTROYED',
      observed: undefined,
      operation: undefined,
      lastError: undefined,
      destroyedAt: this.now(),
    });
  }

  /**
   * Kubernetes' view of the cluster and, once every pod is ready, the JobManager's own: how many TaskManagers it has
   * registered. A RUNNING cluster whose pods have not changed is not asked again, so a sweep over every tenant stays
   * one pod list each.
   */
  private async observe(
    namespace: string,
    applied?: AppliedObjects,
    previous?: ClusterRecord,
  ): Promise<ObservedStatus> {
    const observed = await this.deps.kubernetes.observe(namespace, applied);
    const flinkRest = this.deps.flinkRest;
    const podsReady = observed.jobManagerReady && observed.taskManagersReady >= observed.taskManagersDesired;
    if (!flinkRest || observed.failed || !podsReady) return observed;
    const before = previous?.observed;
    if (previous?.state === 'RUNNING' && before?.taskManagersRegistered !== undefined && samePods(before, observed)) {
      return { ...observed, taskManagersRegistered: before.taskManagersRegistered, ...pick(before, 'flinkVersion') };
    }
    try {
      const overview = await flinkRest.overview(namespace);
      return { ...observed, taskManagersRegistered: overview.taskManagers, flinkVersion: overview.flinkVersion };
    } catch (error) {
      const why = isFlinkplaneError(error) ? error.message : 'unexpected error';
      return { ...observed, taskManagersRegistered: 0, reason: `the JobManager does not answer yet: ${why}` };
    }
  }

  /** Records a failed step and releases the lease, so a retry need not wait for it to expire. */
  private async recordFailure(current: Versioned<ClusterRecord>, kind: OperationKind, error: unknown): Promise<void> {
    if (isFlinkplaneError(error) && error.code === 'conflict') return;
    // Unknown errors are recorded as the API answers them: `internal`, without their text, which may hold internals.
    const known = isFlinkplaneError(error);
    const operation = current.value.operation;
    const step = operation?.step ?? 'intent';
    try {
      await this.record(current, {
        lastError: {
          code: known ? error.code : 'internal',
          message: `${kind} failed after step "${step}": ${known ? error.message : 'unexpected error (logged)'}`,
          at: this.now(),
        },
        ...(operation ? { operation: { ...operation, leaseUntil: this.now() } } : {}),
      });
    } catch {
      // The store itself may be what failed; the lease then expires on its own and the reconciler re-drives.
    }
  }

  private async record(
    current: Versioned<ClusterRecord>,
    changes: Partial<ClusterRecord>,
  ): Promise<Versioned<ClusterRecord>> {
    const value = withoutUndefined({ ...current.value, ...changes, updatedAt: this.now() }) as ClusterRecord;
    const version = await this.persist(value, current.version);
    return { value, version };
  }

  private async persist(record: ClusterRecord, expectedVersion: number): Promise<number> {
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

  private refuseIfBusy(current: Versioned<ClusterRecord> | undefined): void {
    const operation = current?.value.operation;
    if (!operation || Date.parse(operation.leaseUntil) <= this.deps.clock.now().getTime()) return;
    throw new FlinkplaneError('conflict', `A ${operation.kind} of this cluster is in progress; retry after it ends`, {
      tenant: current.value.tenant,
      generation: current.value.generation,
      state: current.value.state,
      operation: operation.kind,
      retryAfter: operation.leaseUntil,
    });
  }

  private async requireTenant(tenant: string, principal?: Principal): Promise<void> {
    // Authentication already read this tenant's record; reading it again would only cost a round trip.
    if (principal?.kind === 'tenant' && principal.registered && principal.tenant === tenant) return;
    const record = validateTenantName(tenant).length === 0 ? await this.deps.store.getTenant(tenant) : undefined;
    if (!record) throw new FlinkplaneError('tenant_not_found', `There is no tenant ${tenant}`, { tenant });
  }

  private async requireCluster(tenant: string): Promise<Versioned<ClusterRecord>> {
    const current = await this.deps.store.getCluster(tenant);
    if (!current) throw notFound(tenant);
    return current;
  }

  private view(record: ClusterRecord): ClusterView {
    return clusterView(record, this.deps.platform);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  private leaseUntil(): string {
    return new Date(this.deps.clock.now().getTime() + this.leaseMs).toISOString();
  }
}

function notFound(tenant: string): FlinkplaneError {
  return new FlinkplaneError('cluster_not_found', `Tenant ${tenant} has no Flink cluster`, { tenant });
}

/** The state an observation implies: a cluster only becomes DEGRADED after it has run, and FAILED only with a reason. */
export function stateFrom(previous: ClusterState, observed: ObservedStatus): ClusterState {
  if (observed.failed) return 'FAILED';
  const registered = observed.taskManagersRegistered ?? observed.taskManagersDesired;
  const allReady =
    observed.jobManagerReady &&
    observed.taskManagersReady >= observed.taskManagersDesired &&
    registered >= observed.taskManagersDesired;
  if (allReady) return 'RUNNING';
  return previous === 'DEPLOYING' ? 'DEPLOYING' : 'DEGRADED';
}

function sameObservation(a: ObservedStatus | undefined, b: ObservedStatus): boolean {
  return (
    !!a &&
    samePods(a, b) &&
    a.taskManagersRegistered === b.taskManagersRegistered &&
    a.flinkVersion === b.flinkVersion &&
    a.reason === b.reason
  );
}

function samePods(a: ObservedStatus, b: ObservedStatus): boolean {
  return (
    a.jobManagerReady === b.jobManagerReady &&
    a.taskManagersReady === b.taskManagersReady &&
    a.taskManagersDesired === b.taskManagersDesired &&
    a.failed === b.failed
  );
}

function pick<T extends object, K extends keyof T>(value: T, key: K): Partial<Pick<T, K>> {
  return value[key] === undefined ? {} : ({ [key]: value[key] } as Partial<Pick<T, K>>);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  action: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await action(item);
    }
  });
  await Promise.all(workers);
}
