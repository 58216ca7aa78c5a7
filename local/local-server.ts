import type { Server } from 'node:http';
import { serveConsole } from './console-files.ts';
import { createHttpServer } from './http-server.ts';
import { createLocalControlPlaneIngress } from './ingress/local-ingress.ts';
import type { LocalControlPlane } from './local-control-plane.ts';

/** The one server of a local plane: the Flink UI vhosts by Host header, then the console's files, then the API. */
export interface LocalServer {
  readonly server: Server;
  /** Stops listening, ends every connection and the vhosts' sessions; the plane itself keeps running. */
  close(): Promise<void>;
}

/**
 * Serves a local control plane on `host:port`, as `npm start` does (the tests and the benchmarks serve it the same
 * way). Rejects, leaving nothing listening, when the port cannot be had.
 */
export async function serveLocalPlane(
  local: LocalControlPlane,
  options: {
    readonly port: number;
    readonly host?: string;
    readonly adminToken: string;
    /** Where a browser signs in to reach a vhost: the console's origin. */
    readonly consoleUrl: string;
    readonly log: (message: string, context: Record<string, unknown>) => void;
    /** How long the vhosts wait for a JobManager to accept a connection. @default the ingress's own */
    readonly connectTimeoutMs?: number;
  },
): Promise<LocalServer> {
  const ingress = createLocalControlPlaneIngress(local, {
    adminToken: options.adminToken,
    consoleUrl: options.consoleUrl,
    log: options.log,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  const server = createHttpServer(
    local.handle,
    options.log,
    (request, response) => ingress.serve(request, response) || serveConsole(request, response),
    ingress.upgrade,
  );
  const close = async () => {
    ingress.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { server, close };
}
