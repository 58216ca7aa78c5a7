import { type ErrorCode, FlinkplaneError, isFlinkplaneError } from '../core/errors.ts';
import type { HttpResponse } from './http-types.ts';

/** The one table from error code to HTTP status; `satisfies` makes the compiler check it covers every code. */
export const HTTP_STATUS_BY_CODE = {
  invalid_request: 400,
  invalid_cluster_spec: 400,
  fixed_setting: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  tenant_not_found: 404,
  cluster_not_found: 404,
  method_not_allowed: 405,
  tenant_exists: 409,
  bucket_name_taken: 409,
  conflict: 409,
  version_downgrade: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  dependency_unavailable: 503,
  // Jobs (H2).
  cluster_not_running: 409,
  job_not_found: 404,
  jar_not_found: 404,
  job_operation_not_found: 404,
  flink_rejected: 422,
} as const satisfies Record<ErrorCode, number>;

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}

/** Logs what it must about an unexpected error; never given secrets, since errors carry none. */
export type ErrorLogger = (message: string, context: Record<string, unknown>) => void;

/** What every `internal` error answers: its own text may quote a dependency (a host, a bucket, a server's words). */
export const INTERNAL_ERROR_MESSAGE = 'The control plane failed unexpectedly; the error was logged';

/**
 * Turns any error into the documented body. Unknown errors and `internal` ones are logged with their text and
 * answered with a generic message and no details beyond the request id, so no dependency's words reach a caller.
 */
export function errorResponse(error: unknown, log: ErrorLogger, requestId?: string): HttpResponse {
  const internal = !isFlinkplaneError(error) || error.code === 'internal';
  const known = internal
    ? new FlinkplaneError('internal', INTERNAL_ERROR_MESSAGE, requestId ? { requestId } : {})
    : error;
  if (internal || known.code === 'dependency_unavailable') {
    log('request failed', {
      code: known.code,
      requestId,
      ...(isFlinkplaneError(error) && Object.keys(error.details).length > 0 ? { details: error.details } : {}),
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    });
  }
  const body: ErrorBody = { error: { code: known.code, message: known.message, details: known.details } };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (known.code === 'unauthenticated') headers['www-authenticate'] = 'Bearer realm="flinkplane"';
  if (known.code === 'method_not_allowed' && Array.isArray(known.details.allow)) {
    headers.allow = (known.details.allow as string[]).join(', ');
  }
  return { status: HTTP_STATUS_BY_CODE[known.code], headers, body: JSON.stringify(body) };
}
