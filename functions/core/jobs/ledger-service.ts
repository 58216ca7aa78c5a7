/**
 * The savepoint ledger: every savepoint and retained checkpoint in a tenant's bucket, across destroy, redeploy and
 * clean start (the savepoint prefix and every HA epoch's checkpoint prefix), with its job, size, time and whether it can
 * be restored; deletion by request; the tenant's retention setting and the sweep that applies it. The policy is pure
 * and lives in `ledger.ts`; this file reads the bucket, the run records and the inspector.
 */
import type { ClusterRecords } from '../cluster-records.ts';
import { FlinkplaneError } from '../errors.ts';
import { haClusterId, tenantNames } from '../naming.ts';
import type { ClusterRecord, ObjectStore, StoredObject } from '../ports.ts';
import { authorizeTenant, type Principal } from '../principal.ts';
import { isJobId, type JobRunRecord, jobSummaries } from './job-view.ts';
import {
  checkDeletion,
  judgeRestorable,
  type KnownJob,
  type ListedSnapshot,
  planRetention,
  type RetentionInput,
  type RetentionPolicy,
  resolveJob,
  type SnapshotEntry,
  snapshotsInListing,
  validateRetention,
} from './ledger.ts';
import type { Restorability, SnapshotCheck, SnapshotFileReference } from './ledger-ports.ts';
import { snapshotPrefixes } from './snapshots.ts';

/** Where the control plane records how it submitted each job (the job service writes them). */
const RUN_PREFIX = 'jobs/';
/**
 * The tenant's retention setting, in its own bucket: the bucket outlives destroy, redeploy and clean start, is the
 * tenant's alone, and goes with the snapshots it governs when the operator purges the tenant.
 */
export const RETENTION_KEY = 'settings/snapshot-retention.json';
/** Inspector runs at once (each is a JVM locally, a Kubernetes Job on AWS). */
const CHECK_CONCURRENCY = 2;
/** Snapshot checks remembered, per process. */
const CHECK_CACHE_SIZE = 2_000;
/** Flink job states after which a job no longer writes checkpoints. */
const ENDED_STATES: ReadonlySet<string> = new Set(['FINISHED', 'CANCELED', 'FAILED']);
/** How often the reconciler's sweep applies a tenant's retention; it runs far more often than retention needs. */
export const SWEEP_INTERVAL_MS = 5 * 60_000;

/** One ledger entry as the API answers it. `restorable` is null while no inspector could check it, with the reason. */
export interface SnapshotView extends Omit<SnapshotEntry, 'restorability'> {
  readonly restorable: boolean | null;
  readonly reason?: string;
  readonly missing?: readonly string[];
  /** The catalog version whose classes read the snapshot: the one the tenant's cluster runs. */
  readonly checkedWith?: string;
}

/** `GET|PUT …/savepoints/retention`. */
export interface RetentionView {
  /** What applies, per job: the tenant's setting over the platform default, within the platform maximum. */
  readonly maxCount: number;
  readonly maxAgeDays: number;
  /** What the tenant set; an omitted field takes the platform default. */
  readonly setting: RetentionInput;
  readonly platformDefault: RetentionPolicy;
  readonly platformMaximum: RetentionPolicy;
}

/** What one retention sweep of a tenant did. */
export interface SweepResult {
  readonly tenant: string;
  readonly deleted: readonly string[];
  readonly kept: number;
}

interface Ledger {
  readonly bucket: string;
  readonly entries: readonly SnapshotEntry[];
  readonly flinkVersion?: string;
  readonly unchecked?: string;
  /** Snapshots the inspector failed on this time. */
  readonly failed?: ReadonlySet<string>;
  /** Jobs the cluster runs now; undefined when it could not be asked. */
  readonly liveJobs?: readonly { jobId: string; name: string; state: string }[];
}

export class SavepointLedger {
  private readonly records: ClusterRecords;
  /** Inspector verdicts by snapshot and version, with the `_metadata` stamp they were read at. */
  private readonly checks = new Map<string, { stamp: string; check: SnapshotCheck }>();
  /** Run records never change once written. */
  private readonly runs = new Map<string, KnownJob>();
  /** When each tenant was last swept, by this process. */
  private readonly swept = new Map<string, number>();

  constructor(records: ClusterRecords) {
    this.records = records;
  }

  /** Every savepoint and retained checkpoint of the tenant, newest first, each with its restorable verdict. */
  async list(principal: Principal, tenant: string): Promise<SnapshotView[]> {
    await this.authorize(principal, tenant);
    const ledger = await this.ledger(tenant);
    return [...ledger.entries]
      .sort((a, b) => b.takenAt.localeCompare(a.takenAt))
      .map((entry) => snapshotView(entry, ledger));
  }

  /** Deletes one snapshot's directory; never the job's newest restorable one (409 `conflict`). */
  async delete(principal: Principal, tenant: string, id: string): Promise<void> {
    await this.authorize(principal, tenant);
    const ledger = await this.ledger(tenant);
    await this.remove(ledger.bucket, checkDeletion(ledger.entries, id));
  }

  async retention(principal: Principal, tenant: string): Promise<RetentionView> {
    await this.authorize(principal, tenant);
    return this.retentionView(await this.storedSetting(tenantNames(tenant, this.records.deps.platform).bucket));
  }

  /** Replaces the tenant's setting (a field left out takes the platform default); every issue is named at once. */
  async setRetention(principal: Principal, tenant: string, body: unknown): Promise<RetentionView> {
    await this.authorize(principal, tenant);
    const setting = parseSetting(body);
    const issues = validateRetention(setting, this.records.deps.platform.snapshotRetention);
    if (issues.length > 0) {
      const summary = issues.map((issue) => issue.message).join('; ');
      throw new FlinkplaneError('invalid_request', `The snapshot retention is invalid: ${summary}`, { issues });
    }
    const { bucket } = tenantNames(tenant, this.records.deps.platform);
    const { buckets } = this.records.deps;
    if (!(await buckets.bucketExists(bucket))) await buckets.ensureBucket(bucket, tenant);
    await this.records.objects().put(bucket, RETENTION_KEY, once(JSON.stringify(setting)), {});
    return this.retentionView(setting);
  }

  /**
   * Applies the tenant's retention (`planRetention`) to a RUNNING cluster's ledger: deletes what it plans to, keeps the
   * newest restorable snapshot of every job and the checkpoints of jobs still running. Skipped when the running jobs
   * cannot be asked, since a checkpoint of a running job must not be taken for an ended one's.
   */
  async sweep(record: ClusterRecord): Promise<SweepResult> {
    this.swept.set(record.tenant, this.records.deps.clock.now().getTime());
    const ledger = await this.ledger(record.tenant, record);
    if (!ledger.liveJobs) return { tenant: record.tenant, deleted: [], kept: ledger.entries.length };
    const running = new Set(ledger.liveJobs.filter((job) => !ENDED_STATES.has(job.state)).map((job) => job.jobId));
    const view = this.retentionView(await this.storedSetting(ledger.bucket));
    const policy = { maxCount: view.maxCount, maxAgeDays: view.maxAgeDays };
    const plan = planRetention(ledger.entries, policy, this.records.deps.clock.now(), running);
    const deleted: string[] = [];
    for (const decision of plan) {
      if (decision.action !== 'delete') continue;
      await this.remove(ledger.bucket, decision.entry);
      deleted.push(decision.entry.id);
    }
    return { tenant: record.tenant, deleted, kept: plan.length - deleted.length };
  }

  /** The sweep, once `SWEEP_INTERVAL_MS` has passed since this process last swept the tenant; the reconciler's hook. */
  async sweepIfDue(record: ClusterRecord): Promise<SweepResult | undefined> {
    const last = this.swept.get(record.tenant);
    if (last !== undefined && this.records.deps.clock.now().getTime() - last < SWEEP_INTERVAL_MS) return undefined;
    return this.sweep(record);
  }

  private async ledger(tenant: string, known?: ClusterRecord): Promise<Ledger> {
    const { deps } = this.records;
    const { bucket } = tenantNames(tenant, deps.platform);
    if (!(await deps.buckets.bucketExists(bucket))) return { bucket, entries: [] };
    const record = known ?? (await deps.store.getCluster(tenant))?.value;
    const haIds = record ? [haClusterId(tenant, record.haEpoch), ...record.previousHaClusterIds] : [];
    const objects = this.records.objects();
    const listing = (await Promise.all(snapshotPrefixes(haIds).map((prefix) => objects.list(bucket, prefix)))).flat();
    const listed = snapshotsInListing(listing);
    const [runs, liveJobs] = await Promise.all([this.runRecords(bucket), this.liveJobs(record)]);
    const jobs: KnownJob[] = runs.map((run) => {
      const live = liveJobs?.find((job) => job.jobId === run.jobId);
      return live ? { ...run, name: live.name } : run;
    });
    const flinkVersion = record?.spec.flinkVersion;
    const unchecked = !deps.snapshotInspector
      ? 'this control plane has no snapshot inspector'
      : !flinkVersion
        ? 'the tenant has no cluster whose Flink version could read it'
        : undefined;
    const sizes = new Map(listing.map((object) => [object.key, object.bytes]));
    const failed = new Set<string>();
    const verdicts = await mapLimited(listed, CHECK_CONCURRENCY, async (snapshot) => {
      if (unchecked) return undefined;
      try {
        return await this.check(bucket, snapshot, flinkVersion!, sizes);
      } catch (error) {
        // One snapshot the inspector could not run on stays unchecked; the listing and the others still answer.
        deps.log?.('the snapshot inspector failed', { tenant, snapshot: snapshot.id, error: String(error) });
        failed.add(snapshot.id);
        return undefined;
      }
    });
    const entries = listed.map((snapshot, index): SnapshotEntry => {
      const job = resolveJob(snapshot, jobs);
      const restorability = verdicts[index];
      return {
        id: snapshot.id,
        kind: snapshot.kind,
        jobId: job.jobId,
        ...(job.name ? { jobName: job.name } : {}),
        takenAt: snapshot.takenAt,
        bytes: snapshot.bytes,
        path: `s3://${bucket}/${snapshot.dir}`,
        ...(restorability ? { restorability } : {}),
      };
    });
    return {
      bucket,
      entries,
      ...(flinkVersion ? { flinkVersion } : {}),
      ...(unchecked ? { unchecked } : {}),
      failed,
      ...(liveJobs ? { liveJobs } : {}),
    };
  }

  /**
   * The snapshot's verdict. `_metadata` is read once per stamp (the inspector is a JVM); the files it references are
   * looked up again on every call, from the listing where it covers them, so a file deleted since turns the verdict.
   */
  private async check(
    bucket: string,
    snapshot: ListedSnapshot,
    flinkVersion: string,
    listed: ReadonlyMap<string, number>,
  ): Promise<Restorability> {
    const key = `${bucket}/${snapshot.dir}@${flinkVersion}`;
    let check = this.checks.get(key);
    if (check?.stamp !== snapshot.metadataStamp) {
      const path = `s3://${bucket}/${snapshot.dir}`;
      check = {
        stamp: snapshot.metadataStamp,
        check: await this.records.deps.snapshotInspector!.check({ path, flinkVersion }),
      };
      this.checks.delete(key);
      this.checks.set(key, check);
      if (this.checks.size > CHECK_CACHE_SIZE) this.checks.delete(this.checks.keys().next().value!);
    }
    const { metadata, ...verdict } = check.check;
    if (!metadata) return verdict;
    const outside = metadata.files.find((file) => objectKey(bucket, file.path) === undefined);
    if (outside) {
      // The tenant's pods may read only their own bucket, whatever the control plane itself could read.
      return { restorable: false, reason: `references a file outside the tenant bucket: ${outside.path}` };
    }
    const sizes = await this.presentSizes(bucket, metadata.files, listed);
    return judgeRestorable(metadata, sizes);
  }

  /** Sizes of the referenced files present in the bucket, keyed by their path: from the listing, else a head. */
  private async presentSizes(
    bucket: string,
    files: readonly SnapshotFileReference[],
    listed: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const file of files) {
      const key = objectKey(bucket, file.path)!;
      const size = listed.get(key) ?? (await this.records.objects().head(bucket, key))?.bytes;
      if (size !== undefined) sizes.set(file.path, size);
    }
    return sizes;
  }

  private async remove(bucket: string, entry: SnapshotEntry): Promise<void> {
    const dir = entry.path.slice(`s3://${bucket}/`.length);
    const objects = this.records.objects();
    const files = await objects.list(bucket, `${dir}/`);
    // `_metadata` first: a snapshot without it is no longer listed, whatever else a crash leaves behind.
    const ordered = [...files].sort(
      (a, b) => Number(b.key.endsWith('/_metadata')) - Number(a.key.endsWith('/_metadata')),
    );
    for (const file of ordered) await objects.delete(bucket, file.key);
    for (const key of this.checks.keys()) if (key.startsWith(`${bucket}/${dir}@`)) this.checks.delete(key);
  }

  private async runRecords(bucket: string): Promise<KnownJob[]> {
    const objects = this.records.objects();
    const listed = (await objects.list(bucket, RUN_PREFIX)).filter((object) => runJobId(object) !== undefined);
    return Promise.all(
      listed.map(async (object) => {
        const cacheKey = `${bucket}/${object.key}`;
        const cached = this.runs.get(cacheKey);
        if (cached) return cached;
        const jobId = runJobId(object)!;
        const run = await readJson<JobRunRecord>(objects, bucket, object.key).catch(() => undefined);
        const known: KnownJob = run
          ? { jobId, submittedAt: run.submittedAt, name: run.entryClass ?? run.jarName }
          : { jobId };
        if (run) this.runs.set(cacheKey, known);
        return known;
      }),
    );
  }

  /** The jobs a RUNNING cluster knows, from its JobManager; undefined when it cannot be asked. */
  private async liveJobs(record: ClusterRecord | undefined) {
    const flink = this.records.deps.flinkRest;
    if (!flink || record?.state !== 'RUNNING') return undefined;
    const { namespace } = tenantNames(record.tenant, this.records.deps.platform);
    try {
      return jobSummaries(await flink.jobsOverview(namespace));
    } catch (error) {
      this.records.deps.log?.('the savepoint ledger could not list running jobs', {
        tenant: record.tenant,
        error: String(error),
      });
      return undefined;
    }
  }

  /** The stored setting; a field a later platform maximum no longer allows is held to that maximum. */
  private async storedSetting(bucket: string): Promise<RetentionInput> {
    if (!(await this.records.deps.buckets.bucketExists(bucket))) return {};
    const stored = await readJson<unknown>(this.records.objects(), bucket, RETENTION_KEY).catch(() => undefined);
    const { maximum } = this.records.deps.platform.snapshotRetention;
    const setting: { maxCount?: number; maxAgeDays?: number } = {};
    for (const field of ['maxCount', 'maxAgeDays'] as const) {
      const value = (stored as Record<string, unknown> | undefined)?.[field];
      if (typeof value === 'number' && Number.isInteger(value) && value >= 1) {
        setting[field] = Math.min(value, maximum[field]);
      }
    }
    return setting;
  }

  private retentionView(setting: RetentionInput): RetentionView {
    const settings = this.records.deps.platform.snapshotRetention;
    return {
      ...settings.default,
      ...setting,
      setting,
      platformDefault: settings.default,
      platformMaximum: settings.maximum,
    };
  }

  private async authorize(principal: Principal, tenant: string): Promise<void> {
    authorizeTenant(principal, tenant);
    await this.records.requireTenant(tenant, principal);
  }
}

function snapshotView(entry: SnapshotEntry, ledger: Ledger): SnapshotView {
  const { restorability, ...rest } = entry;
  if (!restorability) {
    const why = ledger.failed?.has(entry.id)
      ? 'the snapshot inspector failed on it; the next listing tries again'
      : ledger.unchecked;
    return { ...rest, restorable: null, reason: `not checked: ${why}` };
  }
  const checkedWith = ledger.flinkVersion ? { checkedWith: ledger.flinkVersion } : {};
  if (restorability.restorable) return { ...rest, restorable: true, ...checkedWith };
  return {
    ...rest,
    restorable: false,
    reason: restorability.reason,
    ...(restorability.missing ? { missing: restorability.missing } : {}),
    ...checkedWith,
  };
}

/** The body of a retention PUT: only `maxCount` and `maxAgeDays`, each optional; the values are judged after. */
function parseSetting(body: unknown): RetentionInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new FlinkplaneError('invalid_request', 'The retention setting must be a JSON object', { field: 'body' });
  }
  const unknown = Object.keys(body).filter((key) => key !== 'maxCount' && key !== 'maxAgeDays');
  if (unknown.length > 0) {
    throw new FlinkplaneError('invalid_request', `Unknown retention fields: ${unknown.join(', ')}`, {
      field: unknown[0]!,
      allowed: ['maxCount', 'maxAgeDays'],
    });
  }
  const setting: { maxCount?: number; maxAgeDays?: number } = {};
  for (const field of ['maxCount', 'maxAgeDays'] as const) {
    const value = (body as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number') {
      throw new FlinkplaneError('invalid_request', `snapshotRetention.${field} must be a number`, {
        field: `snapshotRetention.${field}`,
        value: String(value).slice(0, 64),
      });
    }
    setting[field] = value;
  }
  return setting;
}

/** The key of an `s3://` (`s3a://`, `s3p://`) URI in `bucket`; undefined for any other place. */
function objectKey(bucket: string, uri: string): string | undefined {
  const match = /^s3[ap]?:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match && match[1] === bucket ? match[2] : undefined;
}

function runJobId(object: StoredObject): string | undefined {
  const jobId = object.key.slice(RUN_PREFIX.length, -'.json'.length);
  return object.key.endsWith('.json') && isJobId(jobId) ? jobId : undefined;
}

async function readJson<T>(objects: ObjectStore, bucket: string, key: string): Promise<T | undefined> {
  const found = await objects.get(bucket, key);
  if (!found) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of found.body) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

async function* once(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text, 'utf8');
}
