/** Handlers of the log routes (`routes/logs.ts`): thin, the rules live in `core/logs.ts`. */
import { authorizeTenant } from '../core/principal.ts';
import type { HttpResponse } from './http-types.ts';
import type { Handler } from './router.ts';

/** The most a buffered log answer (API Gateway cannot stream) holds, and how long a follow there is read. */
const MAX_BUFFERED_BYTES = 5 * 1024 * 1024;
const BUFFERED_FOLLOW_MS = 20_000;

export const logHandlers = {
  'GET /v1/tenants/{tenant}/flink-cluster/pods': async ({ plane, params, principal }) => ({
    status: 200,
    body: { pods: await plane.logs.listPods(principal, params.tenant!) },
  }),
  'GET /v1/tenants/{tenant}/flink-cluster/logs': async ({ plane, request, params, principal }) => {
    // Another tenant is refused before the query is read, so the answer never depends on what it asked.
    authorizeTenant(principal, params.tenant!);
    const stream = await plane.logs.readLog(principal, params.tenant!, request.query);
    return { status: 200, body: undefined, stream };
  },
} satisfies Record<string, Handler>;

/**
 * A streamed answer read into its body, for a door that cannot stream (API Gateway and Lambda): at most 5 MiB, and a
 * follow for 20 s (`followMs`), so the answer comes before API Gateway's 29 s limit.
 */
export async function bufferStreamedResponse(
  response: HttpResponse,
  options: { readonly followMs?: number } = {},
): Promise<HttpResponse> {
  const { stream } = response;
  if (!stream) return response;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const timer = setTimeout(() => stream.close(), options.followMs ?? BUFFERED_FOLLOW_MS);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_BUFFERED_BYTES) break;
    }
  } catch {
    // A closed follow ends its iteration with an error; what was read is the answer.
  } finally {
    clearTimeout(timer);
    stream.close();
  }
  const { stream: _streamed, ...rest } = response;
  return { ...rest, body: Buffer.concat(chunks).subarray(0, MAX_BUFFERED_BYTES).toString('utf8') };
}
