import { createBearerTokenAuthenticator } from '../../functions/http/authenticator.ts';
import type { ErrorLogger } from '../../functions/http/errors.ts';
import type { KubeStandin } from '../kube-standin/server.ts';
import type { LocalControlPlane } from '../local-control-plane.ts';
import { createLocalIngress, type LocalIngress } from './ingress.ts';
import { createStoreRoutes } from './routes.ts';

export interface LocalIngressWiring {
  /** The operator's token, accepted at every vhost as at the API. */
  readonly adminToken: string;
  /** The console's origin, e.g. `http://127.0.0.1:8080`. */
  readonly consoleUrl: string;
  readonly log: ErrorLogger;
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
}

/**
 * The ingress of a local control plane: the same tokens as its API, and the Ingress objects of its Kubernetes stand-in
 * (with a real cluster, that cluster's ingress controller serves the vhosts and these answer 503).
 */
export function createLocalControlPlaneIngress(
  local: Pick<LocalControlPlane, 'platform' | 'store'> & { readonly kube?: Pick<KubeStandin, 'store'> },
  wiring: LocalIngressWiring,
): LocalIngress {
  return createLocalIngress({
    platform: local.platform,
    authenticate: createBearerTokenAuthenticator({ adminToken: wiring.adminToken, store: local.store }),
    ...(local.kube ? { routes: createStoreRoutes(local.kube.store, local.platform.ingress.className) } : {}),
    consoleUrl: wiring.consoleUrl,
    log: wiring.log,
    ...(wiring.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: wiring.connectTimeoutMs }),
  });
}
