import { buildTenantManifests, type TenantManifestOptions, type TenantObject } from '../../cluster-templates/index.ts';
import { type ClusterSpecInput, validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { buildEffectiveCluster, type EffectiveCluster } from '../../functions/core/effective-cluster.ts';
import {
  type PlatformSettings,
  type PlatformSettingsInput,
  parsePlatformSettings,
} from '../../functions/core/platform.ts';

/** The settings of a production-like platform on EKS behind ingress-nginx with an external auth endpoint. */
export const NGINX_PLATFORM_INPUT: PlatformSettingsInput = {
  domain: 'flink.example.com',
  bucketPrefix: 'example-flinkplane-',
  images: {
    flinkRepository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/flinkplane/flink',
    zookeeperProxy: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/flinkplane/zookeeper-proxy:0.3.2',
  },
  ingress: {
    mode: 'nginx-auth-url',
    className: 'nginx',
    authUrl: 'https://console.flink.example.com/v1/auth/flink-ui',
    authSignin: 'https://console.flink.example.com/login',
    tlsSecretName: 'flink-ui-wildcard-tls',
  },
  blockedEgressCidrs: ['10.0.0.0/16', '169.254.0.0/16'],
  tenantRoleArn: 'arn:aws:iam::123456789012:role/flinkplane-tenant',
  zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
  storageClassName: 'gp3-encrypted',
};

/** The same platform behind a shared AWS ALB that authenticates with OIDC. */
export const ALB_PLATFORM_INPUT: PlatformSettingsInput = {
  ...NGINX_PLATFORM_INPUT,
  ingress: {
    mode: 'alb-oidc',
    groupName: 'flinkplane-ui',
    className: 'alb',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0b9e8f4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    oidc: {
      issuer: 'https://login.example.com',
      authorizationEndpoint: 'https://login.example.com/oauth2/authorize',
      tokenEndpoint: 'https://login.example.com/oauth2/token',
      userInfoEndpoint: 'https://login.example.com/oauth2/userinfo',
      secretName: 'flink-ui-oidc',
    },
  },
};

export const NGINX_PLATFORM = parsePlatformSettings(NGINX_PLATFORM_INPUT);
export const ALB_PLATFORM = parsePlatformSettings(ALB_PLATFORM_INPUT);
/** Every default: what a laptop install gets. */
export const DEFAULT_PLATFORM = parsePlatformSettings();

/** A made-up identity; the tests check where its password ends up. */
export const IDENTITY = { user: 'tenant-acme', password: 'not-a-real-password-7f3a' } as const;

export interface Profile {
  readonly tenant: string;
  readonly spec: ClusterSpecInput;
  readonly platform: PlatformSettings;
  readonly options: TenantManifestOptions;
}

/** The tenant profiles whose manifests are pinned as snapshots. */
export const PROFILES = {
  /** Every spec default (1.20) on the nginx platform, rendered like the CLI does: without the proxy's identity. */
  'default-1.20-nginx': { tenant: 'acme', spec: {}, platform: NGINX_PLATFORM, options: {} },
  /** A big 2.1 cluster with the tenant's own Flink keys behind the ALB, rendered like a deploy: with the identity. */
  'big-2.1-alb': {
    tenant: 'globex',
    spec: {
      flinkVersion: '2.1',
      zone: 'eu-west-1b',
      jobManager: { cpu: 1, memoryMB: 2048 },
      taskManager: { cpu: 2, memoryMB: 4096, instances: 3 },
      flinkConfiguration: {
        'taskmanager.numberOfTaskSlots': 4,
        pipeline: { 'max-parallelism': 128 },
        'execution.checkpointing.interval': '30 s',
      },
    },
    platform: ALB_PLATFORM,
    options: { zookeeperIdentity: { user: 'tenant-globex', password: 'not-a-real-password-91c4' } },
  },
  /** Every minimum on 1.18 with the platform defaults (no TLS, no tenant role, nothing blocked). */
  'minimal-1.18': {
    tenant: 'initech',
    spec: {
      flinkVersion: '1.18',
      jobManager: { cpu: 0.3, memoryMB: 1024 },
      taskManager: { cpu: 0.3, memoryMB: 1024, instances: 1 },
    },
    platform: DEFAULT_PLATFORM,
    options: {},
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** The effective cluster of a deploy request; fails the test if the request is not valid. */
export function clusterOf(
  tenant: string,
  spec: ClusterSpecInput = {},
  platform: PlatformSettings = NGINX_PLATFORM,
  haEpoch = 1,
): EffectiveCluster {
  const validation = validateClusterSpec(spec, platform);
  if (!validation.ok)
    throw new Error(`invalid fixture spec: ${validation.issues.map((issue) => issue.message).join('; ')}`);
  return buildEffectiveCluster(tenant, validation.spec, platform, haEpoch);
}

export function profileCluster(profile: Profile, overrides: ClusterSpecInput = {}): EffectiveCluster {
  return clusterOf(profile.tenant, { ...profile.spec, ...overrides }, profile.platform);
}

/** The objects of the canonical fixture: tenant `acme`, default spec, nginx platform, with the proxy identity. */
export function acmeObjects(spec: ClusterSpecInput = {}, platform: PlatformSettings = NGINX_PLATFORM): TenantObject[] {
  return buildTenantManifests(clusterOf('acme', spec, platform), { zookeeperIdentity: IDENTITY }).map(
    (manifest) => manifest.object,
  );
}

/** The one object of a kind and name; fails the test when there is none. */
export function find<T extends TenantObject = TenantObject>(
  objects: readonly TenantObject[],
  kind: string,
  name: string,
): T {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map(key).join(', ')}`);
  return found as T;
}

/** `Kind/name` of an object. */
export function key(object: TenantObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}
