/**
 * The tenant's JARs and jobs: JARs kept in its bucket (so they survive destroy and redeploy), jobs run, read, saved,
 * stopped and cancelled through its JobManager's REST API. Every call acts only on the principal's own tenant: its
 * bucket and its namespace's JobManager, both derived from the tenant name.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ClusterRecords } from '../cluster-records.ts';
import { FlinkplaneError, isFlinkplaneError } from '../errors.ts';
import { haClusterId, haLocations, tenantNames } from '../naming.ts';
import type { FlinkRest } from '../ports.ts';
import { authorizeTenant, type Principal } from '../principal.ts';
import {
  checkJarName,
  flinkFileName,
  INCOMING_PREFIX,
  isJarId,
  JAR_PREFIX,
  type JarView,
  jarKey,
  jarMetadata,
  jarView,
  MAX_JAR_BYTES,
  meter,
} from './jars.ts';
import {
  cancelOperation,
  isJobId,
  type JobOperationView,
  type JobRunRecord,
  type JobSummary,
  type JobView,
  jobSummaries,
  jobView,
  operationId,
  parseOperationId,
  savepointOperation,
} from './job-view.ts';
import { validateRunRequest } from './run-request.ts';
import { latestSnapshot, snapshotPrefixes } from './snapshots.ts';

/** Where the control plane records how it submitted each job, in the tenant bucket. */
const RUN_PREFIX = 'jobs/';

/** How long a presigned JAR upload URL works: long enough for 500 MiB on a slow line, short enough not to linger. */
export const JAR_UPLOAD_URL_SECONDS = 15 * 60;

/** A presigned JAR upload: PUT the bytes to `url` with `headers`, then complete `uploadId`. */
export interface JarUploadView {
  readonly uploadId: string;
  readonly url: string;
  readonly method: 'PUT';
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: string;
  /** The object the URL writes, in the tenant bucket. */
  readonly key: string;
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A tenant's cluster that can take job requests: its namespace, bucket and HA ids. */
interface RunningCluster {
  readonly tenant: string;
  readonly namespace: string;
  readonly bucket: string;
  readonly haClusterIds: readonly string[];
  readonly savepointsDir: string;
  readonly flink: FlinkRest;
}

export class JobService {
  private readonly records: ClusterRecords;

  constructor(records: ClusterRecords) {
    this.records = records;
  }

  /** Streams a JAR of at most 500 MiB into the tenant bucket; the same bytes always get the same `jarId`. */
  async uploadJar(
    principal: Principal,
    tenant: string,
    name: unknown,
    body: AsyncIterable<Uint8Array>,
  ): Promise<JarView> {
    const { bucket, objects } = await this.bucketOf(principal, tenant);
    const fileName = checkJarName(name);
    const { buckets } = this.records.deps;
    // The bucket is made by the first deploy; a JAR uploaded before it makes it the same way.
    if (!(await buckets.bucketExists(bucket))) await buckets.ensureBucket(bucket, tenant);
    const incoming = `${INCOMING_PREFIX}${randomBytes(12).toString('hex')}`;
    const metered = meter(body, MAX_JAR_BYTES);
    try {
      await objects.put(bucket, incoming, metered.body, {});
      return await this.registerJar(bucket, incoming, fileName, metered.done().sha256);
    } finally {
      await objects.delete(bucket, incoming).catch(() => undefined);
    }
  }

  /**
   * A presigned PUT of a JAR straight into the tenant bucket's `jars/.incoming/`, for JARs larger than a request body
   * may be (API Gateway stops at 10 MB). The signature covers the bucket, the key, the length and the name, so the URL
   * writes one object of exactly `bytes` bytes in this tenant's bucket and nothing else. `completeJarUpload` registers it.
   */
  async createJarUpload(
    principal: Principal,
    tenant: string,
    request: { name: unknown; bytes: unknown },
  ): Promise<JarUploadView> {
    const { bucket } = await this.bucketOf(principal, tenant);
    const fileName = checkJarName(request.name);
    const { bytes } = request;
    if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1 || bytes > MAX_JAR_BYTES) {
      throw new FlinkplaneError('invalid_request', `bytes must be the JAR's size, 1 to ${MAX_JAR_BYTES}`, {
        field: 'bytes',
        value: bytes,
        limit: MAX_JAR_BYTES,
      });
    }
    const signer = this.records.deps.uploads;
    if (!signer) {
      throw new FlinkplaneError('dependency_unavailable', 'This control plane cannot sign uploads', {
        dependency: 'uploads',
      });
    }
    const { buckets } = this.records.deps;
    if (!(await buckets.bucketExists(bucket))) await buckets.ensureBucket(bucket, tenant);
    const uploadId = randomUUID();
    const key = `${INCOMING_PREFIX}${uploadId}`;
    const headers = { 'content-length': String(bytes), 'x-amz-meta-name': fileName };
    const signed = await signer.presignPut(bucket, key, headers, JAR_UPLOAD_URL_SECONDS);
    return { uploadId, url: signed.url, method: 'PUT', headers: signed.headers, expiresAt: signed.expiresAt, key };
  }

  /** Registers a JAR PUT through `createJarUpload`'s URL: hashes it for its id, and moves it to `jars/<jarId>.jar`. */
  async completeJarUpload(principal: Principal, tenant: string, uploadId: string): Promise<JarView> {
    const { bucket, objects } = await this.bucketOf(principal, tenant);
    const incoming = `${INCOMING_PREFIX}${uploadId}`;
    const found = UPLOAD_ID.test(uploadId) ? await objects.get(bucket, incoming) : undefined;
    if (!found) {
      throw new FlinkplaneError(
        'not_found',
        `There is no uploaded JAR ${uploadId.slice(0, 64)}: PUT it to the upload URL first (it works for ${JAR_UPLOAD_URL_SECONDS / 60} minutes)`,
        { uploadId: uploadId.slice(0, 64) },
      );
    }
    try {
      const fileName = checkJarName(found.object.metadata?.name);
      const metered = meter(found.body, MAX_JAR_BYTES);
      for await (const _ of metered.body) {
        // Only the digest is wanted: the bytes stay in the bucket.
      }
      return await this.registerJar(bucket, incoming, fileName, metered.done().sha256);
    } finally {
      await objects.delete(bucket, incoming).catch(() => undefined);
    }
  }

  /** Copies an uploaded object to its id, the first 16 hex digits of its digest; the caller removes the upload. */
  private async registerJar(bucket: string, incoming: string, fileName: string, sha256: string): Promise<JarView> {
    const objects = this.records.objects();
    const jarId = sha256.slice(0, 16);
    await objects.copy(bucket, incoming, jarKey(jarId), jarMetadata(fileName, sha256));
    const stored = await objects.head(bucket, jarKey(jarId));
    const view = stored && jarView(stored);
    if (!view) throw new FlinkplaneError('internal', `The JAR ${jarId} was not found right after it was stored`);
    return view;
  }

  async listJars(principal: Principal, tenant: string): Promise<JarView[]> {
    const { bucket, objects } = await this.bucketOf(principal, tenant);
    if (!(await this.records.deps.buckets.bucketExists(bucket))) return [];
    const listed = (await objects.list(bucket, JAR_PREFIX)).filter((object) => jarView(object) !== undefined);
    // A listing carries no metadata: the name and digest come from a head of each.
    const heads = await Promise.all(listed.map((object) => objects.head(bucket, object.key)));
    return heads
      .map((head) => head && jarView(head))
      .filter((view): view is JarView => view !== undefined)
      .sort((a, b) => b.uploadedAt.localeCompare(a.uploadedAt));
  }

  /** Deletes a JAR from the bucket; running jobs keep the copy their JobManager holds. */
  async deleteJar(principal: Principal, tenant: string, jarId: string): Promise<void> {
    const { bucket, objects } = await this.bucketOf(principal, tenant);
    if (!isJarId(jarId) || !(await objects.head(bucket, jarKey(jarId)))) throw jarNotFound(jarId);
    await objects.delete(bucket, jarKey(jarId));
  }

  /**
   * Runs a JAR of the tenant: makes sure its JobManager holds the JAR (uploaded from the bucket once per JobManager
   * session), resolves `restoreFrom: "latest"`, submits, and records how the job was submitted.
   */
  async runJob(principal: Principal, tenant: string, body: unknown): Promise<{ jobId: string }> {
    const cluster = await this.running(principal, tenant);
    const objects = this.records.objects();
    const validation = validateRunRequest(body, cluster.bucket);
    if (!validation.ok) {
      const summary = validation.issues.map((issue) => issue.message).join('; ');
      throw new FlinkplaneError('invalid_request', `The run request is invalid: ${summary}`, {
        issues: validation.issues,
      });
    }
    const request = validation.request;
    const jar = await objects.head(cluster.bucket, jarKey(request.jarId));
    const view = jar && jarView(jar);
    if (!view) throw jarNotFound(request.jarId);
    const restoreFrom =
      request.restoreFrom === 'latest' ? await this.latest(cluster, request.entryClass) : request.restoreFrom;
    const flinkJarId = await this.ensureJarOnJobManager(cluster, view);
    const jobId = await cluster.flink.runJar(cluster.namespace, flinkJarId, {
      programArgsList: request.args,
      allowNonRestoredState: request.allowNonRestoredState,
      ...(request.entryClass ? { entryClass: request.entryClass } : {}),
      ...(request.parallelism ? { parallelism: request.parallelism } : {}),
      ...(restoreFrom ? { savepointPath: restoreFrom } : {}),
    });
    const record: JobRunRecord = {
      jobId,
      jarId: view.jarId,
      jarName: view.name,
      args: request.args,
      allowNonRestoredState: request.allowNonRestoredState,
      submittedAt: this.records.now(),
      ...(request.entryClass ? { entryClass: request.entryClass } : {}),
      ...(request.parallelism ? { parallelism: request.parallelism } : {}),
      ...(restoreFrom ? { restoreFrom } : {}),
    };
    try {
      await objects.put(cluster.bucket, `${RUN_PREFIX}${jobId}.json`, once(JSON.stringify(record)), {});
    } catch (error) {
      // The job runs either way; without its record it is only missing from "latest" and the job view's `run`.
      this.records.deps.log?.('job run record not written', { tenant, jobId, error: String(error) });
    }
    return { jobId };
  }

  async listJobs(principal: Principal, tenant: string): Promise<JobSummary[]> {
    const cluster = await this.running(principal, tenant);
    return jobSummaries(await cluster.flink.jobsOverview(cluster.namespace));
  }

  async getJob(principal: Principal, tenant: string, jobId: string): Promise<JobView> {
    const cluster = await this.running(principal, tenant);
    const { flink, namespace } = cluster;
    const details = await onJob(jobId, () => flink.job(namespace, jobId));
    // A job without checkpointing answers 404 on its checkpoints; a job's extras are never worth failing its view.
    const optional = <T>(call: () => Promise<T>) => call().catch(() => undefined);
    const [checkpoints, exceptions, restarts, run] = await Promise.all([
      optional(() => flink.jobCheckpoints(namespace, jobId)),
      optional(() => flink.jobExceptions(namespace, jobId)),
      optional(() => flink.jobRestarts(namespace, jobId)),
      optional(() => this.runRecord(cluster.bucket, jobId)),
    ]);
    return jobView({
      details,
      ...(checkpoints ? { checkpoints } : {}),
      ...(exceptions ? { exceptions } : {}),
      ...(restarts === undefined ? {} : { restarts }),
      ...(run ? { run } : {}),
    });
  }

  /** Triggers a savepoint into the bucket's `savepoints/`; poll the answer's `operationId`. */
  async triggerSavepoint(principal: Principal, tenant: string, jobId: string): Promise<JobOperationView> {
    const cluster = await this.running(principal, tenant);
    const trigger = await onJob(jobId, () =>
      cluster.flink.triggerSavepoint(cluster.namespace, jobId, cluster.savepointsDir),
    );
    return { operationId: operationId('savepoint', jobId, trigger), kind: 'savepoint', jobId, status: 'IN_PROGRESS' };
  }

  /** Stops the job with a savepoint (`drain`: first emit every pending window and timer); poll the operation. */
  async stopJob(principal: Principal, tenant: string, jobId: string, options: { drain?: unknown } = {}) {
    if (options.drain !== undefined && typeof options.drain !== 'boolean') {
      throw new FlinkplaneError('invalid_request', 'drain must be true or false', {
        field: 'drain',
        value: options.drain,
      });
    }
    const cluster = await this.running(principal, tenant);
    const trigger = await onJob(jobId, () =>
      cluster.flink.stopWithSavepoint(cluster.namespace, jobId, cluster.savepointsDir, options.drain === true),
    );
    const view: JobOperationView = {
      operationId: operationId('stop', jobId, trigger),
      kind: 'stop',
      jobId,
      status: 'IN_PROGRESS',
    };
    return view;
  }

  /** Cancels the job without a savepoint; poll the operation until the job is CANCELED. */
  async cancelJob(principal: Principal, tenant: string, jobId: string): Promise<JobOperationView> {
    const cluster = await this.running(principal, tenant);
    await onJob(jobId, () => cluster.flink.cancelJob(cluster.namespace, jobId));
    return { operationId: operationId('cancel', jobId), kind: 'cancel', jobId, status: 'IN_PROGRESS' };
  }

  /**
   * A savepoint, stop or cancel as it stands. Flink keeps a trigger's result for `rest.async.store-duration` (5
   * minutes by default) after it ends; an older one answers `job_operation_not_found`.
   */
  async getJobOperation(principal: Principal, tenant: string, id: string): Promise<JobOperationView> {
    const cluster = await this.running(principal, tenant);
    const parsed = parseOperationId(id);
    if (!parsed) throw operationNotFound(id);
    const { kind, jobId, triggerId } = parsed;
    if (kind === 'cancel') {
      const details = await onJob(jobId, () => cluster.flink.job(cluster.namespace, jobId));
      return cancelOperation(id, jobId, String(details.state ?? ''));
    }
    try {
      const status = await cluster.flink.savepointStatus(cluster.namespace, jobId, triggerId!);
      return savepointOperation(id, kind, jobId, status);
    } catch (error) {
      if (isRejected(error, 404)) throw operationNotFound(id);
      throw error;
    }
  }

  private async ensureJarOnJobManager(cluster: RunningCluster, jar: JarView): Promise<string> {
    const fileName = flinkFileName(jar.jarId, jar.name);
    const held = await cluster.flink.listJars(cluster.namespace);
    const found = held.find((file) => file.name === fileName);
    if (found) return found.id;
    const object = await this.records.objects().get(cluster.bucket, jarKey(jar.jarId));
    if (!object) throw jarNotFound(jar.jarId);
    const uploaded = await cluster.flink.uploadJar(cluster.namespace, fileName, object.body, object.object.bytes);
    return uploaded.id;
  }

  /** The newest snapshot of the jobs run earlier with the same entry class. */
  private async latest(cluster: RunningCluster, entryClass: string | undefined): Promise<string> {
    const objects = this.records.objects();
    const runs = await objects.list(cluster.bucket, RUN_PREFIX);
    const records = await Promise.all(
      runs.map((run) => this.runRecord(cluster.bucket, run.key.slice(RUN_PREFIX.length, -'.json'.length))),
    );
    const jobIds = records
      .filter((record): record is JobRunRecord => record !== undefined && record.entryClass === entryClass)
      .map((record) => record.jobId);
    const listed = (
      await Promise.all(snapshotPrefixes(cluster.haClusterIds).map((prefix) => objects.list(cluster.bucket, prefix)))
    ).flat();
    const path = latestSnapshot(cluster.bucket, listed, jobIds);
    if (!path) {
      throw new FlinkplaneError(
        'invalid_request',
        `There is no savepoint or retained checkpoint of a job run with entry class ${entryClass ?? '(the default)'} to restore from`,
        { field: 'restoreFrom', value: 'latest', entryClass: entryClass ?? null },
      );
    }
    return path;
  }

  private async runRecord(bucket: string, jobId: string): Promise<JobRunRecord | undefined> {
    const found = await this.records.objects().get(bucket, `${RUN_PREFIX}${jobId}.json`);
    if (!found) return undefined;
    const chunks: Uint8Array[] = [];
    for await (const chunk of found.body) chunks.push(chunk);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as JobRunRecord;
  }

  private async bucketOf(principal: Principal, tenant: string) {
    authorizeTenant(principal, tenant);
    await this.records.requireTenant(tenant, principal);
    return { bucket: tenantNames(tenant, this.records.deps.platform).bucket, objects: this.records.objects() };
  }

  /** The tenant's cluster, when it is RUNNING; `cluster_not_running` (409) in any other state. */
  private async running(principal: Principal, tenant: string): Promise<RunningCluster> {
    authorizeTenant(principal, tenant);
    await this.records.requireTenant(tenant, principal);
    const { value } = await this.records.requireCluster(tenant);
    if (value.state !== 'RUNNING') {
      throw new FlinkplaneError(
        'cluster_not_running',
        `The cluster of ${tenant} is ${value.state}; jobs need it RUNNING`,
        { tenant, state: value.state },
      );
    }
    const flink = this.records.deps.flinkRest;
    if (!flink) {
      throw new FlinkplaneError('dependency_unavailable', 'This control plane has no route to JobManagers', {
        dependency: 'flink',
      });
    }
    const names = tenantNames(tenant, this.records.deps.platform);
    const current = haClusterId(tenant, value.haEpoch);
    return {
      tenant,
      namespace: names.namespace,
      bucket: names.bucket,
      haClusterIds: [current, ...value.previousHaClusterIds],
      savepointsDir: haLocations(names, current).savepointsDir,
      flink,
    };
  }
}

/** Runs a call about one job; an id that is not a Flink job id, or one Flink does not know, is `job_not_found`. */
async function onJob<T>(jobId: string, call: () => Promise<T>): Promise<T> {
  if (!isJobId(jobId)) throw jobNotFound(jobId);
  try {
    return await call();
  } catch (error) {
    if (isRejected(error, 404)) throw jobNotFound(jobId, error);
    throw error;
  }
}

function isRejected(error: unknown, status: number): boolean {
  return isFlinkplaneError(error) && error.code === 'flink_rejected' && error.details.status === status;
}

function jobNotFound(jobId: string, cause?: unknown): FlinkplaneError {
  return new FlinkplaneError(
    'job_not_found',
    `The cluster has no job ${jobId.slice(0, 64)}`,
    { jobId: jobId.slice(0, 64) },
    cause ? { cause } : undefined,
  );
}

function jarNotFound(jarId: string): FlinkplaneError {
  return new FlinkplaneError('jar_not_found', `There is no JAR ${jarId.slice(0, 64)}`, { jarId: jarId.slice(0, 64) });
}

function operationNotFound(id: string): FlinkplaneError {
  return new FlinkplaneError('job_operation_not_found', `There is no job operation ${id.slice(0, 140)}`, {
    operationId: id.slice(0, 140),
  });
}

async function* once(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text, 'utf8');
}
