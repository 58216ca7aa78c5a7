import * as z from 'zod';
import { HTTP_STATUS_BY_CODE } from './errors.ts';
import {
  ClusterSpecInputSchema,
  ClusterViewSchema,
  ErrorBodySchema,
  ListQuerySchema,
  RegisterTenantSchema,
} from './schemas.ts';

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document, generated from the same zod schemas the router parses with. */
export function buildOpenApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const schema = (value: z.ZodType) => z.toJSONSchema(value, { io: 'input', unrepresentable: 'any' });
  const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
  const errors = Object.fromEntries(
    [...new Set(Object.values(HTTP_STATUS_BY_CODE))].map((status) => [
      String(status),
      {
        description: Object.entries(HTTP_STATUS_BY_CODE)
          .filter(([, value]) => value === status)
          .map(([code]) => code)
          .join(', '),
        content: json('Error'),
      },
    ]),
  );
  const tenantParam = { name: 'tenant', in: 'path', required: true, schema: { type: 'string' } };
  const listParams = Object.entries(schema(ListQuerySchema).properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: false,
    schema: property,
  }));
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Flinkplane API',
      version: '1.0.0',
      description: 'Per-tenant highly available Flink session clusters',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ClusterSpec: schema(ClusterSpecInputSchema),
        ClusterView: schema(ClusterViewSchema),
        RegisterTenant: schema(RegisterTenantSchema),
        Error: schema(ErrorBodySchema),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { summary: 'Health', security: [], responses: { 200: { description: 'Healthy' } } } },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI' } } },
      },
      '/v1/flink-versions': {
        get: {
          summary: 'The Flink version catalog with defaults, minimums and fixed settings',
          responses: { 200: { description: 'Catalog' }, ...errors },
        },
      },
      '/v1/tenants/{tenant}/flink-cluster': {
        parameters: [tenantParam],
        put: {
          summary: "Deploy or update the tenant's Flink cluster",
          requestBody: { required: false, content: json('ClusterSpec') },
          responses: { 202: { description: 'Accepted', content: json('ClusterView') }, ...errors },
        },
        get: {
          summary: "The cluster's view",
          parameters: [
            {
              name: 'optional',
              in: 'query',
              required: false,
              schema: { const: 'true' },
              description: 'Answer 200 null instead of 404 cluster_not_found when the tenant has no cluster',
            },
          ],
          responses: {
            200: { description: 'OK (null: no cluster, with optional=true)', content: json('ClusterView') },
            ...errors,
          },
        },
        delete: {
          summary: 'Destroy the cluster; the bucket, ZooKeeper namespace and volume are kept',
          responses: { 202: { description: 'Accepted', content: json('ClusterView') }, ...errors },
        },
      },
      '/v1/flink-clusters': {
        get: {
          summary: 'Every cluster (operator)',
          parameters: listParams,
          responses: { 200: { description: 'A page' }, ...errors },
        },
      },
      '/v1/tenants': {
        get: {
          summary: 'Every tenant with its cluster state (operator)',
          parameters: listParams,
          responses: { 200: { description: 'A page' }, ...errors },
        },
        post: {
          summary: 'Register a tenant (operator); answers its API token once',
          requestBody: { required: true, content: json('RegisterTenant') },
          responses: { 201: { description: 'Registered' }, ...errors },
        },
      },
      '/v1/tenants/{tenant}': {
        parameters: [tenantParam],
        delete: {
          summary: "Purge a destroyed tenant's retained state and the tenant (operator)",
          parameters: [
            { name: 'purge', in: 'query', required: true, schema: { const: 'true' } },
            {
              name: 'confirm',
              in: 'query',
              required: true,
              schema: { type: 'string' },
              description: 'The tenant name',
            },
          ],
          responses: { 200: { description: 'Purged' }, ...errors },
        },
      },
      '/v1/auth/flink-ui': {
        get: {
          summary: "ingress-nginx auth-url: may the caller open this tenant's Flink UI?",
          parameters: [{ name: 'tenant', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { 204: { description: 'Allowed' }, ...errors },
        },
      },
    },
  };
  return cached;
}
