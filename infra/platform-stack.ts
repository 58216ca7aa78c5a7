import { Annotations, CfnOutput, Duration, Lazy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  type IngressSettings,
  type PlatformSettings,
  type PlatformSettingsInput,
  parsePlatformSettings,
} from '../functions/core/platform.ts';
import { ClusterTable } from './constructs/cluster-table.ts';
import { ConsoleHosting } from './constructs/console-hosting.ts';
import { ControlPlaneApi } from './constructs/control-plane-api.ts';
import { ControlPlaneRole } from './constructs/control-plane-role.ts';
import { EksTarget } from './constructs/eks-target.ts';
import { FlinkClusterProvider } from './constructs/flink-cluster-provider.ts';
import { FlinkUiIngress } from './constructs/flink-ui-ingress.ts';
import { FlinkplaneFunction } from './constructs/flinkplane-function.ts';
import { PlatformKey } from './constructs/platform-key.ts';
import { Reconciler } from './constructs/reconciler.ts';
import { SharedZookeeper } from './constructs/shared-zookeeper.ts';
import { TenantAccess } from './constructs/tenant-access.ts';
import { hasAlbOidc, hasHostedZone, PLACEHOLDER_JWT_ISSUER, type PlatformContext } from './context.ts';
import { consoleAssetPath } from './paths.ts';

export interface PlatformStackProps extends StackProps {
  readonly settings: PlatformContext;
  /**
   * Directory of the console build.
   * @default `console/dist` (the built console; synth fails without it)
   */
  readonly consoleAssetPath?: string;
}

/** The environment variables every control-plane Lambda reads (`functions/handlers/environment.ts`). */
export type ControlPlaneEnvironment = Record<
  | 'CLUSTER_TABLE'
  | 'PLATFORM_SETTINGS'
  | 'EKS_CLUSTER_NAME'
  | 'TENANT_ROLE_ARN'
  | 'ZOOKEEPER_CONNECT'
  | 'PLATFORM_KEY_SECRET_ARN'
  | 'AUTH_TENANT_CLAIM'
  | 'AUTH_OPERATOR_CLAIM'
  | 'AUTH_OPERATOR_VALUE',
  string
>;

/**
 * The Flinkplane platform: the control plane (HTTP API, reconciler, FlinkCluster provider) with its table and key,
 * the tenant-pod role, the target EKS cluster (imported or created) with the shared ZooKeeper, the Flink UI DNS and
 * certificate, and the console.
 */
export class PlatformStack extends Stack {
  /** The platform settings the Lambdas get, as validated (tokens are filled in only in the environment). */
  readonly platformSettings: PlatformSettings;
  readonly api: ControlPlaneApi;
  readonly controlPlane: ControlPlaneRole;
  readonly tenantAccess: TenantAccess;
  readonly eks: EksTarget;

  private readonly zones: readonly string[];

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.zones = settings.zones;
    const logRetention = settings.logRetentionDays as logs.RetentionDays;
    if (settings.jwtIssuer === PLACEHOLDER_JWT_ISSUER) {
      Annotations.of(this).addWarningV2(
        'flinkplane:placeholder-jwt-issuer',
        'context "jwtIssuer" is the placeholder: the API rejects every token until it names your identity provider',
      );
    }

    // Validated with placeholders where the value is a deploy-time token; the core's schema is the judge.
    const parsedSettings = parsePlatformSettings(platformSettingsInput(settings));

    const table = new ClusterTable(this, 'ClusterTable');
    const platformKey = new PlatformKey(this, 'PlatformKey');
    this.eks = new EksTarget(this, 'Eks', {
      clusterName: settings.eksClusterName,
      create: settings.createEksCluster
        ? {
            zones: settings.zones,
            instanceType: settings.eksNodeInstanceType,
            nodeCount: settings.eksNodeCount,
            logRetention,
            storageClassName: parsedSettings.storageClassName,
          }
        : undefined,
    });
    this.tenantAccess = new TenantAccess(this, 'TenantAccess', {
      bucketPrefix: settings.bucketPrefix,
      clusterName: settings.eksClusterName,
    });
    const zookeeper = new SharedZookeeper(this, 'Zookeeper', {
      platform: parsedSettings,
      existingConnect: settings.zookeeperConnect || undefined,
      cluster: this.eks.cluster,
    });
    // Tenant proxies connect where the ensemble is, whichever namespace the settings put it in.
    this.platformSettings = {
      ...parsedSettings,
      zookeeper: { ...parsedSettings.zookeeper, upstream: zookeeper.connectString },
    };
    const flinkUi = hasHostedZone(settings)
      ? new FlinkUiIngress(this, 'FlinkUi', {
          domain: settings.platformDomain,
          hostedZoneId: settings.hostedZoneId,
          hostedZoneName: settings.hostedZoneName.replace(/\.$/, ''),
          loadBalancerDnsName: settings.albDnsName || undefined,
          loadBalancerHostedZoneId: settings.albHostedZoneId || undefined,
        })
      : undefined;

    this.controlPlane = new ControlPlaneRole(this, 'ControlPlane', {
      table: table.table,
      bucketPrefix: settings.bucketPrefix,
      clusterName: this.eks.clusterName,
      clusterArn: this.eks.clusterArn,
      tenantRole: this.tenantAccess.role,
      platformKeySecret: platformKey.secret,
    });
    this.eks.grantControlPlane(this.controlPlane.role);

    // The console reads where the API is and who issues its tokens from /config.json.
    const consoleHosting = new ConsoleHosting(this, 'Console', {
      assetPath: props.consoleAssetPath ?? consoleAssetPath(),
      runtimeConfig: {
        apiUrl: Lazy.string({ produce: () => this.api.url }),
        jwtIssuer: settings.jwtIssuer,
        jwtAudience: settings.jwtAudience,
      },
    });

    const environment: Omit<ControlPlaneEnvironment, 'PLATFORM_SETTINGS'> = {
      CLUSTER_TABLE: table.table.tableName,
      EKS_CLUSTER_NAME: this.eks.clusterName,
      TENANT_ROLE_ARN: this.tenantAccess.role.roleArn,
      // The in-cluster ensemble is reached through a port-forward tunnel; only an external one is dialled directly.
      ZOOKEEPER_CONNECT: settings.zookeeperConnect || '',
      PLATFORM_KEY_SECRET_ARN: platformKey.secret.secretArn,
      AUTH_TENANT_CLAIM: settings.tenantClaim,
      AUTH_OPERATOR_CLAIM: settings.operatorClaim,
      AUTH_OPERATOR_VALUE: settings.operatorClaimValue,
    };
    const functionProps = {
      role: this.controlPlane.role,
      logRetention,
      logLevel: settings.logLevel,
    };
    const apiFunction = new FlinkplaneFunction(this, 'ApiHandler', {
      ...functionProps,
      entry: 'functions/handlers/api.ts',
      serviceName: 'flinkplane-api',
      description: 'Flinkplane control-plane API',
      // API Gateway waits at most 30 s for an integration.
      timeout: Duration.seconds(29),
      environment: { ...environment },
    });
    this.api = new ControlPlaneApi(this, 'Api', {
      handler: apiFunction.function,
      jwtIssuer: settings.jwtIssuer,
      jwtAudience: settings.jwtAudience,
      throttlingRateLimit: settings.throttlingRateLimit,
      throttlingBurstLimit: settings.throttlingBurstLimit,
      accessLogRetention: logRetention,
      corsAllowOrigins: [consoleHosting.url],
    });

    // The settings with their deploy-time values: the API's own URL for the nginx auth check, the certificate, the role.
    const platformSettingsJson = this.toJsonString({
      ...this.platformSettings,
      tenantRoleArn: this.tenantAccess.role.roleArn,
      ingress: effectiveIngress(this.platformSettings.ingress, {
        authUrl: `${this.api.api.apiEndpoint}/v1/auth/flink-ui`,
        certificateArn: flinkUi?.certificate.certificateArn,
      }),
    });
    apiFunction.function.addEnvironment('PLATFORM_SETTINGS', platformSettingsJson);
    const shared = {
      ...functionProps,
      environment: { ...environment, PLATFORM_SETTINGS: platformSettingsJson },
    };
    const reconciler = new Reconciler(this, 'Reconciler', {
      function: shared,
      schedule: Duration.minutes(settings.reconcileScheduleMinutes),
    });
    const provider = new FlinkClusterProvider(this, 'FlinkClusterProvider', { function: shared });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the control-plane API' });
    new CfnOutput(this, 'ConsoleUrl', { value: consoleHosting.url, description: 'The web console' });
    new CfnOutput(this, 'TenantRoleArn', { value: this.tenantAccess.role.roleArn });
    new CfnOutput(this, 'ControlPlaneRoleArn', { value: this.controlPlane.role.roleArn });
    new CfnOutput(this, 'ClusterTableName', { value: table.table.tableName });
    new CfnOutput(this, 'ReconcilerFunctionName', { value: reconciler.handler.function.functionName });
    new CfnOutput(this, 'ProviderFunctionName', { value: provider.handler.function.functionName });
  }

  /** The zones from the context: a VPC in them needs no availability-zone lookup (and no credentials) at synth. */
  override get availabilityZones(): string[] {
    return [...this.zones];
  }
}

/** The PlatformSettings input the context describes; deploy-time values are placeholders here. */
export function platformSettingsInput(settings: PlatformContext): PlatformSettingsInput {
  const extra = settings.platformSettings as PlatformSettingsInput;
  const ingress: PlatformSettingsInput['ingress'] = hasAlbOidc(settings)
    ? {
        mode: 'alb-oidc',
        oidc: {
          issuer: settings.oidcIssuer,
          authorizationEndpoint: settings.oidcAuthorizationEndpoint,
          tokenEndpoint: settings.oidcTokenEndpoint,
          userInfoEndpoint: settings.oidcUserInfoEndpoint,
          secretName: settings.oidcSecretName,
        },
      }
    : { mode: 'nginx-auth-url', authUrl: 'https://api.invalid/v1/auth/flink-ui' };
  return {
    ...extra,
    domain: settings.platformDomain,
    bucketPrefix: settings.bucketPrefix,
    zones: settings.zones,
    ingress: extra.ingress ?? ingress,
  };
}

/** Fills the deploy-time values into the ingress settings: the auth URL (nginx) or the wildcard certificate (ALB). */
function effectiveIngress(
  ingress: IngressSettings,
  values: { authUrl: string; certificateArn?: string },
): IngressSettings {
  if (ingress.mode === 'nginx-auth-url') {
    return ingress.authUrl === 'https://api.invalid/v1/auth/flink-ui'
      ? { ...ingress, authUrl: values.authUrl }
      : ingress;
  }
  return values.certificateArn && !ingress.certificateArn
    ? { ...ingress, certificateArn: values.certificateArn }
    : ingress;
}
