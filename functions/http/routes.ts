/**
 * Every route of the API, declared once: method, path, who may call it, the request and response schemas, a summary
 * and the success status. The router binds a handler to each (the compiler checks none is missing), `/openapi.json`
 * is generated from it, the CDK adds one API Gateway route per row, the cross-tenant suite walks it, and the README's
 * route table is generated from it (`routeTableMarkdown`, kept in step by `test/core/readme.test.ts`).
 */
import type * as z from 'zod';
import { JOB_ROUTES } from './routes/jobs.ts';
import { LOG_ROUTES } from './routes/logs.ts';
import { SAVEPOINT_ROUTES } from './routes/savepoints.ts';
import {
  CatalogSchema,
  ClusterMergePatchSchema,
  ClusterSpecInputSchema,
  ClusterViewPageSchema,
  ClusterViewSchema,
  HealthSchema,
  ListQuerySchema,
  PurgeQuerySchema,
  PurgeResultSchema,
  RegisteredTenantSchema,
  RegisterTenantSchema,
  TenantPageSchema,
} from './schemas.ts';

/**
 * Who may call a route: anyone; any authenticated principal; the tenant the request names (in its path, or in its
 * `tenant` query parameter) or an operator; an operator only.
 */
export type Access = 'public' | 'any principal' | 'tenant' | 'operator';

export type HttpMethod = 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';

/** One route's declaration; `readme` is its "answers" cell in the README, `usage` how the README writes its path. */
export interface RouteDeclaration {
  readonly method: HttpMethod;
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly status: number;
  readonly request?: {
    readonly body?: z.ZodType;
    /** Content types the body may come as; the first is the one documented. @default ['application/json'] */
    readonly contentTypes?: readonly string[];
    readonly bodyRequired?: boolean;
    readonly query?: z.ZodObject;
    /** Whether `If-Match: "<generation>"` is honoured (a stale generation answers 412 `precondition_failed`). */
    readonly ifMatch?: boolean;
    /**
     * The body is bytes (a JAR), handed to the handler as a stream: never buffered, and the 1 MiB limit of JSON
     * bodies does not apply (the handler sets its own).
     */
    readonly stream?: boolean;
  };
  readonly response?: z.ZodType;
  /** The response carries `ETag: "<generation>"`. */
  readonly etag?: boolean;
  readonly usage?: string;
  readonly readme: string;
}

export const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';

const CLUSTER = '/v1/tenants/{tenant}/flink-cluster';

export const ROUTES = [
  {
    method: 'GET',
    path: '/healthz',
    access: 'public',
    summary: 'Health',
    status: 200,
    response: HealthSchema,
    readme: '200, and locally what each part runs on',
  },
  {
    method: 'GET',
    path: '/openapi.json',
    access: 'public',
    summary: 'This document',
    status: 200,
    readme: 'the OpenAPI 3.1 document',
  },
  {
    method: 'GET',
    path: '/v1/flink-versions',
    access: 'any principal',
    summary: 'The Flink version catalog with defaults, minimums and fixed settings',
    status: 200,
    response: CatalogSchema,
    readme: 'the catalog, defaults, minimums, quota, fixed settings',
  },
  {
    method: 'PUT',
    path: CLUSTER,
    access: 'tenant',
    summary:
      "Deploy the tenant's Flink cluster, or replace its whole spec: a field the body leaves out gets its default",
    status: 202,
    request: { body: ClusterSpecInputSchema, ifMatch: true },
    response: ClusterViewSchema,
    etag: true,
    readme:
      '202 + cluster view (deploy, or a full replacement: an unnamed field gets its default); `If-Match` honoured',
  },
  {
    method: 'PATCH',
    path: CLUSTER,
    access: 'tenant',
    summary: "Change only the fields the JSON merge patch (RFC 7396) names in the existing cluster's spec",
    status: 202,
    request: {
      body: ClusterMergePatchSchema,
      contentTypes: [MERGE_PATCH_CONTENT_TYPE],
      bodyRequired: true,
      ifMatch: true,
    },
    response: ClusterViewSchema,
    etag: true,
    usage: `PATCH ${CLUSTER}\` \`${MERGE_PATCH_CONTENT_TYPE}`,
    readme:
      '202 + view; changes only what the merge patch names (`null` resets a field to its default); 404 with no cluster, 415 with another content type; `If-Match` honoured',
  },
  {
    method: 'GET',
    path: CLUSTER,
    access: 'tenant',
    summary: "The cluster's view",
    status: 200,
    response: ClusterViewSchema,
    etag: true,
    readme:
      '200 + view with `ETag: "<generation>"`, or 404 `cluster_not_found`; with `?optional=true` 200 `null` instead (the console polls so, and the browser logs no failed request)',
  },
  {
    method: 'DELETE',
    path: CLUSTER,
    access: 'tenant',
    summary: 'Destroy the cluster; the bucket, ZooKeeper namespace and volume are kept',
    status: 202,
    request: { ifMatch: true },
    response: ClusterViewSchema,
    etag: true,
    readme: '202 + view (destroy; bucket, ZooKeeper namespace and volume kept); `If-Match` honoured',
  },
  {
    method: 'GET',
    path: '/v1/flink-clusters',
    access: 'operator',
    summary: 'Every cluster (operator)',
    status: 200,
    request: { query: ListQuerySchema },
    response: ClusterViewPageSchema,
    usage: 'GET /v1/flink-clusters?limit=&cursor=',
    readme: 'a page of views',
  },
  {
    method: 'GET',
    path: '/v1/tenants',
    access: 'operator',
    summary: 'Every tenant with its cluster state (operator)',
    status: 200,
    request: { query: ListQuerySchema },
    response: TenantPageSchema,
    usage: 'GET /v1/tenants?limit=&cursor=',
    readme: 'a page of tenants with their cluster state',
  },
  {
    method: 'POST',
    path: '/v1/tenants',
    access: 'operator',
    summary: 'Register a tenant (operator); answers its API token once',
    status: 201,
    request: { body: RegisterTenantSchema, bodyRequired: true },
    response: RegisteredTenantSchema,
    usage: 'POST /v1/tenants` `{"name"}',
    readme: '201 `{"name","token"}`',
  },
  {
    method: 'DELETE',
    path: '/v1/tenants/{tenant}',
    access: 'operator',
    summary: "Purge a destroyed tenant's retained state and the tenant (operator)",
    status: 200,
    request: { query: PurgeQuerySchema },
    response: PurgeResultSchema,
    usage: 'DELETE /v1/tenants/{tenant}?purge=true&confirm=<tenant>',
    readme: '200; deletes every retained resource of a destroyed tenant',
  },
  {
    method: 'GET',
    path: '/v1/auth/flink-ui',
    access: 'tenant',
    summary: "ingress-nginx auth-url: may the caller open this tenant's Flink UI?",
    status: 204,
    usage: 'GET /v1/auth/flink-ui?tenant=<tenant>',
    readme: "204 / 401 / 403: ingress-nginx's `auth-url` for the Flink UI",
  },
  ...JOB_ROUTES,
  ...SAVEPOINT_ROUTES,
  ...LOG_ROUTES,
] as const satisfies readonly RouteDeclaration[];

/** `METHOD /path` of every declared route; the router's handler table is keyed by it. */
export type RouteKey = KeyOf<(typeof ROUTES)[number]>;
/** `METHOD /path` of the routes anyone may call, without a principal. */
export type PublicRouteKey = KeyOf<Extract<(typeof ROUTES)[number], { access: 'public' }>>;
type KeyOf<Row> = Row extends { method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never;

export function routeKey(route: Pick<RouteDeclaration, 'method' | 'path'>): RouteKey {
  return `${route.method} ${route.path}` as RouteKey;
}

const WHO: Record<Access, string> = {
  public: 'anyone',
  'any principal': 'any principal',
  tenant: 'the tenant, operator',
  operator: 'operator',
};

/** The README's route table, generated from the declarations. */
export function routeTableMarkdown(routes: readonly RouteDeclaration[] = ROUTES): string {
  const rows = routes.map(
    (route) => `| \`${route.usage ?? `${route.method} ${route.path}`}\` | ${WHO[route.access]} | ${route.readme} |`,
  );
  return ['| method and path | who | answers |', '|---|---|---|', ...rows].join('\n');
}

export type { RetentionViewResponse, SnapshotListResponse, SnapshotViewResponse } from './routes/savepoints.ts';
/** Types of the API's answers, inferred from the schemas above, for the console and the CLI. */
export type {
  CatalogResponse,
  ClusterViewPage,
  ErrorBodyResponse,
  HealthResponse,
  JarListResponse,
  JarResponse,
  JarUploadResponse,
  JobListResponse,
  JobOperationResponse,
  JobSubmittedResponse,
  JobSummaryResponse,
  JobViewResponse,
  PurgeResultResponse,
  RegisteredTenantResponse,
  TenantPage,
  TenantSummaryResponse,
} from './schemas.ts';
