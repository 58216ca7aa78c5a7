import type { ResourceDef } from './resources.ts';

/** One reason a request failed, as in `Status.details.causes`. */
export type StatusCause = { reason?: string; message?: string; field?: string };

export type StatusDetails = {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
};

/** The `v1.Status` body the Kubernetes API server answers errors (and some deletes) with. */
export type KubeStatus = {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
};

/** A request that the stand-in answers with a `Status` body and the HTTP code inside it. */
export class KubeStatusError extends Error {
  constructor(
    readonly status: KubeStatus,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'KubeStatusError';
  }
}

/** One field-level validation error, rendered the way apimachinery's `field.Error` prints. */
export type FieldError = {
  type:
    | 'FieldValueInvalid'
    | 'FieldValueRequired'
    | 'FieldValueForbidden'
    | 'FieldValueDuplicate'
    | 'FieldValueTooLong'
    | 'FieldValueNotSupported';
  field: string;
  value?: unknown;
  detail?: string;
};

function failure(code: number, reason: string, message: string, details?: StatusDetails): KubeStatusError {
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) status.details = details;
  return new KubeStatusError(status);
}

/** `deployments.apps` or `pods`: how the API server names a resource in messages. */
function qualifiedResource(def: Pick<ResourceDef, 'group' | 'resource'>): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

/** `Deployment.apps` or `Pod`: how the API server names a kind in Invalid messages. */
function qualifiedKind(def: Pick<ResourceDef, 'group' | 'kind'>): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind;
}

function resourceDetails(def: Pick<ResourceDef, 'group' | 'resource'>, name: string): StatusDetails {
  return def.group ? { name, group: def.group, kind: def.resource } : { name, kind: def.resource };
}

export function notFound(def: Pick<ResourceDef, 'group' | 'resource'>, name: string): KubeStatusError {
  return failure(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, resourceDetails(def, name));
}

export function alreadyExists(def: ResourceDef, name: string, beingDeleted = false): KubeStatusError {
  const prefix = beingDeleted ? 'object is being deleted: ' : '';
  return failure(
    409,
    'AlreadyExists',
    `${prefix}${qualifiedResource(def)} "${name}" already exists`,
    resourceDetails(def, name),
  );
}

/** The optimistic-concurrency failure for a stale `metadata.resourceVersion` or a failed precondition. */
export function conflict(def: ResourceDef, name: string, why = MODIFIED): KubeStatusError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`,
    resourceDetails(def, name),
  );
}

const MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

/** A server-side apply conflict; `causes` carry one `FieldManagerConflict` per field. */
export function applyConflict(message: string, causes: StatusCause[]): KubeStatusError {
  return failure(409, 'Conflict', message, { causes });
}

export function forbidden(
  def: Pick<ResourceDef, 'group' | 'resource'>,
  name: string,
  why: string,
  causes?: StatusCause[],
): KubeStatusError {
  const details = resourceDetails(def, name);
  if (causes) details.causes = causes;
  return failure(403, 'Forbidden', `${qualifiedResource(def)} "${name}" is forbidden: ${why}`, details);
}

export function badRequest(message: string): KubeStatusError {
  return failure(400, 'BadRequest', message);
}

export function methodNotAllowed(): KubeStatusError {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function pathNotFound(): KubeStatusError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function unsupportedMediaType(contentType: string, accepted: string[]): KubeStatusError {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function unauthorized(): KubeStatusError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function gone(message: string): KubeStatusError {
  return failure(410, 'Expired', message);
}

export function requestTooLarge(): KubeStatusError {
  return failure(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
}

/** 422 Invalid for one object, with the message apimachinery builds from its field errors. */
export function invalid(kind: { group: string; kind: string }, name: string, errors: FieldError[]): KubeStatusError {
  const rendered = errors.map(renderFieldError);
  const list = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  const details: StatusDetails = {
    name,
    kind: kind.kind,
    causes: errors.map((e, i) => ({
      reason: e.type,
      message: rendered[i]!.slice(e.field.length + 2),
      field: e.field,
    })),
  };
  if (kind.group) details.group = kind.group;
  return failure(422, 'Invalid', `${qualifiedKind(kind)} "${name}" is invalid: ${list}`, details);
}

function renderFieldError(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueInvalid':
      return `${e.field}: Invalid value: ${goValue(e.value)}: ${e.detail}`;
    case 'FieldValueRequired':
      return `${e.field}: Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueForbidden':
      return `${e.field}: Forbidden: ${e.detail}`;
    case 'FieldValueDuplicate':
      return `${e.field}: Duplicate value: ${goValue(e.value)}`;
    case 'FieldValueTooLong':
      return `${e.field}: Too long: ${e.detail}`;
    case 'FieldValueNotSupported':
      return `${e.field}: Unsupported value: ${goValue(e.value)}: ${e.detail}`;
  }
}

function goValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null);
}

/** The fault statuses the stand-in can inject, with the reason and message the real server uses for each. */
export function injectedFailure(code: number): KubeStatusError {
  const known: Record<number, [string, string]> = {
    429: ['TooManyRequests', 'Too many requests, please try again later. (injected by the kube stand-in)'],
    500: ['InternalError', 'Internal error occurred: injected by the kube stand-in'],
    502: ['InternalError', 'Bad gateway (injected by the kube stand-in)'],
    503: ['ServiceUnavailable', 'The server is currently unable to handle the request (injected by the kube stand-in)'],
    504: [
      'Timeout',
      'The server was unable to return a response in the time allotted, but may still be processing the request (injected by the kube stand-in)',
    ],
  };
  const [reason, message] = known[code] ?? ['InternalError', `HTTP ${code} injected by the kube stand-in`];
  const error = failure(code, reason, message, code === 429 ? { retryAfterSeconds: 1 } : undefined);
  if (code === 429) error.headers['Retry-After'] = '1';
  return error;
}

/** 503 ServiceUnavailable, as the service proxy answers when it cannot reach a Pod. */
export function serviceUnavailable(message: string): KubeStatusError {
  return failure(503, 'ServiceUnavailable', message);
}
