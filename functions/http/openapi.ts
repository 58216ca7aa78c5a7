import * as z from 'zod';
import { HTTP_STATUS_BY_CODE } from './errors.ts';
import { ROUTES, type RouteDeclaration } from './routes.ts';
import {
  CatalogSchema,
  ClusterMergePatchSchema,
  ClusterSpecInputSchema,
  ClusterViewPageSchema,
  ClusterViewSchema,
  ErrorBodySchema,
  RegisterTenantSchema,
  TenantPageSchema,
} from './schemas.ts';

/** Schemas the document names under `components.schemas` and refers to by `$ref`. */
const COMPONENTS = new Map<z.ZodType, string>([
  [ClusterSpecInputSchema, 'ClusterSpec'],
  [ClusterMergePatchSchema, 'ClusterMergePatch'],
  [ClusterViewSchema, 'ClusterView'],
  [ClusterViewPageSchema, 'ClusterViewPage'],
  [TenantPageSchema, 'TenantPage'],
  [CatalogSchema, 'Catalog'],
  [RegisterTenantSchema, 'RegisterTenant'],
  [ErrorBodySchema, 'Error'],
]);

let cached: Record<string, unknown> | undefined;

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' };

/** Extra query parameters a route reads by hand rather than through a schema. */
const EXTRA_PARAMETERS: Record<string, readonly Record<string, unknown>[]> = {
  'GET /v1/tenants/{tenant}/flink-cluster': [
    {
      name: 'optional',
      in: 'query',
      required: false,
      schema: { const: 'true' },
      description: 'Answer 200 null instead of 404 cluster_not_found when the tenant has no cluster',
    },
  ],
  'GET /v1/auth/flink-ui': [{ name: 'tenant', in: 'query', required: true, schema: { type: 'string' } }],
};

/** The OpenAPI 3.1 document, generated from the route table and the same zod schemas the router parses with. */
export function buildOpenApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const json = (value: z.ZodType) => z.toJSONSchema(value, { io: 'input', unrepresentable: 'any' });
  const schema = (value: z.ZodType) => {
    const name = COMPONENTS.get(value);
    return name ? { $ref: `#/components/schemas/${name}` } : json(value);
  };
  const errors = Object.fromEntries(
    [...new Set(Object.values(HTTP_STATUS_BY_CODE))].map((status) => [
      String(status),
      {
        description: Object.entries(HTTP_STATUS_BY_CODE)
          .filter(([, value]) => value === status)
          .map(([code]) => code)
          .join(', '),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES as readonly RouteDeclaration[]) {
    paths[route.path] ??= {};
    const item = paths[route.path]!;
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (pathParams.length > 0) item.parameters = pathParams;
    item[route.method.toLowerCase()] = operation(route, schema, errors);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Flinkplane API',
      version: '1.0.0',
      description: 'Per-tenant highly available Flink session clusters',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries([...COMPONENTS].map(([value, name]) => [name, json(value)])),
    },
    security: [{ bearer: [] }],
    paths,
  };
  return cached;
}

function operation(
  route: RouteDeclaration,
  schema: (value: z.ZodType) => { [key: string]: unknown; properties?: Record<string, unknown> },
  errors: Record<string, unknown>,
): Record<string, unknown> {
  const { request } = route;
  const querySchema = request?.query ? schema(request.query) : undefined;
  const required = (querySchema?.required as string[] | undefined) ?? [];
  const query = Object.entries(querySchema?.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    schema: property,
  }));
  const ifMatch = request?.ifMatch
    ? [
        {
          name: 'If-Match',
          in: 'header',
          required: false,
          schema: { type: 'string' },
          description: 'The generation the write expects, as an entity tag ("3"); a stale one answers 412',
        },
      ]
    : [];
  const parameters = [...query, ...ifMatch, ...(EXTRA_PARAMETERS[`${route.method} ${route.path}`] ?? [])];
  const body = request?.body;
  const contentTypes = request?.contentTypes ?? ['application/json'];
  const success: Record<string, unknown> = { description: STATUS_TEXT[route.status] ?? 'OK' };
  if (route.response) success.content = { 'application/json': { schema: schema(route.response) } };
  if (route.etag) success.headers = { ETag: { description: 'The generation, "3"', schema: { type: 'string' } } };
  return {
    summary: route.summary,
    ...(route.access === 'public' ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: request?.bodyRequired ?? false,
            content: Object.fromEntries(contentTypes.map((type) => [type, { schema: schema(body) }])),
          },
        }
      : {}),
    responses: { [route.status]: success, ...(route.access === 'public' ? {} : errors) },
  };
}
