import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../local/http-server.ts';
import {
  type LocalControlPlane,
  type LocalControlPlaneOptions,
  startLocalControlPlane,
} from '../../local/local-control-plane.ts';

/** A local control plane behind a real HTTP server on a free loopback port, with a small client for tests. */
export interface LocalApi {
  readonly local: LocalControlPlane;
  readonly url: string;
  readonly adminToken: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  registerTenant(name: string): Promise<string>;
  stop(): Promise<void>;
}

export interface RequestOptions {
  readonly token?: string | null;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered.
  readonly body: any;
}

export async function startLocalApi(options: Partial<LocalControlPlaneOptions> = {}): Promise<LocalApi> {
  const adminToken = options.adminToken ?? `admin-${randomBytes(16).toString('hex')}`;
  const local = await startLocalControlPlane({
    platformKey: randomBytes(32).toString('hex'),
    ...options,
    adminToken,
  });
  const server: Server = createHttpServer(local.handle, () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request = createApiClient(url, adminToken);

  return {
    local,
    url,
    adminToken,
    request,
    async registerTenant(name) {
      const response = await request('POST', '/v1/tenants', { body: { name } });
      if (response.status !== 201)
        throw new Error(`register ${name}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body.token as string;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await local.stop();
    },
  };
}

/** Runs the reconciler until the tenant's cluster reaches the state, or fails after the timeout. */
export async function waitForState(api: LocalApi, tenant: string, state: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await api.local.plane.reconcile();
    const response = await api.request('GET', `/v1/tenants/${tenant}/flink-cluster`);
    if (response.body?.state === state) return response.body;
    if (Date.now() > deadline) throw new Error(`${tenant} stayed ${response.body?.state}, expected ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A small JSON client for the API at `url`; requests carry the operator token unless told otherwise. */
export function createApiClient(url: string, adminToken: string) {
  return async (method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> => {
    const token = options.token === undefined ? adminToken : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: the test sees the text.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
}
