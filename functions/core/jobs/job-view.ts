/**
 * What the API says of a job and of a job operation, read from the JobManager's own answers (`FlinkJson`). Pure: the
 * same answers always give the same view.
 */
import type { FlinkJson } from '../ports.ts';

/** One row of `GET …/jobs`. */
export interface JobSummary {
  readonly jobId: string;
  readonly name: string;
  readonly state: string;
  /** ISO time, or undefined before the job started. */
  readonly startTime?: string;
  readonly endTime?: string;
  readonly durationMs: number;
}

export interface CheckpointView {
  readonly id: number;
  /** ISO time the checkpoint completed. */
  readonly time?: string;
  readonly bytes: number;
  readonly path: string;
  readonly savepoint: boolean;
}

export interface JobExceptionView {
  readonly time?: string;
  readonly name: string;
  /** The first line of the stack trace. */
  readonly message: string;
  readonly task?: string;
}

/** How the job was submitted through the control plane (absent for jobs submitted another way). */
export interface JobRunRecord {
  readonly jobId: string;
  readonly jarId: string;
  readonly jarName: string;
  readonly entryClass?: string;
  readonly args: readonly string[];
  readonly parallelism?: number;
  /** The snapshot path the run asked to restore from ("latest" resolved). */
  readonly restoreFrom?: string;
  readonly allowNonRestoredState: boolean;
  readonly submittedAt: string;
}

/** `GET …/jobs/{jobId}`. */
export interface JobView extends JobSummary {
  readonly restarts?: number;
  readonly lastCheckpoint?: CheckpointView;
  /** The snapshot the job was restored from, as Flink reports it (or, until it does, as the run asked). */
  readonly restoredFrom?: string;
  readonly exceptions: readonly JobExceptionView[];
  readonly run?: JobRunRecord;
}

/** How many of the latest exceptions a job view carries, and how much of each message. */
const MAX_EXCEPTIONS = 5;
const MAX_MESSAGE = 1_000;

export function jobSummary(json: FlinkJson): JobSummary {
  const start = num(json['start-time']);
  const end = num(json['end-time']);
  return {
    jobId: str(json.jid),
    name: str(json.name),
    state: str(json.state),
    ...(start !== undefined && start > 0 ? { startTime: iso(start) } : {}),
    ...(end !== undefined && end > 0 ? { endTime: iso(end) } : {}),
    durationMs: Math.max(0, num(json.duration) ?? 0),
  };
}

/** The jobs of `GET /jobs/overview`, newest first. */
export function jobSummaries(overview: FlinkJson): JobSummary[] {
  const jobs = Array.isArray(overview.jobs) ? (overview.jobs as FlinkJson[]) : [];
  return jobs.map(jobSummary).sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? ''));
}

export function jobView(parts: {
  details: FlinkJson;
  checkpoints?: FlinkJson;
  exceptions?: FlinkJson;
  restarts?: number;
  run?: JobRunRecord;
}): JobView {
  const latest = obj(parts.checkpoints?.latest);
  const completed = obj(latest?.completed);
  const restored = obj(latest?.restored);
  const restoredFrom = restored ? str(restored.external_path) : parts.run?.restoreFrom;
  return {
    ...jobSummary(parts.details),
    ...(parts.restarts === undefined ? {} : { restarts: parts.restarts }),
    ...(completed ? { lastCheckpoint: checkpointView(completed) } : {}),
    ...(restoredFrom ? { restoredFrom } : {}),
    exceptions: parts.exceptions ? exceptionViews(parts.exceptions) : [],
    ...(parts.run ? { run: parts.run } : {}),
  };
}

function checkpointView(json: FlinkJson): CheckpointView {
  const time = num(json.latest_ack_timestamp);
  return {
    id: num(json.id) ?? 0,
    ...(time !== undefined && time > 0 ? { time: iso(time) } : {}),
    // Flink 1.x and 2.x both report the full state size; `checkpointed_size` is only the increment.
    bytes: num(json.state_size) ?? num(json.checkpointed_size) ?? 0,
    path: str(json.external_path),
    savepoint: json.is_savepoint === true,
  };
}

function exceptionViews(json: FlinkJson): JobExceptionView[] {
  const history = obj(json.exceptionHistory);
  const entries = Array.isArray(history?.entries) ? (history.entries as FlinkJson[]) : [];
  return entries.slice(0, MAX_EXCEPTIONS).map((entry) => {
    const time = num(entry.timestamp);
    const task = entry.taskName;
    return {
      ...(time !== undefined ? { time: iso(time) } : {}),
      name: str(entry.exceptionName),
      message: (str(entry.stacktrace).split('\n')[0] ?? '').slice(0, MAX_MESSAGE),
      ...(typeof task === 'string' ? { task } : {}),
    };
  });
}

export const JOB_OPERATION_KINDS = ['savepoint', 'stop', 'cancel'] as const;
export type JobOperationKind = (typeof JOB_OPERATION_KINDS)[number];

/** A savepoint, stop or cancel, as the caller polls it. */
export interface JobOperationView {
  readonly operationId: string;
  readonly kind: JobOperationKind;
  readonly jobId: string;
  readonly status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  /** Where the savepoint was written (savepoint and stop, once SUCCEEDED). */
  readonly savepointPath?: string;
  /** Why it failed, in Flink's words. */
  readonly failure?: string;
}

const JOB_ID = /^[0-9a-f]{32}$/;
const TRIGGER_ID = /^[0-9a-f]{32}$/;

export function isJobId(value: string): boolean {
  return JOB_ID.test(value);
}

/**
 * The operation id names everything needed to poll it (kind, job, Flink's trigger id), so no record is kept: it is
 * only ever looked up in the caller's own tenant's JobManager.
 */
export function operationId(kind: JobOperationKind, jobId: string, triggerId?: string): string {
  return triggerId ? `${kind}-${jobId}-${triggerId}` : `${kind}-${jobId}`;
}

export function parseOperationId(
  id: string,
): { kind: JobOperationKind; jobId: string; triggerId?: string } | undefined {
  const [kind, jobId, triggerId, ...rest] = id.split('-');
  if (rest.length > 0 || !jobId || !JOB_ID.test(jobId)) return undefined;
  if (kind === 'cancel' && triggerId === undefined) return { kind, jobId };
  if ((kind === 'savepoint' || kind === 'stop') && triggerId !== undefined && TRIGGER_ID.test(triggerId)) {
    return { kind, jobId, triggerId };
  }
  return undefined;
}

/** A savepoint or stop from `GET /jobs/{id}/savepoints/{triggerId}`. */
export function savepointOperation(
  id: string,
  kind: 'savepoint' | 'stop',
  jobId: string,
  json: FlinkJson,
): JobOperationView {
  const base = { operationId: id, kind, jobId };
  if (str(obj(json.status)?.id) !== 'COMPLETED') return { ...base, status: 'IN_PROGRESS' };
  const operation = obj(json.operation);
  const location = operation?.location;
  if (typeof location === 'string') return { ...base, status: 'SUCCEEDED', savepointPath: location };
  const cause = obj(operation?.['failure-cause']);
  const trace = str(cause?.['stack-trace']);
  return { ...base, status: 'FAILED', failure: failureText(trace || str(cause?.class) || 'Flink gave no reason') };
}

/** A cancel, read from the job's state. */
export function cancelOperation(id: string, jobId: string, state: string): JobOperationView {
  const base = { operationId: id, kind: 'cancel' as const, jobId };
  if (state === 'CANCELED') return { ...base, status: 'SUCCEEDED' };
  if (state === 'FAILED' || state === 'FINISHED') {
    return { ...base, status: 'FAILED', failure: `The job ended ${state} before it was cancelled` };
  }
  return { ...base, status: 'IN_PROGRESS' };
}

/** The lines of a Java stack trace that say what went wrong: the exception lines, not the frames. */
export function failureText(trace: string): string {
  const lines = trace
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at ') && !line.startsWith('...'));
  return lines
    .slice(0, 6)
    .join('\n')
    .slice(0, 2 * MAX_MESSAGE);
}

function obj(value: unknown): FlinkJson | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as FlinkJson) : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
