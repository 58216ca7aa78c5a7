import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, type RequestOptions, startLocalApi } from '../support/local-api.ts';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly as: 'operator' | 'acme' | 'beta' | 'nobody' | 'forged';
  readonly options?: RequestOptions;
  readonly status: number;
  readonly code: string;
}

describe('API errors (Kubernetes stand-in)', () => {
  let api: LocalApi;
  const tokens: Record<string, string | null> = {};

  beforeAll(async () => {
    api = await startLocalApi();
    tokens.operator = api.adminToken;
    tokens.acme = await api.registerTenant('acme');
    tokens.beta = await api.registerTenant('beta');
    tokens.nobody = null;
    tokens.forged = `fpt_acme_${'A'.repeat(43)}`;
    expect((await api.request('PUT', '/v1/tenants/acme/flink-cluster', { token: tokens.acme, body: {} })).status).toBe(
      202,
    );
  });
  afterAll(async () => api?.stop());

  const cases: Case[] = [
    {
      name: 'a body that is not JSON',
      method: 'PUT',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      options: { rawBody: '{"taskManager":', headers: { 'content-type': 'application/json' } },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'a tenant registration without a name',
      method: 'POST',
      path: '/v1/tenants',
      as: 'operator',
      options: { body: {} },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'an invalid tenant name',
      method: 'POST',
      path: '/v1/tenants',
      as: 'operator',
      options: { body: { name: 'Bad_Name' } },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'a page size of 0',
      method: 'GET',
      path: '/v1/flink-clusters?limit=0',
      as: 'operator',
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'a garbage cursor',
      method: 'GET',
      path: '/v1/flink-clusters?cursor=%%%garbage',
      as: 'operator',
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'a TaskManager memory under the minimum',
      method: 'PUT',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      options: { body: { taskManager: { memoryMB: 512 } } },
      status: 400,
      code: 'invalid_cluster_spec',
    },
    {
      name: 'a fixed setting',
      method: 'PUT',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      options: { body: { flinkConfiguration: { 'rest.port': 9000 } } },
      status: 400,
      code: 'fixed_setting',
    },
    { name: 'no token', method: 'GET', path: '/v1/flink-versions', as: 'nobody', status: 401, code: 'unauthenticated' },
    {
      name: 'a forged tenant token',
      method: 'GET',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'forged',
      status: 401,
      code: 'unauthenticated',
    },
    {
      name: 'a malformed session cookie',
      method: 'GET',
      path: '/v1/flink-versions',
      as: 'nobody',
      options: { headers: { cookie: 'flinkplane_token=%ZZ' } },
      status: 401,
      code: 'unauthenticated',
    },
    {
      name: 'a malformed Authorization header',
      method: 'GET',
      path: '/v1/flink-versions',
      as: 'nobody',
      options: { headers: { authorization: 'Basic abc' } },
      status: 401,
      code: 'unauthenticated',
    },
    {
      name: 'a tenant listing every cluster',
      method: 'GET',
      path: '/v1/flink-clusters',
      as: 'acme',
      status: 403,
      code: 'forbidden',
    },
    {
      name: 'a tenant listing tenants',
      method: 'GET',
      path: '/v1/tenants',
      as: 'acme',
      status: 403,
      code: 'forbidden',
    },
    {
      name: 'a tenant registering a tenant',
      method: 'POST',
      path: '/v1/tenants',
      as: 'acme',
      options: { body: { name: 'gamma' } },
      status: 403,
      code: 'forbidden',
    },
    {
      name: 'a tenant purging itself',
      method: 'DELETE',
      path: '/v1/tenants/acme?purge=true&confirm=acme',
      as: 'acme',
      status: 403,
      code: 'forbidden',
    },
    {
      name: 'an unknown route',
      method: 'GET',
      path: '/v1/nothing-here',
      as: 'operator',
      status: 404,
      code: 'not_found',
    },
    {
      name: 'a tenant without a cluster',
      method: 'GET',
      path: '/v1/tenants/beta/flink-cluster',
      as: 'beta',
      status: 404,
      code: 'cluster_not_found',
    },
    {
      name: 'destroying a cluster that was never deployed',
      method: 'DELETE',
      path: '/v1/tenants/beta/flink-cluster',
      as: 'beta',
      status: 404,
      code: 'cluster_not_found',
    },
    {
      name: 'the operator deploying for an unknown tenant',
      method: 'PUT',
      path: '/v1/tenants/ghost/flink-cluster',
      as: 'operator',
      options: { body: {} },
      status: 404,
      code: 'tenant_not_found',
    },
    {
      name: 'a method the route does not have',
      method: 'POST',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      status: 405,
      code: 'method_not_allowed',
    },
    {
      name: 'registering a name twice',
      method: 'POST',
      path: '/v1/tenants',
      as: 'operator',
      options: { body: { name: 'acme' } },
      status: 409,
      code: 'tenant_exists',
    },
    {
      name: 'a body over 1 MiB',
      method: 'PUT',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      options: { rawBody: `{"x":"${'a'.repeat(1024 * 1024 + 10)}"}`, headers: { 'content-type': 'application/json' } },
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'a body that is not JSON by content type',
      method: 'PUT',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      options: { rawBody: 'taskManager.instances=3', headers: { 'content-type': 'text/plain' } },
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'a merge patch sent as application/json',
      method: 'PATCH',
      path: '/v1/tenants/acme/flink-cluster',
      as: 'acme',
      options: { body: { taskManager: { instances: 3 } } },
      status: 415,
      code: 'unsupported_media_type',
    },
  ];

  it.each(cases)('answers $status $code for $name', async (testCase) => {
    const response = await api.request(testCase.method, testCase.path, {
      ...testCase.options,
      token: tokens[testCase.as],
    });
    expect(response.status).toBe(testCase.status);
    expect(response.body).toEqual({
      error: { code: testCase.code, message: expect.any(String), details: expect.any(Object) },
    });
    expect(response.body.error.message.length).toBeGreaterThan(10);
  });

  it('names every issue of an invalid spec with its field, value and rule', async () => {
    const response = await api.request('PUT', '/v1/tenants/acme/flink-cluster', {
      token: tokens.acme,
      body: { taskManager: { memoryMB: 512, instances: 0 }, flinkConfiguration: { 'state.backend': 'rocksdb' } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.issues).toEqual([
      expect.objectContaining({ path: 'taskManager.memoryMB', value: 512, rule: 'minimum 1024 MB', limit: 1024 }),
      expect.objectContaining({ path: 'taskManager.instances', value: 0, rule: 'minimum 1', limit: 1 }),
      expect.objectContaining({ path: 'flinkConfiguration.state.backend', value: 'rocksdb', rule: 'fixed to hashmap' }),
    ]);
  });

  it('lists the allowed methods on 405', async () => {
    const response = await api.request('POST', '/v1/tenants/acme/flink-cluster', { token: tokens.acme });
    expect(response.headers.get('allow')).toBe('PUT, PATCH, GET, DELETE');
  });

  describe('cross-tenant attempts', () => {
    const routes = [
      ['GET', '/v1/tenants/%s/flink-cluster', undefined],
      ['PUT', '/v1/tenants/%s/flink-cluster', {}],
      ['DELETE', '/v1/tenants/%s/flink-cluster', undefined],
      ['GET', '/v1/auth/flink-ui?tenant=%s', undefined],
    ] as const;

    it.each(routes)(
      'refuses %s %s for another tenant with 403, the same for an existing and a missing tenant',
      async (method, path, body) => {
        const existing = await api.request(method, path.replace('%s', 'acme'), {
          token: tokens.beta,
          ...(body ? { body } : {}),
        });
        const missing = await api.request(method, path.replace('%s', 'ghost'), {
          token: tokens.beta,
          ...(body ? { body } : {}),
        });
        expect(existing.status).toBe(403);
        expect(missing.status).toBe(403);
        expect(existing.body.error.code).toBe('forbidden');
        expect(missing.body.error.message).toBe(existing.body.error.message);
      },
    );

    it('lets a tenant open its own Flink UI and nobody without a token', async () => {
      expect((await api.request('GET', '/v1/auth/flink-ui?tenant=acme', { token: tokens.acme })).status).toBe(204);
      expect((await api.request('GET', '/v1/auth/flink-ui?tenant=acme', { token: null })).status).toBe(401);
    });

    it("leaves acme's cluster untouched by beta's attempts", async () => {
      const response = await api.request('GET', '/v1/tenants/acme/flink-cluster', { token: tokens.acme });
      expect(response.body.generation).toBe(1);
    });
  });

  it('serves the OpenAPI document generated from the schemas', async () => {
    const response = await api.request('GET', '/openapi.json', { token: null });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.components.schemas.ClusterSpec.properties)).toEqual([
      'flinkVersion',
      'zone',
      'jobManager',
      'taskManager',
      'flinkConfiguration',
      'restore',
    ]);
    expect(response.body.paths['/v1/tenants/{tenant}/flink-cluster'].put).toBeDefined();
  });

  it('serves the catalog with defaults, minimums and fixed settings', async () => {
    const response = await api.request('GET', '/v1/flink-versions', { token: tokens.beta });
    expect(response.status).toBe(200);
    expect(response.body.versions.map((v: { version: string }) => v.version)).toEqual([
      '1.18',
      '1.19',
      '1.20',
      '2.1',
      '2.2',
    ]);
    expect(response.body.sizing).toContainEqual(
      expect.objectContaining({ field: 'taskManager.memoryMB', default: 3072, minimum: 1024 }),
    );
    expect(response.body.fixedSettings).toContainEqual(expect.objectContaining({ keys: ['rest.port'], value: '8081' }));
  });

  it('answers /healthz without a token and says Kubernetes is simulated', async () => {
    const response = await api.request('GET', '/healthz', { token: null });
    expect(response.status).toBe(200);
    expect(response.body.components.kubernetes).toMatchObject({ simulated: true });
  });
});
