/** The routes of the tenant's JARs and jobs (H2), declared like every other route; `routes.ts` spreads them in. */
import type { RouteDeclaration } from '../routes.ts';
import {
  JarListSchema,
  JarSchema,
  JarUploadBodySchema,
  JarUploadQuerySchema,
  JarUploadRequestSchema,
  JarUploadSchema,
  JobListSchema,
  JobOperationSchema,
  JobSubmittedSchema,
  JobViewSchema,
  RunJobInputSchema,
  StopJobSchema,
} from '../schemas.ts';

const CLUSTER = '/v1/tenants/{tenant}/flink-cluster';
const JOB = `${CLUSTER}/jobs/{jobId}`;

/** Content types a JAR body may come as; curl's `--data-binary` needs one named. */
export const JAR_CONTENT_TYPES = ['application/java-archive', 'application/octet-stream', 'application/x-java-archive'];

export const JOB_ROUTES = [
  {
    method: 'POST',
    path: `${CLUSTER}/jars`,
    access: 'tenant',
    summary: "Upload a JAR (at most 500 MiB) into the tenant's bucket; the same bytes always get the same jarId",
    status: 201,
    request: {
      body: JarUploadBodySchema,
      contentTypes: JAR_CONTENT_TYPES,
      bodyRequired: true,
      query: JarUploadQuerySchema,
      stream: true,
    },
    response: JarSchema,
    usage: `POST ${CLUSTER}/jars?name=<file>.jar\` \`application/java-archive`,
    readme:
      '201 + JAR `{jarId,name,bytes,sha256,uploadedAt}`; the body streams to the bucket (up to 500 MiB; the 1 MiB JSON limit does not apply); the name from `?name=` or `Content-Disposition`. JARs survive destroy and redeploy',
  },
  {
    method: 'GET',
    path: `${CLUSTER}/jars`,
    access: 'tenant',
    summary: "The tenant's JARs, newest first",
    status: 200,
    response: JarListSchema,
    readme: '200 `{"items":[JAR…]}`, newest first',
  },
  {
    method: 'DELETE',
    path: `${CLUSTER}/jars/{jarId}`,
    access: 'tenant',
    summary: 'Delete a JAR; running jobs keep the copy their JobManager holds',
    status: 204,
    readme: '204, or 404 `jar_not_found`',
  },
  {
    method: 'POST',
    path: `${CLUSTER}/jar-uploads`,
    access: 'tenant',
    summary:
      "A presigned PUT straight into the tenant bucket's jars/.incoming/ (API Gateway caps request bodies at 10 MB)",
    status: 201,
    request: { body: JarUploadRequestSchema, bodyRequired: true },
    response: JarUploadSchema,
    usage: `POST ${CLUSTER}/jar-uploads\` \`{"name","bytes"}`,
    readme:
      '201 `{uploadId,url,method:"PUT",headers,expiresAt,key}`: PUT the file to `url` with `headers` (signed: this bucket, this key, this length) within 15 minutes, then complete it',
  },
  {
    method: 'POST',
    path: `${CLUSTER}/jar-uploads/{uploadId}/complete`,
    access: 'tenant',
    summary: 'Register a JAR PUT through a presigned upload URL',
    status: 201,
    response: JarSchema,
    readme: '201 + JAR; 404 `not_found` before the PUT, or once completed',
  },
  {
    method: 'POST',
    path: `${CLUSTER}/jobs`,
    access: 'tenant',
    summary: 'Run a JAR of the tenant as a job, optionally from a savepoint or retained checkpoint',
    status: 202,
    request: { body: RunJobInputSchema, bodyRequired: true },
    response: JobSubmittedSchema,
    usage: `POST ${CLUSTER}/jobs\` \`{"jarId","entryClass","args","parallelism","restoreFrom","allowNonRestoredState"}`,
    readme:
      '202 `{"jobId"}`; `restoreFrom` a snapshot path in the bucket or `"latest"`; 409 `cluster_not_running` unless RUNNING',
  },
  {
    method: 'GET',
    path: `${CLUSTER}/jobs`,
    access: 'tenant',
    summary: "The cluster's jobs, newest first",
    status: 200,
    response: JobListSchema,
    readme: '200 `{"items":[{jobId,name,state,startTime,durationMs}…]}`',
  },
  {
    method: 'GET',
    path: JOB,
    access: 'tenant',
    summary: 'A job: state, times, restarts, last checkpoint, what it was restored from, latest exceptions',
    status: 200,
    response: JobViewSchema,
    readme: '200 + job view, or 404 `job_not_found`',
  },
  {
    method: 'POST',
    path: `${JOB}/savepoints`,
    access: 'tenant',
    summary: "Trigger a savepoint into the tenant bucket's savepoints/; poll the operation",
    status: 202,
    response: JobOperationSchema,
    readme: '202 + operation `{operationId,kind,jobId,status}`',
  },
  {
    method: 'POST',
    path: `${JOB}/stop`,
    access: 'tenant',
    summary: 'Stop the job with a savepoint (drain: first emit every pending window and timer); poll the operation',
    status: 202,
    request: { body: StopJobSchema },
    response: JobOperationSchema,
    usage: `POST ${JOB}/stop\` \`{"drain"}`,
    readme: '202 + operation; the savepoint path once SUCCEEDED',
  },
  {
    method: 'POST',
    path: `${JOB}/cancel`,
    access: 'tenant',
    summary: 'Cancel the job without a savepoint; poll the operation',
    status: 202,
    response: JobOperationSchema,
    readme: '202 + operation',
  },
  {
    method: 'GET',
    path: `${JOB}/operations/{operationId}`,
    access: 'tenant',
    summary: 'A savepoint, stop or cancel as it stands',
    status: 200,
    response: JobOperationSchema,
    readme:
      "200 + operation: `IN_PROGRESS`, `SUCCEEDED` (with `savepointPath`) or `FAILED` (with Flink's reason); 404 `job_operation_not_found`",
  },
] as const satisfies readonly RouteDeclaration[];

/** `METHOD /path` of the job routes; `job-handlers.ts` binds one handler to each. */
export type JobRouteKey = (typeof JOB_ROUTES)[number] extends infer Row
  ? Row extends { method: infer M extends string; path: infer P extends string }
    ? `${M} ${P}`
    : never
  : never;
