import type { ApiResponse, RequestOptions } from '../../support/local-api.ts';

export type { ApiResponse, RequestOptions } from '../../support/local-api.ts';

/** The same small JSON client `startLocalApi` gives, for an API served by a control plane a test wired itself. */
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

/** Runs the reconciler every `periodMs` until stopped, as the local server and the scheduled Lambda do. */
export function startReconcileLoop(reconcile: () => Promise<unknown>, periodMs: number): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // A sweep that fails (a store fault) is retried on the next period, as in production.
      await reconcile().catch(() => undefined);
      await sleep(periodMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
