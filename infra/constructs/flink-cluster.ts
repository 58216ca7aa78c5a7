import { CustomResource, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { type ClusterSpec, type ClusterSpecInput, validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { specError } from '../../functions/core/errors.ts';
import { type PlatformSettingsInput, parsePlatformSettings } from '../../functions/core/platform.ts';
import { validateTenantName } from '../../functions/core/tenant-name.ts';
import { FLINK_CLUSTER_PROVIDER_EXPORT } from './flink-cluster-provider.ts';

/** The CloudFormation type of the resource. */
export const FLINK_CLUSTER_RESOURCE_TYPE = 'Custom::FlinkCluster';
/** Context key a tenant app may set to the platform's settings, so synth validates against the real quotas. */
export const PLATFORM_SETTINGS_CONTEXT = 'flinkplane:platformSettings';

export interface FlinkClusterProps extends ClusterSpecInput {
  /** The tenant whose cluster this is; the name must be registered with the platform. */
  readonly tenant: string;
  /**
   * The provider's service token.
   * @default Fn.importValue('FlinkplaneFlinkClusterProvider'), the platform stack's export (same account and region)
   */
  readonly serviceToken?: string;
  /**
   * The platform's settings to validate against (zones, quotas).
   * @default - context `flinkplane:platformSettings`, else the platform defaults
   */
  readonly platformSettings?: PlatformSettingsInput;
  /**
   * What removing the resource from the stack does. DESTROY destroys the Flink cluster (its state, i.e. bucket,
   * ZooKeeper chroot, savepoints and the HA cluster id, is kept: a later deploy resumes the jobs); RETAIN leaves the
   * cluster running, unmanaged by this stack.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A tenant's Flink session cluster as a CloudFormation resource, for tenants' own CDK apps:
 *
 * ```ts
 * new FlinkCluster(this, 'Flink', { tenant: 'acme', taskManager: { instances: 3 } });
 * ```
 *
 * The spec is checked at synth time by the same validator as the API, so `cdk synth` fails with the API's codes and
 * messages (a `FlinkplaneError`) before anything is deployed. Create and update deploy; delete destroys the cluster
 * and keeps its state.
 */
export class FlinkCluster extends Construct {
  readonly tenant: string;
  /** The effective spec (defaults filled in) the platform will deploy. */
  readonly spec: ClusterSpec;
  readonly resource: CustomResource;
  /** `https://flink-cluster-ui-<tenant>.<domain>` */
  readonly uiUrl: string;
  /** The HA cluster id of the current epoch, e.g. `acme-ha1`. */
  readonly haClusterId: string;
  /** The tenant bucket with checkpoints, savepoints and HA state. */
  readonly bucketName: string;

  constructor(scope: Construct, id: string, props: FlinkClusterProps) {
    super(scope, id);
    const { tenant, serviceToken, platformSettings, removalPolicy, ...specInput } = props;
    if (containsToken(tenant) || containsToken(specInput)) {
      throw new Error(
        `FlinkCluster ${this.node.path}: tenant and spec must be known at synth time (no tokens), so they can be validated`,
      );
    }
    const platform = parsePlatformSettings(
      platformSettings ?? (this.node.tryGetContext(PLATFORM_SETTINGS_CONTEXT) as PlatformSettingsInput | undefined),
    );
    const tenantIssues = validateTenantName(tenant);
    const validation = validateClusterSpec(specInput, platform);
    const issues = [...tenantIssues, ...(validation.ok ? [] : validation.issues)];
    if (issues.length > 0 || !validation.ok) throw specError(issues);

    this.tenant = tenant;
    this.spec = validation.spec;
    this.resource = new CustomResource(this, 'Resource', {
      resourceType: FLINK_CLUSTER_RESOURCE_TYPE,
      serviceToken: serviceToken ?? Fn.importValue(FLINK_CLUSTER_PROVIDER_EXPORT),
      // The request as written, so the provider validates and defaults it exactly like an API request.
      properties: { Tenant: tenant, Spec: JSON.stringify(specInput) },
      removalPolicy: removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.uiUrl = this.resource.getAttString('UiUrl');
    this.haClusterId = this.resource.getAttString('HaClusterId');
    this.bucketName = this.resource.getAttString('BucketName');
  }
}

/** Whether a value or anything inside it is a CDK token (strings, numbers and lists encode them differently). */
function containsToken(value: unknown): boolean {
  if (typeof value === 'string' || typeof value === 'number') return Token.isUnresolved(value);
  if (Array.isArray(value)) return Token.isUnresolved(value) || value.some(containsToken);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsToken);
  return false;
}
