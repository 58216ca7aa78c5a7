import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerNameOf } from '../../functions/handlers/bundle.ts';
import { repoPath } from '../paths.ts';

export interface FlinkplaneFunctionProps {
  /** The handler file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** `POWERTOOLS_SERVICE_NAME`: the `service` of every log line and trace. */
  readonly serviceName: string;
  readonly description?: string;
  /** Variables added to the house ones (`POWERTOOLS_SERVICE_NAME`, `LOG_LEVEL`, `LAMBDA_TIMEOUT_SECONDS`). */
  readonly environment?: Record<string, string>;
  /**
   * The execution role; a shared one when several functions do the same work.
   * @default - a role of its own with no permissions but writing its log group and traces
   */
  readonly role?: iam.IRole;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** `LOG_LEVEL` for the Powertools logger. @default 'INFO' */
  readonly logLevel?: string;
  /** Escape hatch: Function props merged over the house defaults. */
  readonly overrides?: Partial<lambda.FunctionProps>;
}

/**
 * The house Lambda function: the handler bundled by `functions/handlers/bundle.ts` — the very bundle the tests invoke
 * and the benchmarks measure (ESM, minified, source maps, the runtime's AWS SDK) — on ARM64 and Node.js 22, with X-Ray
 * tracing, a log group with retention and the Powertools environment. It never gets AWS managed policies: its role may
 * write its own log group and traces, and callers grant the rest.
 */
export class FlinkplaneFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: FlinkplaneFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.role =
      props.role ?? new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

    const name = handlerNameOf(props.entry);
    const timeout = props.timeout ?? Duration.seconds(30);
    const outDir = join(tmpdir(), 'flinkplane-lambda', name);
    // Synth runs the project's bundler; stacks that skip bundling (tests, `cdk ls`) get a stub that never deploys.
    const code = Stack.of(this).bundlingRequired
      ? lambda.Code.fromCustomCommand(outDir, [
          process.execPath,
          '--import',
          'tsx',
          repoPath('functions/handlers/bundle-cli.ts'),
          name,
          outDir,
        ])
      : lambda.Code.fromInline('exports.handler = async () => { throw new Error("synthesized without bundling"); };');
    this.function = new lambda.Function(this, 'Function', {
      code,
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        LOG_LEVEL: props.logLevel ?? 'INFO',
        // The handler derives every outbound call's deadline from its own timeout (functions/adapters/deadlines.ts).
        LAMBDA_TIMEOUT_SECONDS: String(timeout.toSeconds()),
        // No --enable-source-maps: it costs ~40 ms of CPU at every cold start; the maps ship for reading stacks offline.
        ...props.environment,
      },
      ...props.overrides,
    });

    this.logGroup.grantWrite(this.role);
    this.acknowledgeTracingWildcard();
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the house runtime: bundles target node22 and the code is tested on it; Lambda supports it ' +
        'until 2027, and moving to 24 is a deliberate upgrade of runtime, esbuild target and tests together.',
    });
  }

  /** X-Ray's PutTraceSegments and PutTelemetryRecords take no resource: the statement tracing adds needs `*`. */
  private acknowledgeTracingWildcard(): void {
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; AWS requires "*".',
    });
  }
}
