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
   * The function's own timeout, set by the stack from the very figure it gives Lambda: every outbound call's deadline
   * is derived from it (`dependencyDeadlines`). Default 30, the house function's timeout.
   */
  LAMBDA_TIMEOUT_SECONDS: z.coerce.number().int().min(3).max(900).default(30),
});

export interface LambdaEnvironment extends Omit<z.infer<typeof EnvironmentSchema>, 'PLATFORM_SETTINGS'> {
  readonly platform: PlatformSettings;
  /** The control plane's AWS account, the one in `TENANT_ROLE_ARN`: it must own every tenant bucket. */
  readonly accountId: string;
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
  // The tenant-pod role is the stack's own, so its ARN names the account the buckets are created in.
  const accountId = /^arn:[^:]+:iam::(\d{12}):/.exec(parsed.data.TENANT_ROLE_ARN)?.[1];
  if (!accountId) throw new Error('Invalid Lambda environment: TENANT_ROLE_ARN names no 12-digit account id');
  const { PLATFORM_SETTINGS: _ignored, ...rest } = parsed.data;
  return { ...rest, platform: platform.data, accountId };
}
