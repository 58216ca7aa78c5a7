import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../functions/core/control-plane.ts';
import { FlinkplaneError } from '../../functions/core/errors.ts';
import type { Principal } from '../../functions/core/principal.ts';
import { INTERNAL_ERROR_MESSAGE } from '../../functions/http/errors.ts';
import { createRouter } from '../../functions/http/router.ts';
import { type LocalApi, startLocalApi } from '../support/local-api.ts';

// A dependency's own words (a host name, a server's message) reach the log, never a caller.
const DEPENDENCY_TEXT = 'Kubernetes refused to apply Deployment: admission webhook at 10.0.7.12:8443 denied';

describe('internal errors (Kubernetes stand-in)', () => {
  let api: LocalApi;
  let token: string;
  const logged: Record<string, unknown>[] = [];
  let refuse = false;

  beforeAll(async () => {
    api = await startLocalApi({
      log: (message, context) => logged.push({ message, ...context }),
      wrap: (name, port) => {
        if (name !== 'kubernetes') return port;
        return new Proxy(port, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (property !== 'apply' || typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (refuse) throw new FlinkplaneError('internal', DEPENDENCY_TEXT, { status: 403 });
              return value.apply(target, args);
            };
          },
        });
      },
    });
    token = await api.registerTenant('quiet');
  });
  afterAll(async () => api?.stop());

  it('answers an internal error with a generic message and logs the dependency text', async () => {
    refuse = true;
    const failed = await api.request('PUT', '/v1/tenants/quiet/flink-cluster', { token, body: {} });
    refuse = false;
    expect(failed.status).toBe(500);
    expect(failed.body.error).toEqual({ code: 'internal', message: INTERNAL_ERROR_MESSAGE, details: {} });
    expect(JSON.stringify(failed.body)).not.toContain('10.0.7.12');
    const entry = logged.find((e) => e.message === 'request failed' && e.code === 'internal');
    expect(JSON.stringify(entry)).toContain(DEPENDENCY_TEXT);
    const step = logged.find((e) => e.message === 'operation step failed');
    expect(step).toMatchObject({ tenant: 'quiet', operation: 'deploy', step: 'access' });
    expect(JSON.stringify(step)).toContain(DEPENDENCY_TEXT);
  });

  it('records the failed step without the dependency text, for the tenant to read', async () => {
    const status = await api.request('GET', '/v1/tenants/quiet/flink-cluster', { token });
    expect(status.body.lastError).toMatchObject({
      code: 'internal',
      message: 'deploy failed after step "access": unexpected error (logged)',
    });
    expect(JSON.stringify(status.body)).not.toContain('10.0.7.12');
  });
});

describe('router', () => {
  it('answers with the error body while the control plane cannot be built, and serves once it can', async () => {
    const plane = { versions: () => ({ versions: [] }) } as unknown as ControlPlane;
    const operator: Principal = { kind: 'operator', id: 'operator' };
    let ready = false;
    const router = createRouter({
      controlPlane: () => {
        if (!ready) return Promise.reject(new FlinkplaneError('dependency_unavailable', 'secret unreadable'));
        return Promise.resolve(plane);
      },
      authenticate: async () => operator,
      log: () => undefined,
    });
    const request = { method: 'GET', path: '/v1/flink-versions', headers: {}, query: {} };
    const refused = await router(request);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe('dependency_unavailable');
    ready = true;
    expect((await router(request)).status).toBe(200);
  });
});
