import type {
  Catalog,
  ClusterSpec,
  ClusterSpecInput,
  ClusterView,
  ErrorBody,
  FlinkUiSignIn,
  Health,
  Issue,
  LogPodList,
  Page,
  PurgeResult,
  RegisteredTenant,
  TenantSummary,
} from './api-types.ts';

/** `PATCH`'s body type (RFC 7396); the server's `MERGE_PATCH_CONTENT_TYPE`, which the console may not import as a value. */
const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';

/** An answer other than 2xx, with the API's error code and details; `network` when there was no answer at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The validation findings of `invalid_cluster_spec`, `fixed_setting` or `invalid_request`, if any. */
  get issues(): readonly Issue[] {
    const issues = this.details.issues;
    return Array.isArray(issues) ? issues.filter(isIssue) : [];
  }
}

function isIssue(value: unknown): value is Issue {
  return typeof value === 'object' && value !== null && typeof (value as Issue).message === 'string';
}

/** The typed client of the Flinkplane API; every console action is exactly one of these calls. */
export class ApiClient {
  private readonly token: string;

  constructor(token: string) {
    this.token = token;
  }

  catalog(): Promise<Catalog> {
    return this.request('GET', '/v1/flink-versions');
  }

  /** The cluster's view, or null when the tenant has none: a poll that finds no cluster logs no failed request. */
  cluster(tenant: string): Promise<ClusterView | null> {
    return this.request('GET', `${clusterPath(tenant)}?optional=true`);
  }

  /** Deploys or updates; a destroyed cluster's kept spec goes back as it is. */
  deploy(tenant: string, spec: ClusterSpecInput | ClusterSpec): Promise<ClusterView> {
    return this.request('PUT', clusterPath(tenant), spec);
  }

  /**
   * Changes only what the JSON merge patch names; `generation` is the one the user edited (`If-Match`), so a change
   * someone made since is not overwritten: 412 `precondition_failed`.
   */
  patch(tenant: string, patch: Readonly<Record<string, unknown>>, generation: number): Promise<ClusterView> {
    return this.request('PATCH', clusterPath(tenant), patch, {
      'content-type': MERGE_PATCH_CONTENT_TYPE,
      'if-match': `"${generation}"`,
    });
  }

  destroy(tenant: string): Promise<ClusterView> {
    return this.request('DELETE', clusterPath(tenant));
  }

  tenants(limit: number, cursor?: string): Promise<Page<TenantSummary>> {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    return this.request('GET', `/v1/tenants?${query}`);
  }

  registerTenant(name: string): Promise<RegisteredTenant> {
    return this.request('POST', '/v1/tenants', { name });
  }

  purgeTenant(tenant: string, confirm: string): Promise<PurgeResult> {
    const query = new URLSearchParams({ purge: 'true', confirm });
    return this.request('DELETE', `/v1/tenants/${encodeURIComponent(tenant)}?${query}`);
  }

  /**
   * A one-time link that signs the browser in at the tenant's Flink UI vhost (the local control plane's ingress). On
   * AWS the Ingress signs users in itself (OIDC) and the API has no such route: 404.
   */
  flinkUiSignIn(tenant: string, returnTo?: string): Promise<FlinkUiSignIn> {
    const query = new URLSearchParams({ tenant, ...(returnTo ? { return: returnTo } : {}) });
    return this.request('POST', `/v1/auth/flink-ui/sign-in?${query}`);
  }

  /** The pods whose logs the tenant may read: its JobManager, TaskManagers and proxy. */
  logPods(tenant: string): Promise<LogPodList> {
    return this.request('GET', `${clusterPath(tenant)}/pods`);
  }

  /** A container's log, its last 1,000 lines then new ones as they come, until `signal` aborts. */
  async followLog(tenant: string, pod: string, container: string, signal: AbortSignal) {
    const query = new URLSearchParams({ pod, container, tailLines: '1000', follow: 'true' });
    const response = await fetch(`${apiBase}${clusterPath(tenant)}/logs?${query}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal,
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!response.ok) {
      const { error } = (await response.json()) as ErrorBody;
      throw new ApiError(response.status, error.code, error.message);
    }
    return response.body!;
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, extraHeaders);
    return send<T>(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  }
}

/** `GET /healthz`, public. */
export function fetchHealth(): Promise<Health> {
  return send<Health>('/healthz', { method: 'GET', headers: { accept: 'application/json' } });
}

function clusterPath(tenant: string): string {
  return `/v1/tenants/${encodeURIComponent(tenant)}/flink-cluster`;
}

/** Where the API lives: the page's own origin locally; on AWS, `apiUrl` from the `/config.json` deployed beside it. */
let apiBase = '';

/** Reads `/config.json` when the hosting wrote one; without it (the local server) the API is on the same origin. */
export async function loadRuntimeConfig(): Promise<void> {
  try {
    const response = await fetch('/config.json', { cache: 'no-store', credentials: 'omit' });
    if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json')) return;
    const config = (await response.json()) as { apiUrl?: unknown };
    if (typeof config.apiUrl === 'string' && /^https:\/\//.test(config.apiUrl))
      apiBase = config.apiUrl.replace(/\/+$/, '');
  } catch {
    // No readable config: stay on the page's own origin.
  }
}

async function send<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${apiBase}${path}`, { ...init, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'network', 'The control plane did not answer; check your connection');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.ok) return parsed as T;
  const error = (parsed as Partial<ErrorBody> | undefined)?.error;
  if (error && typeof error.code === 'string') {
    throw new ApiError(response.status, error.code, error.message, error.details ?? {});
  }
  throw new ApiError(
    response.status,
    'http_error',
    `The control plane answered ${response.status} ${response.statusText}`,
  );
}
