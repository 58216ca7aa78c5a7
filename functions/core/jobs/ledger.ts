import * as z from 'zod';
import { FlinkplaneError, type Issue } from '../errors.ts';
import type { StoredObject } from '../ports.ts';
import type { Restorability, SnapshotMetadata } from './ledger-ports.ts';

/**
 * The savepoint ledger's policy, pure: what a snapshot's verdict is from its metadata and the files found, which
 * snapshots retention deletes, and which one a delete may not touch. The rule that holds above all others: the newest
 * restorable snapshot of a job is never deleted.
 */

export const SNAPSHOT_KINDS = ['savepoint', 'checkpoint'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

/** One savepoint or retained checkpoint in the tenant's bucket. */
export interface SnapshotEntry {
  readonly id: string;
  readonly kind: SnapshotKind;
  readonly jobId: string;
  readonly jobName?: string;
  /** ISO time the snapshot was taken. */
  readonly takenAt: string;
  readonly bytes: number;
  /** The snapshot directory (`s3://<bucket>/savepoints/savepoint-…`). */
  readonly path: string;
  /** Unset until the inspector has checked it. */
  readonly restorability?: Restorability;
}

const RetentionSchema = z
  .object({
    maxCount: z.number().int().min(1),
    maxAgeDays: z.number().int().min(1),
  })
  .strict();

/**
 * The platform's word on retention: what a tenant gets without a setting, and the most it may ask for. Meant to sit
 * in the platform settings as `snapshotRetention`.
 */
export const SnapshotRetentionSettingsSchema = z
  .object({
    /** @default 10 snapshots per job, 30 days */
    default: RetentionSchema.default({ maxCount: 10, maxAgeDays: 30 }),
    /** @default 100 snapshots per job, 365 days */
    maximum: RetentionSchema.default({ maxCount: 100, maxAgeDays: 365 }),
  })
  .strict()
  .refine((s) => s.default.maxCount <= s.maximum.maxCount && s.default.maxAgeDays <= s.maximum.maxAgeDays, {
    message: 'the default retention must lie within the maximum',
  });

export type SnapshotRetentionSettings = z.infer<typeof SnapshotRetentionSettingsSchema>;

/** How many snapshots of each job are kept, and for how long. */
export type RetentionPolicy = z.infer<typeof RetentionSchema>;

/** A tenant's setting; an omitted field takes the platform default. */
export type RetentionInput = Partial<RetentionPolicy>;

/** The field a tenant sets retention through, for the paths of issues. */
export const RETENTION_FIELD = 'snapshotRetention';

/** Every issue with a tenant's retention setting: below 1, not a whole number, or above the platform maximum. */
export function validateRetention(input: RetentionInput, settings: SnapshotRetentionSettings): Issue[] {
  const issues: Issue[] = [];
  for (const field of ['maxCount', 'maxAgeDays'] as const) {
    const value = input[field];
    if (value === undefined) continue;
    const path = `${RETENTION_FIELD}.${field}`;
    const maximum = settings.maximum[field];
    if (!Number.isInteger(value)) {
      issues.push({
        code: 'invalid_type',
        path,
        value,
        rule: 'a whole number',
        message: `${path} must be a whole number`,
      });
    } else if (value < 1) {
      issues.push({
        code: 'below_minimum',
        path,
        value,
        rule: 'minimum 1',
        limit: 1,
        message: `${path} is ${value}; it must be at least 1`,
      });
    } else if (value > maximum) {
      issues.push({
        code: 'above_maximum',
        path,
        value,
        rule: `platform maximum ${maximum}`,
        limit: maximum,
        message: `${path} is ${value}; the platform allows at most ${maximum}`,
      });
    }
  }
  return issues;
}

/** The retention a tenant's snapshots get; throws `invalid_request` with every issue when the setting breaks a rule. */
export function effectiveRetention(input: RetentionInput, settings: SnapshotRetentionSettings): RetentionPolicy {
  const issues = validateRetention(input, settings);
  if (issues.length > 0) {
    throw new FlinkplaneError(
      'invalid_request',
      `The snapshot retention is invalid: ${issues.map((issue) => issue.message).join('; ')}`,
      { issues },
    );
  }
  return { ...settings.default, ...input };
}

/** Missing files named in a reason, at most; the rest are counted. */
const NAMED_MISSING = 3;

/**
 * Whether a snapshot can be restored: every file its metadata references is present with at least the bytes the
 * metadata expects, and the inspector understood every state handle. `sizes` gives the size of each present file.
 */
export function judgeRestorable(metadata: SnapshotMetadata, sizes: ReadonlyMap<string, number>): Restorability {
  if (metadata.unknownHandles.length > 0) {
    return {
      restorable: false,
      reason: `the metadata holds state handles the check cannot follow: ${metadata.unknownHandles.join(', ')}`,
    };
  }
  const missing = metadata.files.filter((file) => !sizes.has(file.path)).map((file) => file.path);
  if (missing.length > 0) {
    const named = missing.slice(0, NAMED_MISSING).join(', ');
    const more = missing.length > NAMED_MISSING ? ` and ${missing.length - NAMED_MISSING} more` : '';
    return { restorable: false, reason: `missing ${named}${more}`, missing };
  }
  const short = metadata.files.find((file) => (sizes.get(file.path) ?? 0) < file.bytes);
  if (short) {
    return {
      restorable: false,
      reason: `truncated ${short.path}: ${sizes.get(short.path)} bytes, the metadata expects ${short.bytes}`,
    };
  }
  return { restorable: true };
}

/** Why retention keeps or deletes a snapshot. */
export type RetentionReason =
  | 'within_retention'
  | 'newest_restorable'
  | 'not_checked'
  | 'running_job_checkpoint'
  | 'over_max_count'
  | 'over_max_age';

export interface RetentionDecision {
  readonly entry: SnapshotEntry;
  readonly action: 'keep' | 'delete';
  readonly reason: RetentionReason;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * What retention does with each snapshot, per job, newest first: a snapshot past the job's `maxCount` newest or older
 * than `maxAgeDays` is deleted, except the job's newest restorable snapshot; one not yet checked (its verdict might
 * make it that one) and the checkpoints of a running job (Flink retains those itself) are kept.
 */
export function planRetention(
  entries: readonly SnapshotEntry[],
  policy: RetentionPolicy,
  now: Date,
  runningJobIds: ReadonlySet<string> = new Set(),
): RetentionDecision[] {
  const byJob = new Map<string, SnapshotEntry[]>();
  for (const entry of entries) byJob.set(entry.jobId, [...(byJob.get(entry.jobId) ?? []), entry]);
  const decisions: RetentionDecision[] = [];
  for (const jobEntries of byJob.values()) {
    const newestFirst = [...jobEntries].sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
    const newestRestorable = newestFirst.find((entry) => entry.restorability?.restorable === true);
    newestFirst.forEach((entry, rank) => {
      decisions.push({ entry, ...decide(entry, rank, entry === newestRestorable) });
    });
  }
  return decisions;

  function decide(entry: SnapshotEntry, rank: number, newestRestorable: boolean): Omit<RetentionDecision, 'entry'> {
    if (newestRestorable) return { action: 'keep', reason: 'newest_restorable' };
    if (entry.kind === 'checkpoint' && runningJobIds.has(entry.jobId)) {
      return { action: 'keep', reason: 'running_job_checkpoint' };
    }
    const overCount = rank >= policy.maxCount;
    const overAge = now.getTime() - Date.parse(entry.takenAt) > policy.maxAgeDays * DAY_MS;
    if (!overCount && !overAge) return { action: 'keep', reason: 'within_retention' };
    if (entry.restorability === undefined) return { action: 'keep', reason: 'not_checked' };
    return { action: 'delete', reason: overCount ? 'over_max_count' : 'over_max_age' };
  }
}

/**
 * Refuses to delete the snapshot `id` by request when it is its job's newest restorable one, or might be (not yet
 * checked, and no newer snapshot of the job is known restorable) (`conflict`), or when the ledger has no such snapshot
 * (`not_found`); returns the entry to delete.
 */
export function checkDeletion(entries: readonly SnapshotEntry[], id: string): SnapshotEntry {
  const entry = entries.find((candidate) => candidate.id === id);
  if (!entry) throw new FlinkplaneError('not_found', `No snapshot ${id} in the ledger`, { id });
  const newerRestorable = entries.some(
    (candidate) =>
      candidate !== entry &&
      candidate.jobId === entry.jobId &&
      candidate.restorability?.restorable === true &&
      Date.parse(candidate.takenAt) > Date.parse(entry.takenAt),
  );
  if (newerRestorable || entry.restorability?.restorable === false) return entry;
  const rule = 'the newest restorable snapshot of a job is never deleted';
  if (entry.restorability === undefined) {
    throw new FlinkplaneError(
      'conflict',
      `Snapshot ${id} has not been checked and no newer snapshot of job ${entry.jobId} is known restorable, so it ` +
        'may be the newest restorable one; it is kept.',
      { id, jobId: entry.jobId, rule },
    );
  }
  throw new FlinkplaneError(
    'conflict',
    `Snapshot ${id} is the newest restorable snapshot of job ${entry.jobId}; it is never deleted. Take a newer ` +
      'savepoint first.',
    { id, jobId: entry.jobId, rule },
  );
}

/** A snapshot directory as a bucket listing shows it, before its job is resolved and its restorability checked. */
export interface ListedSnapshot {
  readonly id: string;
  readonly kind: SnapshotKind;
  /** The directory's key in the bucket, without a trailing slash. */
  readonly dir: string;
  /** The whole job id (a checkpoint's directory names it), or its first six hex digits (a savepoint's name). */
  readonly jobIdOrPrefix: string;
  /** When `_metadata` was written, which is when the snapshot completed. */
  readonly takenAt: string;
  /** Bytes stored under the directory (a checkpoint's shared incremental files live outside it). */
  readonly bytes: number;
  /** `_metadata`'s time and size: when they change the snapshot is another one and is read again. */
  readonly metadataStamp: string;
}

const SAVEPOINT_DIR = /^savepoints\/(savepoint-([0-9a-f]{6})-[0-9a-f]+)$/;
const CHECKPOINT_DIR = /^([^/]+)\/checkpoints\/([0-9a-f]{32})\/chk-(\d+)$/;

/**
 * The complete snapshots in a listing of the snapshot prefixes (`snapshotPrefixes`): a directory counts once its
 * `_metadata` is written. Ids are stable and URL-safe: a savepoint's directory name, or
 * `checkpoint-<ha cluster id>-<job id>-<n>` for a retained checkpoint.
 */
export function snapshotsInListing(objects: readonly StoredObject[]): ListedSnapshot[] {
  const bytesUnder = new Map<string, number>();
  const found: Omit<ListedSnapshot, 'bytes'>[] = [];
  for (const object of objects) {
    if (!object.key.endsWith('/_metadata')) continue;
    const dir = object.key.slice(0, -'/_metadata'.length);
    const stamp = { takenAt: object.lastModified, metadataStamp: `${object.lastModified}/${object.bytes}`, dir };
    const savepoint = SAVEPOINT_DIR.exec(dir);
    const checkpoint = CHECKPOINT_DIR.exec(dir);
    if (savepoint) found.push({ id: savepoint[1]!, kind: 'savepoint', jobIdOrPrefix: savepoint[2]!, ...stamp });
    else if (checkpoint) {
      const [, haId, jobId, n] = checkpoint;
      found.push({ id: `checkpoint-${haId}-${jobId}-${n}`, kind: 'checkpoint', jobIdOrPrefix: jobId!, ...stamp });
    } else continue;
    bytesUnder.set(`${dir}/`, 0);
  }
  for (const object of objects) {
    const slash = object.key.lastIndexOf('/');
    // Snapshot files sit directly in the directory (Flink writes no subdirectories there).
    const dir = object.key.slice(0, slash + 1);
    const sum = bytesUnder.get(dir);
    if (sum !== undefined) bytesUnder.set(dir, sum + object.bytes);
  }
  return found.map((snapshot) => ({ ...snapshot, bytes: bytesUnder.get(`${snapshot.dir}/`) ?? 0 }));
}

/** What the ledger knows of a job run: its id, when it was submitted, and a name for people. */
export interface KnownJob {
  readonly jobId: string;
  readonly submittedAt?: string;
  readonly name?: string;
}

/**
 * The job a snapshot belongs to. A savepoint's directory names only the first six hex digits of the job id: of the
 * known jobs with that prefix, the one submitted last before the savepoint was taken. A prefix no known job has stays
 * as it is (a job submitted outside the API).
 */
export function resolveJob(snapshot: ListedSnapshot, jobs: readonly KnownJob[]): KnownJob {
  if (snapshot.kind === 'checkpoint') {
    return jobs.find((job) => job.jobId === snapshot.jobIdOrPrefix) ?? { jobId: snapshot.jobIdOrPrefix };
  }
  const candidates = jobs
    .filter((job) => job.jobId.startsWith(snapshot.jobIdOrPrefix))
    .sort((a, b) => (b.submittedAt ?? '').localeCompare(a.submittedAt ?? ''));
  const before = candidates.find((job) => (job.submittedAt ?? '') <= snapshot.takenAt);
  return before ?? candidates[0] ?? { jobId: snapshot.jobIdOrPrefix };
}
