import * as z from 'zod';
import { SnapshotRetentionSettingsSchema } from './jobs/ledger.ts';
import { BUCKET_PREFIX_MAX_LENGTH } from './tenant-name.ts';

/** How the Flink UI vhost is authenticated: a shared AWS ALB with OIDC, or ingress-nginx with an external auth URL. */
export const IngressSettingsSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('alb-oidc'),
    /** IngressGroup name; every tenant's Ingress joins it so all tenants share one load balancer. */
    groupName: z.string().min(1).default('flinkplane'),
    className: z.string().min(1).default('alb'),
    certificateArn: z.string().optional(),
    oidc: z.object({
      issuer: z.string().url(),
      authorizationEndpoint: z.string().url(),
      tokenEndpoint: z.string().url(),
      userInfoEndpoint: z.string().url(),
      /** Kubernetes Secret (in each tenant namespace) with `clientID` and `clientSecret`. */
      secretName: z.string().min(1).default('flink-ui-oidc'),
    }),
  }),
  z.object({
    mode: z.literal('nginx-auth-url'),
    className: z.string().min(1).default('nginx'),
    /** ingress-nginx `auth-url`: every request to the UI is checked there first. */
    authUrl: z.string().url(),
    authSignin: z.string().url().optional(),
    tlsSecretName: z.string().optional(),
  }),
]);

const SizingQuotaSchema = z.object({
  maxCpu: z.number().positive(),
  maxMemoryMB: z.number().int().positive(),
});

/** Everything the platform operator decides; tenants cannot change any of it. */
export const PlatformSettingsSchema = z
  .object({
    /** Domain under which each tenant's Flink UI vhost lives. */
    domain: z.string().min(3).default('flink.localhost'),
    /**
     * How a browser reaches the vhosts: HTTPS on 443 behind the cloud's load balancer; the local control plane serves
     * them itself over HTTP on its own port.
     */
    ui: z
      .object({
        scheme: z.enum(['https', 'http']).default('https'),
        /** Omitted: the scheme's default port. */
        port: z.number().int().min(1).max(65_535).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * Where Flink's S3 file system finds the tenants' buckets. Unset on AWS (the regional S3 endpoint, credentials from
     * EKS Pod Identity); the local control plane points it at its S3-compatible server, which needs path-style access.
     */
    objectStorage: z
      .object({
        /** Rendered as `s3.endpoint`. @default none */
        endpoint: z.url({ protocol: /^https?$/ }).optional(),
        /** Rendered as `s3.path.style.access`. @default false */
        pathStyleAccess: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Bucket names are this prefix followed by the tenant name. */
    bucketPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]*-$/, 'lowercase letters, digits, dots and hyphens, ending with a hyphen')
      .max(BUCKET_PREFIX_MAX_LENGTH)
      .default('flinkplane-'),
    zookeeper: z
      .object({
        /** The shared ZooKeeper that every tenant proxy connects to. */
        upstream: z.string().min(1).default('zookeeper.flinkplane-zookeeper.svc:2181'),
        /** Root under which each tenant's chroot `/<root>/tenants/<tenant>` lives. */
        rootPath: z
          .string()
          .regex(/^\/[a-z0-9-]+$/)
          .default('/flinkplane'),
      })
      .prefault({}),
    images: z
      .object({
        /** Repository of the platform's Flink images (the official image plus the provided packages), e.g. an ECR URI. */
        flinkRepository: z.string().min(1).default('flinkplane/flink'),
        zookeeperProxy: z.string().min(1).default('flinkplane/zookeeper-proxy:0.1.0'),
      })
      .prefault({}),
    ingress: IngressSettingsSchema.default({
      mode: 'nginx-auth-url',
      className: 'nginx',
      authUrl: 'http://127.0.0.1:8080/v1/auth/flink-ui',
    }),
    /** Namespace of the ingress controller; only its pods may reach the Flink REST port. */
    ingressControllerNamespace: z.string().min(1).default('ingress-nginx'),
    /** Namespace of the Prometheus that scrapes the Flink and proxy metrics ports. */
    monitoringNamespace: z.string().min(1).default('monitoring'),
    /** Namespace of the shared ZooKeeper; its NetworkPolicy admits only tenant proxies. */
    zookeeperNamespace: z.string().min(1).default('flinkplane-zookeeper'),
    /** CIDRs Flink pods may not reach directly (e.g. the node and pod ranges); all other egress is open for jobs. */
    blockedEgressCidrs: z.array(z.cidrv4()).default([]),
    /**
     * The pod network: where a bridge CNI (the local kubelet) gives pods their addresses. The local plane refuses to
     * start when it overlaps the host's own addresses or routes.
     */
    podCidr: z.cidrv4().default('10.244.0.0/16'),
    /** IAM role the tenant pods assume through EKS Pod Identity; session tags scope it to the tenant's bucket. */
    tenantRoleArn: z.string().optional(),
    /** Zones a tenant may choose; the first is the default. */
    zones: z.array(z.string().min(1)).min(1).default(['zone-a', 'zone-b', 'zone-c']),
    storageClassName: z.string().min(1).default('gp3'),
    quota: z
      .object({
        jobManager: SizingQuotaSchema.default({ maxCpu: 4, maxMemoryMB: 16_384 }),
        taskManager: SizingQuotaSchema.extend({ maxInstances: z.number().int().positive() }).default({
          maxCpu: 8,
          maxMemoryMB: 65_536,
          maxInstances: 32,
        }),
      })
      .prefault({}),
    /**
     * How many savepoints and retained checkpoints of each job a tenant keeps, and for how long: the default a tenant
     * gets without a setting of its own, and the most it may ask for. @default 10 per job for 30 days; at most 100, 365
     */
    snapshotRetention: SnapshotRetentionSettingsSchema.prefault({}),
  })
  .strict();

export type PlatformSettings = z.infer<typeof PlatformSettingsSchema>;
export type PlatformSettingsInput = z.input<typeof PlatformSettingsSchema>;
export type IngressSettings = z.infer<typeof IngressSettingsSchema>;

/** Parses platform settings, filling the documented defaults; throws with every problem when invalid. */
export function parsePlatformSettings(input: PlatformSettingsInput = {}): PlatformSettings {
  return PlatformSettingsSchema.parse(input);
}
