/**
 * The deploy and destroy workflows. Each runs in a fixed order — load, validate, persist intent, act, record
 * outcome — and every step is idempotent, so a retry after a crash (or the reconciler's re-drive) converges.
 */

import { type ClusterRecords, clusterNotFound, RETRY_CANNOT_FIX } from './cluster-records.ts';
import { type ClusterSpec, compareFlinkVersions, mergeClusterSpecPatch, validateClusterSpec } from './cluster-spec.ts';
import type { ClusterView } from './cluster-view.ts';
import { buildEffectiveCluster } from './effective-cluster.ts';
import { FlinkplaneError, isFlinkplaneError, specError } from './errors.ts';
import { haClusterId, tenantNames } from './naming.ts';
import { observeCluster, stateFrom } from './observer.ts';
import type { AppliedObjects, ClusterRecord, OperationKind, Page, Versioned } from './ports.ts';
import { authorizeTenant, type Principal, requireOperator } from './principal.ts';

type Step = (name: string, action: () => Promise<void>) => Promise<void>;

/** Options of a write: `ifMatch` is the generations the caller expects (`If-Match`), or `*` for any existing one. */
export interface WriteOptions {
  readonly ifMatch?: readonly number[] | '*' | undefined;
}

/** Refuses a write whose caller expected another generation, so two editors cannot overwrite each other. */
function checkPrecondition(current: Versioned<ClusterRecord> | undefined, ifMatch: WriteOptions['ifMatch']): void {
  if (ifMatch === undefined) return;
  const generation = current?.value.generation;
  if (generation !== undefined && (ifMatch === '*' || ifMatch.includes(generation))) return;
  const expected = ifMatch === '*' ? '*' : ifMatch.map((value) => `"${value}"`).join(', ');
  throw new FlinkplaneError(
    'precondition_failed',
    generation === undefined
      ? `If-Match expects generation ${expected}, and the tenant has no cluster`
      : `If-Match expects generation ${expected}, and the cluster is at generation ${generation}; read it again and reapply your change`,
    { expected: ifMatch, generation: generation ?? null },
  );
}

export class Workflow {
  private readonly records: ClusterRecords;

  constructor(records: ClusterRecords) {
    this.records = records;
  }

  /**
   * Deploys the tenant's cluster, or replaces its whole spec (a field the body leaves out gets its default), and
   * answers with its view once the objects are applied.
   */
  async deploy(principal: Principal, tenant: string, body: unknown, options: WriteOptions = {}): Promise<ClusterView> {
    const { records } = this;
    authorizeTenant(principal, tenant);
    await records.requireTenant(tenant, principal);
    const validation = validateClusterSpec(body, records.deps.platform);
    if (!validation.ok) throw specError(validation.issues);
    const current = await records.deps.store.getCluster(tenant);
    checkPrecondition(current, options.ifMatch);
    return this.apply(tenant, validation.spec, current);
  }

  /**
   * Changes only what a JSON merge patch (RFC 7396) names in the existing cluster's spec; the merged spec goes
   * through the same validator as a deploy.
   */
  async patch(principal: Principal, tenant: string, patch: unknown, options: WriteOptions = {}): Promise<ClusterView> {
    const { records } = this;
    authorizeTenant(principal, tenant);
    await records.requireTenant(tenant, principal);
    const current = await records.requireCluster(tenant);
    checkPrecondition(current, options.ifMatch);
    const merged = mergeClusterSpecPatch(current.value.spec, patch);
    if (!merged.ok) throw specError(merged.issues);
    const validation = validateClusterSpec(merged.request, records.deps.platform);
    if (!validation.ok) throw specError(validation.issues);
    return this.apply(tenant, validation.spec, current);
  }

  /** Persists the intent to run `spec` and drives the deploy; refuses what the current record rules out. */
  private async apply(
    tenant: string,
    spec: ClusterSpec,
    current: Versioned<ClusterRecord> | undefined,
  ): Promise<ClusterView> {
    const { records } = this;
    records.refuseIfBusy(current);
    const now = records.now();
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
    if (
      previous &&
      spec.restore !== 'clean' &&
      compareFlinkVersions(spec.flinkVersion, previous.spec.flinkVersion) < 0
    ) {
      // An older Flink cannot read the checkpoints and HA metadata a newer one wrote; only a clean start may go back.
      const [from, to] = [previous.spec.flinkVersion, spec.flinkVersion];
      throw new FlinkplaneError(
        'version_downgrade',
        `Flink ${to} cannot restore the state Flink ${from} wrote; stay on ${from}, or downgrade with "restore":"clean" to start without that state`,
        { from, to, restore: spec.restore },
      );
    }
    let haEpoch = previous?.haEpoch ?? 1;
    let previousHaClusterIds = previous?.previousHaClusterIds ?? [];
    // A retry of a clean start that has not finished yet reuses the epoch it moved to, rather than skipping another.
    const retryOfCleanStart = previous?.state === 'DEPLOYING' && previous.spec.restore === 'clean';
    if (previous && spec.restore === 'clean' && !retryOfCleanStart) {
      previousHaClusterIds = [...previousHaClusterIds, haClusterId(tenant, haEpoch)];
      haEpoch += 1;
    }
    const generation = (previous?.generation ?? 0) + 1;
    const intent: ClusterRecord = {
      tenant,
      state: 'DEPLOYING',
      generation,
      spec,
      haEpoch,
      previousHaClusterIds,
      operation: { kind: 'deploy', generation, step: 'intent', leaseUntil: records.leaseUntil() },
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      ...(previous?.deployedAt ? { deployedAt: previous.deployedAt } : {}),
    };
    const version = await records.persist(intent, current?.version ?? 0);
    const done = await this.drive({ value: intent, version });
    return records.view(done.value);
  }

  /** Destroys the cluster's pods, services and vhost; keeps the bucket, the ZooKeeper namespace and the volume. */
  async destroy(principal: Principal, tenant: string, options: WriteOptions = {}): Promise<ClusterView> {
    const { records } = this;
    authorizeTenant(principal, tenant);
    await records.requireTenant(tenant, principal);
    const current = await records.requireCluster(tenant);
    checkPrecondition(current, options.ifMatch);
    if (current.value.state === 'DESTROYED' && !current.value.operation) return records.view(current.value);
    records.refuseIfBusy(current);
    const generation = current.value.generation + 1;
    const intent: ClusterRecord = {
      ...current.value,
      state: 'DESTROYING',
      generation,
      operation: { kind: 'destroy', generation, step: 'intent', leaseUntil: records.leaseUntil() },
      lastError: undefined,
      updatedAt: records.now(),
    };
    const version = await records.persist(intent, current.version);
    const done = await this.drive({ value: intent, version });
    return records.view(done.value);
  }

  async status(principal: Principal, tenant: string): Promise<ClusterView> {
    authorizeTenant(principal, tenant);
    const current = await this.records.deps.store.getCluster(tenant);
    if (!current) throw clusterNotFound(tenant);
    return this.records.view(current.value);
  }

  async listClusters(principal: Principal, limit: number, cursor?: string): Promise<Page<ClusterView>> {
    requireOperator(principal);
    const page = await this.records.deps.store.listClusters(limit, cursor);
    return {
      items: page.items.map((item) => this.records.view(item.value)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  /** Runs the steps of the record's operation, recording the outcome after each one. */
  async drive(start: Versioned<ClusterRecord>): Promise<Versioned<ClusterRecord>> {
    const { records } = this;
    const operation = start.value.operation!;
    let current = start;
    const step: Step = async (name, action) => {
      await action();
      current = await records.record(current, {
        operation: { ...operation, step: name, leaseUntil: records.leaseUntil() },
      });
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
    step: Step,
    latest: () => Versioned<ClusterRecord>,
  ): Promise<Versioned<ClusterRecord>> {
    const { deps } = this.records;
    const { tenant, spec, haEpoch } = start.value;
    const cluster = buildEffectiveCluster(tenant, spec, deps.platform, haEpoch);
    const { names } = cluster;
    const identity = deps.secrets.zookeeperIdentity(tenant);
    await step('bucket', () => deps.buckets.ensureBucket(names.bucket, tenant));
    await step('zookeeper', () => deps.zookeeper.ensureNamespace(names.zookeeperChroot, identity));
    await step('access', () => deps.access.grant(tenant, names.namespace, names.serviceAccount));
    let applied: AppliedObjects | undefined;
    await step('kubernetes', async () => {
      applied = await deps.kubernetes.apply(deps.render(cluster, identity));
    });
    const observed = await observeCluster(deps, names.namespace, applied);
    const state = stateFrom('DEPLOYING', observed);
    return this.records.record(latest(), {
      state,
      observed,
      operation: undefined,
      lastError: undefined,
      ...(state === 'RUNNING' ? { deployedAt: this.records.now() } : {}),
    });
  }

  private async destroySteps(step: Step, latest: () => Versioned<ClusterRecord>): Promise<Versioned<ClusterRecord>> {
    const { deps } = this.records;
    const names = tenantNames(latest().value.tenant, deps.platform);
    await step('kubernetes', async () => {
      await deps.kubernetes.deleteNotRetained(names.tenant, names.namespace);
    });
    await step('access', () => deps.access.revoke(names.tenant, names.namespace, names.serviceAccount));
    return this.records.record(latest(), {
      state: 'DESTROYED',
      observed: undefined,
      operation: undefined,
      lastError: undefined,
      destroyedAt: this.records.now(),
    });
  }

  /** Records a failed step and releases the lease, so a retry need not wait for it to expire. */
  private async recordFailure(current: Versioned<ClusterRecord>, kind: OperationKind, error: unknown): Promise<void> {
    if (isFlinkplaneError(error) && error.code === 'conflict') return;
    const { records } = this;
    const operation = current.value.operation;
    const step = operation?.step ?? 'intent';
    // Unexpected errors, and `internal` ones, may quote a dependency's own words: the record (which the tenant reads)
    // says only that the step failed; the text goes to the log.
    const told = isFlinkplaneError(error) && error.code !== 'internal';
    const final = told && RETRY_CANNOT_FIX.has(error.code);
    if (!told) {
      records.deps.log?.('operation step failed', {
        tenant: current.value.tenant,
        operation: kind,
        step,
        error:
          error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      });
    }
    try {
      await records.record(current, {
        // A failure no retry can fix (a bucket name another account owns) ends as FAILED and waits for a person.
        ...(final ? { state: 'FAILED' as const } : {}),
        lastError: {
          code: told ? error.code : 'internal',
          message: `${kind} failed after step "${step}": ${told ? error.message : 'unexpected error (logged)'}`,
          at: records.now(),
        },
        ...(operation ? { operation: { ...operation, leaseUntil: records.now() } } : {}),
      });
    } catch {
      // The store itself may be what failed; the lease then expires on its own and the reconciler re-drives.
    }
  }
}
