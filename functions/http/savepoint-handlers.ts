/** The savepoint ledger's handlers, bound to `SAVEPOINT_ROUTES` in the router's handler table. */
import type { ControlPlane } from '../core/control-plane.ts';
import { authorizeTenant, type Principal } from '../core/principal.ts';
import type { HttpRequest } from './http-types.ts';
import type { SAVEPOINT_ROUTES } from './routes/savepoints.ts';

type SavepointRouteKey = KeyOf<(typeof SAVEPOINT_ROUTES)[number]>;
type KeyOf<Row> = Row extends { method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never;

type SavepointHandler = (context: {
  plane: ControlPlane;
  request: HttpRequest;
  params: Record<string, string>;
  principal: Principal;
}) => Promise<{ status: number; body: unknown }>;

/** The handlers; `jsonBody` is the router's body parser (size, content type and depth limits). */
export function savepointHandlers(parsers: {
  jsonBody: (request: HttpRequest, empty: unknown) => unknown;
}): Record<SavepointRouteKey, SavepointHandler> {
  return {
    'GET /v1/tenants/{tenant}/savepoints': async ({ plane, params, principal }) => ({
      status: 200,
      body: { items: await plane.savepoints.list(principal, params.tenant!) },
    }),
    'GET /v1/tenants/{tenant}/savepoints/retention': async ({ plane, params, principal }) => ({
      status: 200,
      body: await plane.savepoints.retention(principal, params.tenant!),
    }),
    'PUT /v1/tenants/{tenant}/savepoints/retention': async ({ plane, request, params, principal }) => {
      // Another tenant is refused before the body is read, so the answer never depends on what it sent.
      authorizeTenant(principal, params.tenant!);
      const body = parsers.jsonBody(request, undefined);
      return { status: 200, body: await plane.savepoints.setRetention(principal, params.tenant!, body) };
    },
    'DELETE /v1/tenants/{tenant}/savepoints/{id}': async ({ plane, params, principal }) => {
      await plane.savepoints.delete(principal, params.tenant!, params.id!);
      return { status: 204, body: undefined };
    },
  };
}
