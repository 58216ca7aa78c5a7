/** The handlers of the job routes (`routes/jobs.ts`): each parses its request and calls the job service. */
import { FlinkplaneError } from '../core/errors.ts';
import { authorizeTenant } from '../core/principal.ts';
import type { HttpRequest } from './http-types.ts';
import { type Handler, invalidRequest, jsonBody, parseQuery } from './router.ts';
import { JAR_CONTENT_TYPES, type JobRouteKey } from './routes/jobs.ts';
import { JarUploadQuerySchema, JarUploadRequestSchema, StopJobSchema } from './schemas.ts';

const JOB = '/v1/tenants/{tenant}/flink-cluster/jobs/{jobId}';

// Every handler refuses another tenant before it reads the body, so the answer never depends on what was sent.
export const JOB_HANDLERS: Record<JobRouteKey, Handler> = {
  'POST /v1/tenants/{tenant}/flink-cluster/jars': async ({ plane, request, params, principal }) => {
    authorizeTenant(principal, params.tenant!);
    const query = parseQuery(JarUploadQuerySchema, request);
    requireContentType(request, JAR_CONTENT_TYPES);
    const name = query.name ?? dispositionFileName(request.headers['content-disposition']);
    const body = await plane.jobs.uploadJar(principal, params.tenant!, name, bodyBytes(request));
    return { status: 201, body };
  },
  'GET /v1/tenants/{tenant}/flink-cluster/jars': async ({ plane, params, principal }) => ({
    status: 200,
    body: { items: await plane.jobs.listJars(principal, params.tenant!) },
  }),
  'DELETE /v1/tenants/{tenant}/flink-cluster/jars/{jarId}': async ({ plane, params, principal }) => {
    await plane.jobs.deleteJar(principal, params.tenant!, params.jarId!);
    return { status: 204, body: undefined };
  },
  'POST /v1/tenants/{tenant}/flink-cluster/jar-uploads': async ({ plane, request, params, principal }) => {
    authorizeTenant(principal, params.tenant!);
    const parsed = JarUploadRequestSchema.safeParse(jsonBody(request, undefined));
    if (!parsed.success) throw invalidBody(parsed.error.issues);
    return { status: 201, body: await plane.jobs.createJarUpload(principal, params.tenant!, parsed.data) };
  },
  'POST /v1/tenants/{tenant}/flink-cluster/jar-uploads/{uploadId}/complete': async ({ plane, params, principal }) => ({
    status: 201,
    body: await plane.jobs.completeJarUpload(principal, params.tenant!, params.uploadId!),
  }),
  'POST /v1/tenants/{tenant}/flink-cluster/jobs': async ({ plane, request, params, principal }) => {
    authorizeTenant(principal, params.tenant!);
    // The job service checks the shape and the rules together, so a bad request hears every issue at once.
    return { status: 202, body: await plane.jobs.runJob(principal, params.tenant!, jsonBody(request, undefined)) };
  },
  'GET /v1/tenants/{tenant}/flink-cluster/jobs': async ({ plane, params, principal }) => ({
    status: 200,
    body: { items: await plane.jobs.listJobs(principal, params.tenant!) },
  }),
  [`GET ${JOB}`]: async ({ plane, params, principal }) => ({
    status: 200,
    body: await plane.jobs.getJob(principal, params.tenant!, params.jobId!),
  }),
  [`POST ${JOB}/savepoints`]: async ({ plane, params, principal }) => ({
    status: 202,
    body: await plane.jobs.triggerSavepoint(principal, params.tenant!, params.jobId!),
  }),
  [`POST ${JOB}/stop`]: async ({ plane, request, params, principal }) => {
    authorizeTenant(principal, params.tenant!);
    const parsed = StopJobSchema.safeParse(jsonBody(request, {}));
    if (!parsed.success) throw invalidBody(parsed.error.issues);
    const options = parsed.data.drain === undefined ? {} : { drain: parsed.data.drain };
    return { status: 202, body: await plane.jobs.stopJob(principal, params.tenant!, params.jobId!, options) };
  },
  [`POST ${JOB}/cancel`]: async ({ plane, params, principal }) => ({
    status: 202,
    body: await plane.jobs.cancelJob(principal, params.tenant!, params.jobId!),
  }),
  [`GET ${JOB}/operations/{operationId}`]: async ({ plane, params, principal }) => {
    const operation = await plane.jobs.getJobOperation(principal, params.tenant!, params.operationId!);
    // An operation id names its job: one asked under another job's path is not this job's operation.
    if (operation.jobId !== params.jobId) {
      throw new FlinkplaneError('job_operation_not_found', `Job ${params.jobId} has no operation of that id`, {
        operationId: params.operationId!.slice(0, 140),
      });
    }
    return { status: 200, body: operation };
  },
};

/** The body's bytes: streamed from the local server, or (API Gateway) the whole body already in hand. */
function bodyBytes(request: HttpRequest): AsyncIterable<Uint8Array> {
  if (request.headers['content-length'] === '0' || (!request.stream && !request.body)) {
    throw invalidRequest('body', 'the JAR file is required as the body');
  }
  if (request.stream) return request.stream;
  const body = Buffer.from(request.body ?? '', 'utf8');
  return (async function* () {
    yield body;
  })();
}

function requireContentType(request: HttpRequest, accepted: readonly string[]): void {
  const given = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (accepted.includes(given)) return;
  throw new FlinkplaneError('unsupported_media_type', `Send the JAR as ${accepted[0]}`, {
    contentType: given || null,
    expected: accepted,
  });
}

/** `attachment; filename="job.jar"` (or `filename*=UTF-8''job.jar`) → `job.jar`. */
export function dispositionFileName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header)?.[1];
  if (extended) {
    try {
      return decodeURIComponent(extended.trim());
    } catch {
      return undefined;
    }
  }
  return /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/
    .exec(header)
    ?.slice(1)
    .find((value) => value !== undefined);
}

function invalidBody(issues: readonly { path: PropertyKey[]; message: string }[]): FlinkplaneError {
  const listed = issues.map((issue) => ({ field: issue.path.map(String).join('.') || 'body', message: issue.message }));
  return new FlinkplaneError(
    'invalid_request',
    `Invalid body: ${listed.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}`,
    { issues: listed },
  );
}
