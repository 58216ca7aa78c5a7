/**
 * The control plane as its callers see it: deploy, destroy, status, purge, reconcile and the catalog. A thin facade
 * over its parts: the workflow (`workflow.ts`), the reconciler (`reconciler.ts`), tenants (`tenants.ts`), the catalog
 * (`catalog-view.ts`) and the observer (`observer.ts`), which share the record keeping of `cluster-records.ts`.
 */
import { catalogView } from './catalog-view.ts';
import { ClusterRecords, type ControlPlaneDeps } from './cluster-records.ts';
import type { ClusterView } from './cluster-view.ts';
import { JobService } from './jobs/job-service.ts';
import { SavepointLedger } from './jobs/ledger-service.ts';
import { LogService } from './log-service.ts';
import type { Page } from './ports.ts';
import type { Principal } from './principal.ts';
import { Reconciler, type ReconcileSummary } from './reconciler.ts';
import { Tenants } from './tenants.ts';
import { Workflow, type WriteOptions } from './workflow.ts';

export type { ControlPlaneDeps, ControlPlaneLogger, ManifestRenderer } from './cluster-records.ts';
export { stateFrom } from './observer.ts';
export type { ReconcileSummary } from './reconciler.ts';
export type { WriteOptions } from './workflow.ts';

export class ControlPlane {
  private readonly deps: ControlPlaneDeps;
  private readonly workflow: Workflow;
  private readonly reconciler: Reconciler;
  private readonly tenants: Tenants;
  /** The tenant's JARs and jobs (`jobs/job-service.ts`); routes call its methods with the request's principal. */
  readonly jobs: JobService;
  /** The tenant's savepoints and retained checkpoints (`jobs/ledger-service.ts`); the reconciler sweeps retention. */
  readonly savepoints: SavepointLedger;
  /** The tenant's pod logs (`log-service.ts`): its JobManager, TaskManagers and proxy only. */
  readonly logs: LogService;

  constructor(deps: ControlPlaneDeps) {
    const records = new ClusterRecords(deps);
    this.deps = deps;
    this.workflow = new Workflow(records);
    this.tenants = new Tenants(records);
    this.jobs = new JobService(records);
    this.savepoints = new SavepointLedger(records);
    this.logs = new LogService(records, deps.podLogs);
    this.reconciler = new Reconciler(records, this.workflow, [(record) => this.savepoints.sweepIfDue(record)]);
  }

  /** The catalog with the sizing defaults, minimums, quota and the fixed settings. */
  versions() {
    return catalogView(this.deps.platform);
  }

  /** Registers a tenant (operator only); the token is returned once and stored only as a hash. */
  registerTenant(principal: Principal, name: unknown): Promise<{ name: string; token: string }> {
    return this.tenants.register(principal, name);
  }

  /** Tenants with their cluster's state (operator only). */
  listTenants(principal: Principal, limit: number, cursor?: string) {
    return this.tenants.list(principal, limit, cursor);
  }

  /**
   * Deploys the tenant's cluster, or replaces its whole spec (an unnamed field gets its default), and answers with
   * its view once the objects are applied. `ifMatch` refuses the write on another generation.
   */
  deploy(principal: Principal, tenant: string, body: unknown, options: WriteOptions = {}): Promise<ClusterView> {
    return this.workflow.deploy(principal, tenant, body, options);
  }

  /** Changes only what a JSON merge patch (RFC 7396) names in the existing cluster's spec. */
  patch(principal: Principal, tenant: string, patch: unknown, options: WriteOptions = {}): Promise<ClusterView> {
    return this.workflow.patch(principal, tenant, patch, options);
  }

  /** Destroys the cluster's pods, services and vhost; keeps the bucket, the ZooKeeper namespace and the volume. */
  destroy(principal: Principal, tenant: string, options: WriteOptions = {}): Promise<ClusterView> {
    return this.workflow.destroy(principal, tenant, options);
  }

  status(principal: Principal, tenant: string): Promise<ClusterView> {
    return this.workflow.status(principal, tenant);
  }

  listClusters(principal: Principal, limit: number, cursor?: string): Promise<Page<ClusterView>> {
    return this.workflow.listClusters(principal, limit, cursor);
  }

  /** Deletes everything a tenant retained, once its cluster is destroyed (operator only, confirmed by name). */
  purge(principal: Principal, tenant: string, confirm: unknown): Promise<{ tenant: string; purged: string[] }> {
    return this.tenants.purge(principal, tenant, confirm);
  }

  /** Refreshes every cluster's status and re-drives operations a crash left behind once their lease has expired. */
  reconcile(options: { concurrency?: number } = {}): Promise<ReconcileSummary> {
    return this.reconciler.reconcile(options);
  }
}
