import type { V1Ingress, V1IngressTLS } from '@kubernetes/client-node';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import { FlinkplaneError } from '../functions/core/errors.ts';
import { COMPONENT_NAMES, PORTS } from '../functions/core/naming.ts';
import type { IngressSettings } from '../functions/core/platform.ts';
import { objectMeta } from './labels.ts';

const ALB = 'alb.ingress.kubernetes.io';
const NGINX = 'nginx.ingress.kubernetes.io';

/** The annotation that makes each mode authenticate; an Ingress without it is never built. */
export const AUTH_ANNOTATIONS = {
  'alb-oidc': `${ALB}/auth-type`,
  'nginx-auth-url': `${NGINX}/auth-url`,
} as const satisfies Record<IngressSettings['mode'], string>;

/** Headers the auth endpoint answers with that ingress-nginx passes on to the Flink UI (oauth2-proxy's names). */
export const AUTH_RESPONSE_HEADERS = 'X-Auth-Request-User,X-Auth-Request-Email';

/**
 * The Ingress `flink-cluster-ui` for `flink-cluster-ui-<tenant>.<domain>` to the JobManager's REST port. The Flink UI
 * accepts JAR uploads, i.e. runs code, so the Ingress is always authenticated; a mode without authentication throws.
 */
export function buildUiIngress(cluster: EffectiveCluster): V1Ingress {
  const settings = cluster.platform.ingress;
  const { annotations, tls } = modeAnnotations(cluster, settings);
  const ingress: V1Ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: objectMeta(cluster, 'ui', COMPONENT_NAMES.ingress, annotations),
    spec: {
      ingressClassName: settings.className,
      ...(tls ? { tls } : {}),
      rules: [
        {
          host: cluster.names.vhost,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: COMPONENT_NAMES.jobManager, port: { number: PORTS.rest } } },
              },
            ],
          },
        },
      ],
    },
  };
  assertAuthenticated(ingress, settings.mode);
  return ingress;
}

function modeAnnotations(
  cluster: EffectiveCluster,
  settings: IngressSettings,
): { annotations: Record<string, string>; tls?: V1IngressTLS[] } {
  switch (settings.mode) {
    case 'alb-oidc':
      return {
        annotations: {
          // Every tenant joins one IngressGroup, so all tenants share one load balancer.
          [`${ALB}/group.name`]: settings.groupName,
          [`${ALB}/scheme`]: 'internet-facing',
          [`${ALB}/target-type`]: 'ip',
          // The ALB authenticates only on HTTPS listeners; port 80 exists only to redirect to 443.
          [`${ALB}/listen-ports`]: JSON.stringify([{ HTTP: 80 }, { HTTPS: 443 }]),
          [`${ALB}/ssl-redirect`]: '443',
          ...(settings.certificateArn ? { [`${ALB}/certificate-arn`]: settings.certificateArn } : {}),
          [`${ALB}/auth-type`]: 'oidc',
          [`${ALB}/auth-idp-oidc`]: JSON.stringify({
            issuer: settings.oidc.issuer,
            authorizationEndpoint: settings.oidc.authorizationEndpoint,
            tokenEndpoint: settings.oidc.tokenEndpoint,
            userInfoEndpoint: settings.oidc.userInfoEndpoint,
            secretName: settings.oidc.secretName,
          }),
          [`${ALB}/auth-on-unauthenticated-request`]: 'authenticate',
          [`${ALB}/auth-scope`]: 'openid',
          [`${ALB}/healthcheck-path`]: '/config',
        },
      };
    case 'nginx-auth-url':
      return {
        annotations: {
          // The tenant in the query lets the auth endpoint authorize per tenant: tenant A's users get 403 on B's UI.
          [`${NGINX}/auth-url`]: tenantAuthUrl(settings.authUrl, cluster.tenant),
          ...(settings.authSignin ? { [`${NGINX}/auth-signin`]: settings.authSignin } : {}),
          [`${NGINX}/auth-response-headers`]: AUTH_RESPONSE_HEADERS,
          // JAR uploads through the UI; ingress-nginx's default of 1m refuses any real job JAR.
          [`${NGINX}/proxy-body-size`]: '512m',
        },
        ...(settings.tlsSecretName
          ? { tls: [{ hosts: [cluster.names.vhost], secretName: settings.tlsSecretName }] }
          : {}),
      };
    default:
      return unauthenticatedMode(settings);
  }
}

/** `authUrl` with `tenant=<tenant>` added to its query (kept if the URL already has one). */
export function tenantAuthUrl(authUrl: string, tenant: string): string {
  const url = new URL(authUrl);
  url.searchParams.set('tenant', tenant);
  return url.toString();
}

function unauthenticatedMode(settings: never): never {
  const mode = String((settings as { mode?: unknown }).mode);
  const message = `Ingress mode "${mode}" has no authentication; the Flink UI is never served without it`;
  throw new FlinkplaneError('internal', message, { mode });
}

/** The last line of defence: whatever the mode, the built Ingress carries its authentication annotation. */
function assertAuthenticated(ingress: V1Ingress, mode: IngressSettings['mode']): void {
  const annotation = AUTH_ANNOTATIONS[mode];
  if (annotation && ingress.metadata?.annotations?.[annotation]) return;
  const message = `The Flink UI Ingress for mode "${mode}" lacks its authentication annotation`;
  throw new FlinkplaneError('internal', message, { mode, annotation: annotation ?? null });
}
