/** Every error code the control plane can answer with. The HTTP status of each lives in one table at the edge. */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_cluster_spec',
  'fixed_setting',
  'unauthenticated',
  'forbidden',
  'not_found',
  'tenant_not_found',
  'cluster_not_found',
  'tenant_exists',
  'bucket_name_taken',
  'conflict',
  'version_downgrade',
  'precondition_failed',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'dependency_unavailable',
  'internal',
  // Jobs (H2): the JobManager's answers and the tenant's JARs.
  'cluster_not_running',
  'job_not_found',
  'jar_not_found',
  'job_operation_not_found',
  'flink_rejected',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes of the single findings a validator reports; one request can carry many. */
export type IssueCode =
  | 'required'
  | 'invalid_type'
  | 'invalid_value'
  | 'unknown_field'
  | 'below_minimum'
  | 'above_maximum'
  | 'not_a_multiple'
  | 'unsupported_version'
  | 'unsupported_zone'
  | 'fixed_setting'
  | 'invalid_tenant_name'
  | 'reserved_tenant_name';

/** One finding: which field, what was given, and the rule it broke. */
export interface Issue {
  readonly code: IssueCode;
  /** Dotted path of the field, e.g. `taskManager.memoryMB` or `flinkConfiguration.rest.port`. */
  readonly path: string;
  readonly value: unknown;
  /** The rule in words, e.g. `minimum 1024` or `fixed to 8081`. */
  readonly rule: string;
  readonly message: string;
  /** The bound that was crossed, or the fixed value, when there is one. */
  readonly limit?: unknown;
}

export type ErrorDetails = Readonly<Record<string, unknown>>;

/** The one error type of the control plane: a code, a message a person can act on, and details. */
export class FlinkplaneError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FlinkplaneError';
    this.code = code;
    this.details = details;
  }
}

/** Builds the error for a list of validation issues: `fixed_setting` when every issue is one, else `invalid_cluster_spec`. */
export function specError(issues: readonly Issue[]): FlinkplaneError {
  const onlyFixed = issues.every((issue) => issue.code === 'fixed_setting');
  const code: ErrorCode = onlyFixed ? 'fixed_setting' : 'invalid_cluster_spec';
  const summary = issues.map((issue) => issue.message).join('; ');
  const lead = onlyFixed ? 'The request changes settings the platform fixes' : 'The cluster spec is invalid';
  return new FlinkplaneError(code, `${lead}: ${summary}`, { issues });
}

export function isFlinkplaneError(error: unknown): error is FlinkplaneError {
  return error instanceof FlinkplaneError;
}
