import type { Construct } from 'constructs';
import * as z from 'zod';

/**
 * Every setting the platform stack reads from CDK context (`cdk.json` or `-c key=value`). Values given on the command
 * line arrive as strings, so numbers, booleans and lists are accepted in their string form too. An empty string
 * means "not set" for the optional settings.
 */
export const CONTEXT_KEYS = [
  'account',
  'region',
  'platformDomain',
  'bucketPrefix',
  'eksClusterName',
  'createEksCluster',
  'eksNodeInstanceType',
  'eksNodeCount',
  'zookeeperConnect',
  'jwtIssuer',
  'jwtAudience',
  'tenantClaim',
  'operatorClaim',
  'operatorClaimValue',
  'throttlingRateLimit',
  'throttlingBurstLimit',
  'reconcileScheduleMinutes',
  'logRetentionDays',
  'logLevel',
  'hostedZoneId',
  'hostedZoneName',
  'albDnsName',
  'albHostedZoneId',
  'oidcIssuer',
  'oidcAuthorizationEndpoint',
  'oidcTokenEndpoint',
  'oidcUserInfoEndpoint',
  'oidcSecretName',
  'zones',
  'platformSettings',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** The issuer the stack uses when none is configured: it deploys, but no real token carries it. */
export const PLACEHOLDER_JWT_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE';

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const fromString = (parse: (text: string) => unknown) => (value: unknown) =>
  typeof value === 'string' && value.trim() !== '' ? parse(value.trim()) : value;

const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(fromString(Number), z.number().int().min(min).max(max)).default(fallback);

const boolean = (fallback: boolean) =>
  z
    .preprocess(
      fromString((text) => (text === 'true' ? true : text === 'false' ? false : text)),
      z.boolean({ error: 'must be true or false' }),
    )
    .default(fallback);

const list = (fallback: string[]) =>
  z
    .preprocess(
      fromString((text) =>
        text
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      ),
      z.array(z.string().min(1)).min(1),
    )
    .default(fallback);

const optional = (schema: z.ZodType<string> = z.string()) => z.union([z.literal(''), schema]).default('');

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });

const ContextSchema = z.object({
  /** Account the stack deploys to; the placeholder keeps `cdk synth` offline and fails a deploy loudly. */
  account: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .default('111111111111'),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
    .default('eu-west-1'),
  /** Each tenant's Flink UI is `flink-cluster-ui-<tenant>.<platformDomain>`. */
  platformDomain: z
    .string()
    .regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/, 'must be a lowercase DNS domain')
    .default('flink.example.com'),
  /**
   * Tenant buckets are `<bucketPrefix><tenant>`. It must end with `tenant-`, so a bucket name is the namespace
   * `tenant-<tenant>` behind a fixed stem: that is what lets one IAM policy scope each pod to its own bucket by the
   * EKS Pod Identity session tag `kubernetes-namespace` (see `tenant-access.ts`).
   */
  bucketPrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]*tenant-$/, 'must be lowercase letters, digits, dots and hyphens ending with "tenant-"')
    .max(39)
    .default('flinkplane-tenant-'),
  eksClusterName: z
    .string()
    .regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, 'must be a valid EKS cluster name')
    .default('flinkplane'),
  /** Create the EKS cluster (VPC, managed node group in every zone) instead of importing an existing one by name. */
  createEksCluster: boolean(false),
  eksNodeInstanceType: z
    .string()
    .regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'must be an EC2 instance type such as m7i.xlarge')
    .default('m7i.xlarge'),
  /** Nodes of the managed node group when the stack creates the cluster; it may scale to three times as many. */
  eksNodeCount: integer(3, 100, 3),
  /** `host:port[,host:port…]` of an existing ZooKeeper ensemble; empty deploys the shared 3-node ensemble. */
  zookeeperConnect: optional(z.string().regex(/^[A-Za-z0-9.-]+:\d+(,[A-Za-z0-9.-]+:\d+)*$/, 'must be host:port[,…]')),
  jwtIssuer: httpsUrl.default(PLACEHOLDER_JWT_ISSUER),
  /** Audiences (for Cognito: app client ids) the JWT authorizer accepts. */
  jwtAudience: list(['flinkplane-console']),
  tenantClaim: z.string().min(1).default('custom:tenant'),
  operatorClaim: z.string().min(1).default('cognito:groups'),
  operatorClaimValue: z.string().min(1).default('flinkplane-operators'),
  throttlingRateLimit: integer(1, 10_000, 50),
  throttlingBurstLimit: integer(1, 5_000, 100),
  reconcileScheduleMinutes: integer(1, 60, 1),
  logRetentionDays: z
    .preprocess(
      fromString(Number),
      z.number().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
      }),
    )
    .default(30),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** Route 53 hosted zone for the Flink UI vhosts; with `hostedZoneName` it enables the wildcard certificate. */
  hostedZoneId: optional(z.string().regex(/^Z[A-Z0-9]+$/, 'must be a Route 53 hosted zone id')),
  hostedZoneName: optional(),
  /** DNS name of the load balancer the ingress controller made for the Flink UIs; the wildcard record points at it. */
  albDnsName: optional(),
  /** Canonical hosted zone id of that load balancer: given, the record is an ALIAS A record, else a CNAME. */
  albHostedZoneId: optional(z.string().regex(/^Z[A-Z0-9]+$/, 'must be a hosted zone id')),
  /** OpenID Connect provider of the Flink UI login at the ALB; all four endpoints switch the ingress to alb-oidc. */
  oidcIssuer: optional(httpsUrl),
  oidcAuthorizationEndpoint: optional(httpsUrl),
  oidcTokenEndpoint: optional(httpsUrl),
  oidcUserInfoEndpoint: optional(httpsUrl),
  /** Kubernetes Secret in each tenant namespace with the OIDC `clientID` and `clientSecret`. */
  oidcSecretName: z.string().min(1).default('flink-ui-oidc'),
  /** Availability zones tenants choose from (the first is the default); the created cluster spans them. */
  zones: list(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']),
  /** Further PlatformSettings (images, quota, storageClassName, namespaces, blockedEgressCidrs), validated by the core. */
  platformSettings: z
    .preprocess(
      fromString((text) => JSON.parse(text)),
      z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
    )
    .default({}),
});

export type PlatformContext = z.infer<typeof ContextSchema>;

/** A context setting that is missing its partner or contradicts another. */
export class ContextError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid CDK context:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ContextError';
  }
}

/** Parses raw context values, filling the defaults; throws a `ContextError` naming every bad setting. */
export function parseContext(raw: Partial<Record<ContextKey, unknown>>): PlatformContext {
  const parsed = ContextSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ContextError(parsed.error.issues.map((issue) => `context "${issue.path.join('.')}": ${issue.message}`));
  }
  const context = parsed.data;
  const problems = crossCheck(context);
  if (problems.length > 0) throw new ContextError(problems);
  return context;
}

/** Reads and parses every setting from a construct's context; call once per app. */
export function readContext(scope: Construct): PlatformContext {
  const raw: Partial<Record<ContextKey, unknown>> = {};
  for (const key of CONTEXT_KEYS) {
    const value: unknown = scope.node.tryGetContext(key);
    if (value !== undefined && value !== null) raw[key] = value;
  }
  return parseContext(raw);
}

/** Whether the OIDC settings for the ALB login are all given. */
export function hasAlbOidc(context: PlatformContext): boolean {
  return OIDC_KEYS.every((key) => context[key] !== '');
}

/** Whether the Flink UI DNS (wildcard certificate and record) is managed by the stack. */
export function hasHostedZone(context: PlatformContext): boolean {
  return context.hostedZoneId !== '';
}

const OIDC_KEYS = ['oidcIssuer', 'oidcAuthorizationEndpoint', 'oidcTokenEndpoint', 'oidcUserInfoEndpoint'] as const;

function crossCheck(context: PlatformContext): string[] {
  const problems: string[] = [];
  for (const zone of context.zones) {
    if (!new RegExp(`^${context.region}[a-z]$`).test(zone)) {
      problems.push(`context "zones": "${zone}" is not an availability zone of region ${context.region}`);
    }
  }
  if (new Set(context.zones).size !== context.zones.length) {
    problems.push('context "zones": lists a zone twice');
  }
  if (context.createEksCluster && context.zones.length < 2) {
    problems.push('context "zones": a created EKS cluster needs at least 2 availability zones');
  }
  if ((context.hostedZoneId === '') !== (context.hostedZoneName === '')) {
    problems.push('context "hostedZoneId" and "hostedZoneName" go together: give both or neither');
  }
  const zoneName = context.hostedZoneName.replace(/\.$/, '');
  if (zoneName !== '' && context.platformDomain !== zoneName && !context.platformDomain.endsWith(`.${zoneName}`)) {
    problems.push(`context "platformDomain": ${context.platformDomain} is not inside hosted zone ${zoneName}`);
  }
  if (context.albDnsName !== '' && context.hostedZoneId === '') {
    problems.push('context "albDnsName": needs "hostedZoneId" and "hostedZoneName" for the record');
  }
  if (context.albHostedZoneId !== '' && context.albDnsName === '') {
    problems.push('context "albHostedZoneId": needs "albDnsName"');
  }
  const givenOidc = OIDC_KEYS.filter((key) => context[key] !== '');
  if (givenOidc.length > 0 && givenOidc.length < OIDC_KEYS.length) {
    const missing = OIDC_KEYS.filter((key) => context[key] === '').map((key) => `"${key}"`);
    problems.push(`context ${missing.join(', ')}: the ALB login needs all four OIDC settings`);
  }
  if (context.throttlingBurstLimit < context.throttlingRateLimit) {
    problems.push('context "throttlingBurstLimit": must be at least "throttlingRateLimit"');
  }
  return problems;
}
