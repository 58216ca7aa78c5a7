/** Handlers of the log routes (`routes/logs.ts`): thin, the rules live in `core/logs.ts`. */
import { authorizeTenant } from '../core/principal.ts';
import type { Handler } from './router.ts';

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
