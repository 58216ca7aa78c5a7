import * as z from 'zod';
import { type PlatformSettings, PlatformSettingsSchema } from '../core/platform.ts';

const EnvironmentSchema = z.object({
  CLUSTER_TABLE: z.string().min(3),
  PLATFORM_SETTINGS: z.string().min(2),
  EKS_CLUSTER_NAME: z.string().min(1),
  TENANT_ROLE_ARN: z.string().startsWith('arn:'),
  /**
   * An ensemble the Lambdas can reach directly (`host:port,…`). Empty: the shared in-cluster ensemble, reached through
   * a Kubernetes port-forward tunnel, so the Kubernetes API stays the only path into the cluster.
   */
  ZOOKEEPER_CONNECT: z.string().default(''),
  PLATFORM_KEY_SECRET_ARN: z.string().startsWith('arn:'),
  AWS_REGION: z.string().min(1),
  AUTH_TENANT_CLAIM: z.string().default('custom:tenant'),
  AUTH_OPERATOR_CLAIM: z.string().default('cognito:groups'),
  AUTH_OPERATOR_VALUE: z.string().default('flinkplane-operators'),
  /**
   * `true` for an S3-compatible object store (MinIO, s3rver) reached through `AWS_ENDPOINT_URL_S3`: path-style
   * addressing, and bucket settings the store does not implement are skipped and reported instead of failing.
   */
  S3_COMPATIBLE_STORE: z.enum(['true', 'false']).default('false'),
});

export interface LambdaEnvironment extends Omit<z.infer<typeof EnvironmentSchema>, 'PLATFORM_SETTINGS'> {
  readonly platform: PlatformSettings;
}

/** Parses the Lambda environment once at cold start and fails loudly, naming each missing or invalid variable. */
export function parseLambdaEnvironment(env: NodeJS.ProcessEnv = process.env): LambdaEnvironment {
  const parsed = EnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid Lambda environment: ${problems}`);
  }
  let platformJson: unknown;
  try {
    platformJson = JSON.parse(parsed.data.PLATFORM_SETTINGS);
  } catch (error) {
    throw new Error(`Invalid Lambda environment: PLATFORM_SETTINGS is not JSON (${(error as Error).message})`);
  }
  const platform = PlatformSettingsSchema.safeParse(platformJson);
  if (!platform.success) {
    const problems = platform.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid Lambda environment: PLATFORM_SETTINGS: ${problems}`);
  }
  const { PLATFORM_SETTINGS: _ignored, ...rest } = parsed.data;
  return { ...rest, platform: platform.data };
}
