import type { V1Ingress } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildUiIngress } from '../../cluster-templates/ingress.ts';
import type { PlatformSettings } from '../../functions/core/platform.ts';
import { ALB_PLATFORM, clusterOf, NGINX_PLATFORM } from './fixtures.ts';

function ingressOf(platform: PlatformSettings, tenant = 'acme'): V1Ingress {
  return buildUiIngress(clusterOf(tenant, {}, platform));
}

function annotations(ingress: V1Ingress): Record<string, string> {
  return ingress.metadata?.annotations ?? {};
}

describe('Flink UI ingress', () => {
  it.each([
    ['nginx-auth-url', NGINX_PLATFORM],
    ['alb-oidc', ALB_PLATFORM],
  ] as const)('routes the tenant vhost to the JobManager REST port in mode %s', (_mode, platform) => {
    const ingress = ingressOf(platform);
    expect(ingress.spec?.ingressClassName).toBe(platform.ingress.className);
    expect(ingress.spec?.rules).toEqual([
      {
        host: 'flink-cluster-ui-acme.flink.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'flink-cluster-jobmanager', port: { number: 8081 } } },
            },
          ],
        },
      },
    ]);
  });

  it('sends every request through the auth URL with the tenant, so one tenant cannot open another tenant UI', () => {
    expect(annotations(ingressOf(NGINX_PLATFORM, 'acme'))['nginx.ingress.kubernetes.io/auth-url']).toBe(
      'https://console.flink.example.com/v1/auth/flink-ui?tenant=acme',
    );
    expect(annotations(ingressOf(NGINX_PLATFORM, 'globex'))['nginx.ingress.kubernetes.io/auth-url']).toBe(
      'https://console.flink.example.com/v1/auth/flink-ui?tenant=globex',
    );
  });

  it('keeps a query the auth URL already has', () => {
    const platform = {
      ...NGINX_PLATFORM,
      ingress: { ...NGINX_PLATFORM.ingress, authUrl: 'https://auth.example.com/check?realm=flink' },
    };
    expect(annotations(ingressOf(platform as PlatformSettings))['nginx.ingress.kubernetes.io/auth-url']).toBe(
      'https://auth.example.com/check?realm=flink&tenant=acme',
    );
  });

  it('signs in, passes the user on, allows JAR uploads and serves TLS in nginx mode', () => {
    const ingress = ingressOf(NGINX_PLATFORM);
    expect(annotations(ingress)).toMatchObject({
      'nginx.ingress.kubernetes.io/auth-signin': 'https://console.flink.example.com/login',
      'nginx.ingress.kubernetes.io/auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email',
      'nginx.ingress.kubernetes.io/proxy-body-size': '512m',
    });
    expect(ingress.spec?.tls).toEqual([
      { hosts: ['flink-cluster-ui-acme.flink.example.com'], secretName: 'flink-ui-wildcard-tls' },
    ]);
  });

  it('leaves out TLS and sign-in when the nginx platform has none, and still authenticates', () => {
    const platform = {
      ...NGINX_PLATFORM,
      ingress: { mode: 'nginx-auth-url', className: 'nginx', authUrl: 'http://auth.local/check' },
    } as PlatformSettings;
    const ingress = ingressOf(platform);
    expect(ingress.spec?.tls).toBeUndefined();
    expect(annotations(ingress)['nginx.ingress.kubernetes.io/auth-signin']).toBeUndefined();
    expect(annotations(ingress)['nginx.ingress.kubernetes.io/auth-url']).toBe('http://auth.local/check?tenant=acme');
  });

  it('authenticates with OIDC on the shared ALB in alb-oidc mode', () => {
    const ingress = ingressOf(ALB_PLATFORM);
    const alb = annotations(ingress);
    expect(alb).toMatchObject({
      'alb.ingress.kubernetes.io/group.name': 'flinkplane-ui',
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/target-type': 'ip',
      'alb.ingress.kubernetes.io/listen-ports': '[{"HTTP":80},{"HTTPS":443}]',
      'alb.ingress.kubernetes.io/ssl-redirect': '443',
      'alb.ingress.kubernetes.io/certificate-arn':
        'arn:aws:acm:eu-west-1:123456789012:certificate/0b9e8f4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      'alb.ingress.kubernetes.io/auth-type': 'oidc',
      'alb.ingress.kubernetes.io/auth-on-unauthenticated-request': 'authenticate',
      'alb.ingress.kubernetes.io/auth-scope': 'openid',
      'alb.ingress.kubernetes.io/healthcheck-path': '/config',
    });
    expect(JSON.parse(alb['alb.ingress.kubernetes.io/auth-idp-oidc']!)).toEqual({
      issuer: 'https://login.example.com',
      authorizationEndpoint: 'https://login.example.com/oauth2/authorize',
      tokenEndpoint: 'https://login.example.com/oauth2/token',
      userInfoEndpoint: 'https://login.example.com/oauth2/userinfo',
      secretName: 'flink-ui-oidc',
    });
    expect(Object.keys(alb).some((name) => name.startsWith('nginx.'))).toBe(false);
  });

  it('leaves the certificate to discovery when the ALB platform names none', () => {
    const { certificateArn: _, ...ingress } = ALB_PLATFORM.ingress as Extract<
      PlatformSettings['ingress'],
      { mode: 'alb-oidc' }
    >;
    const alb = annotations(ingressOf({ ...ALB_PLATFORM, ingress } as PlatformSettings));
    expect(alb['alb.ingress.kubernetes.io/certificate-arn']).toBeUndefined();
    expect(alb['alb.ingress.kubernetes.io/auth-type']).toBe('oidc');
  });

  it('refuses to build a UI ingress for a mode without authentication', () => {
    const platform = {
      ...NGINX_PLATFORM,
      ingress: { mode: 'open', className: 'nginx' },
    } as unknown as PlatformSettings;
    expect(() => ingressOf(platform)).toThrow(/never served without/);
  });
});
