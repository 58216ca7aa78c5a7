/**
 * The reconciler: keeps every live cluster's observed status fresh and re-drives operations a crash left behind once
 * their lease has expired.
 */
import { type ClusterRecords, RETRY_CANNOT_FIX } from './cluster-records.ts';
import { isFlinkplaneError } from './errors.ts';
import { tenantNames } from './naming.ts';
import { observeCluster, sameObservation, stateFrom } from './observer.ts';
import type { ClusterRecord, ClusterState, Versioned } from './ports.ts';
import type { Workflow } from './workflow.ts';

export interface ReconcileSummary {
  readonly checked: number;
  readonly changed: number;
  readonly redriven: number;
  readonly failed: number;
}

/** States in which the cluster's objects exist and the reconciler keeps its status fresh. */
const LIVE_STATES: ReadonlySet<ClusterState> = new Set(['DEPLOYING', 'RUNNING', 'DEGRADED', 'FAILED']);

/** Runs for each cluster a sweep finds RUNNING, after its status is refreshed (e.g. the ledger's retention sweep). */
export type RunningClusterHook = (record: ClusterRecord) => Promise<unknown>;

export class Reconciler {
  private readonly records: ClusterRecords;
  private readonly workflow: Workflow;
  private readonly onRunning: readonly RunningClusterHook[];

  constructor(records: ClusterRecords, workflow: Workflow, onRunning: readonly RunningClusterHook[] = []) {
    this.records = records;
    this.workflow = workflow;
    this.onRunning = onRunning;
  }

  /** Refreshes the status of every cluster with bounded parallelism, and re-drives expired operations. */
  async reconcile(options: { concurrency?: number } = {}): Promise<ReconcileSummary> {
    const concurrency = Math.max(1, options.concurrency ?? 16);
    let checked = 0;
    let changed = 0;
    let redriven = 0;
    let failed = 0;
    let cursor: string | undefined;
    do {
      const page = await this.records.deps.store.listClusters(100, cursor);
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
    const { records } = this;
    const record = item.value;
    if (record.operation) {
      if (records.leaseHolds(record.operation.leaseUntil)) return 'unchanged';
      // A purge is the operator's to retry; the reconciler never deletes retained state on its own.
      if (record.operation.kind === 'purge') return 'unchanged';
      // Nor does it repeat a step that failed for a reason no retry can fix; the tenant's next request retries it.
      if (record.lastError && RETRY_CANNOT_FIX.has(record.lastError.code)) return 'unchanged';
      // Take the operation over: a fresh lease, then the same idempotent steps.
      const takeover: ClusterRecord = {
        ...record,
        operation: { ...record.operation, leaseUntil: records.leaseUntil() },
        updatedAt: records.now(),
      };
      const version = await records.persist(takeover, item.version);
      await this.workflow.drive({ value: takeover, version });
      return 'redriven';
    }
    if (!LIVE_STATES.has(record.state)) return 'unchanged';
    const names = tenantNames(record.tenant, records.deps.platform);
    const observed = await observeCluster(records.deps, names.namespace, undefined, record);
    const state = stateFrom(record.state, observed);
    const unchanged = state === record.state && sameObservation(record.observed, observed);
    const next: ClusterRecord = unchanged
      ? record
      : {
          ...record,
          state,
          observed,
          updatedAt: records.now(),
          ...(state === 'RUNNING' && !record.deployedAt ? { deployedAt: records.now() } : {}),
        };
    if (!unchanged) await records.persist(next, item.version);
    if (state === 'RUNNING') await this.runHooks(next);
    return unchanged ? 'unchanged' : 'changed';
  }

  /** A hook's failure is logged and retried next sweep; it never fails the cluster's reconciliation. */
  private async runHooks(record: ClusterRecord): Promise<void> {
    for (const hook of this.onRunning) {
      await hook(record).catch((error: unknown) => {
        this.records.deps.log?.('a reconciler hook failed', { tenant: record.tenant, error: String(error) });
      });
    }
  }
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
