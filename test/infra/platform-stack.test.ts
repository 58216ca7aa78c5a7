import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { ROUTES } from '../../functions/http/routes.ts';
import { CONTROL_PLANE_ROUTES } from '../../infra/constructs/control-plane-api.ts';
import { FLINK_CLUSTER_PROVIDER_EXPORT } from '../../infra/constructs/flink-cluster-provider.ts';
import type { KubernetesManifests } from '../../infra/constructs/kubernetes-manifests.ts';
import { NAMESPACE_VARIABLE } from '../../infra/constructs/tenant-access.ts';
import {
  ACCOUNT,
  flat,
  REGION,
  resourcesOf,
  roleStatements,
  type Statement,
  type Synthesized,
  statementsOf,
  synthPlatform,
} from './support.ts';

let synthesized: Synthesized;
let template: Synthesized['template'];

beforeAll(() => {
  synthesized = synthPlatform({ logRetentionDays: 90, throttlingRateLimit: 20, throttlingBurstLimit: 40 });
  template = synthesized.template;
});

function logicalId(type: string, pathPart: string): string {
  const ids = Object.keys(resourcesOf(template, type)).filter((id) => id.startsWith(pathPart));
  expect(ids, `${type} ${pathPart}*`).toHaveLength(1);
  return ids[0]!;
}

describe('control-plane API', () => {
  it('puts the JWT authorizer on every route, $default included', () => {
    const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
    const authorizerIds = Object.keys(resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer'));
    expect(authorizerIds).toHaveLength(1);
    expect(routes.length).toBe(CONTROL_PLANE_ROUTES.length + 1);
    for (const route of routes) {
      expect(route.Properties.AuthorizationType, String(route.Properties.RouteKey)).toBe('JWT');
      expect(flat(route.Properties.AuthorizerId)).toBe(`<${authorizerIds[0]}>`);
    }
    const keys = routes.map((route) => route.Properties.RouteKey);
    expect(keys).toEqual(
      expect.arrayContaining(['$default', ...CONTROL_PLANE_ROUTES.map((route) => `${route.method} ${route.path}`)]),
    );
  });

  it('routes PATCH of the cluster (a merge patch) to the API Lambda behind the authorizer', () => {
    const keys = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toContain('PATCH /v1/tenants/{tenant}/flink-cluster');
    expect(CONTROL_PLANE_ROUTES.map((route) => `${route.method} ${route.path}`)).toEqual(
      ROUTES.map((route) => `${route.method} ${route.path}`),
    );
  });

  it('checks the issuer and audience from the context', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE',
        Audience: ['flinkplane-console'],
      },
    });
  });

  it('throttles the stage with the configured rate and burst', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
    });
  });

  it('writes JSON access logs to a log group with retention', () => {
    const stage = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Stage'))[0]!;
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const logGroupId = flat(settings.DestinationArn).replace(/^<|\.Arn>$/g, '');
    expect(resourcesOf(template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(90);
    expect(JSON.parse(settings.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
  });

  it('allows browser calls from the console origin only', () => {
    const api = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Api'))[0]!;
    const cors = api.Properties.CorsConfiguration as {
      AllowOrigins: unknown[];
      AllowHeaders: string[];
      ExposeHeaders: string[];
    };
    expect(cors.AllowOrigins.map(flat)).toEqual([
      expect.stringMatching(/^https:\/\/<ConsoleDistribution.*\.DomainName>$/),
    ]);
    // The console's edit sends If-Match and reads the ETag of the view it edits.
    expect(cors.AllowHeaders).toContain('if-match');
    expect(cors.ExposeHeaders).toEqual(['etag']);
  });
});

describe('cluster table', () => {
  it('is retained, recoverable, protected from deletion and encrypted with the AWS managed key', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      },
    });
  });
});

describe('tenant-pod role', () => {
  let trust: Statement[];
  let statements: Statement[];

  beforeAll(() => {
    const roleId = logicalId('AWS::IAM::Role', 'TenantAccessRole');
    trust = statementsOf(resourcesOf(template, 'AWS::IAM::Role')[roleId]?.Properties?.AssumeRolePolicyDocument);
    statements = roleStatements(template, roleId);
  });

  it('is trusted by EKS Pod Identity for the Flink service account of tenant namespaces in this cluster', () => {
    expect(trust).toHaveLength(1);
    expect(trust[0]!.actions.sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    expect(trust[0]!.principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(trust[0]!.condition).toEqual({
      StringEquals: {
        'aws:RequestTag/kubernetes-service-account': 'flink-cluster',
        'aws:RequestTag/eks-cluster-name': 'flinkplane',
        'aws:SourceAccount': ACCOUNT,
      },
      StringLike: { 'aws:RequestTag/kubernetes-namespace': 'tenant-*' },
    });
  });

  it('names its S3 resources by the kubernetes-namespace session tag, with no other wildcard', () => {
    const resources = statements.flatMap((statement) => statement.resources);
    expect(resources.sort()).toEqual([
      `arn:aws:s3:::flinkplane-${NAMESPACE_VARIABLE}`,
      `arn:aws:s3:::flinkplane-${NAMESPACE_VARIABLE}/*`,
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template literal
    expect(NAMESPACE_VARIABLE).toBe('${aws:PrincipalTag/kubernetes-namespace}');
    for (const statement of statements) {
      expect(statement.actions.every((action) => action.startsWith('s3:') && !action.includes('*'))).toBe(true);
    }
  });

  it('requires the Flink service account, this cluster and a tenant namespace on every statement', () => {
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      expect(statement.condition).toEqual({
        StringEquals: {
          'aws:PrincipalTag/kubernetes-service-account': 'flink-cluster',
          'aws:PrincipalTag/eks-cluster-name': 'flinkplane',
        },
        StringLike: { 'aws:PrincipalTag/kubernetes-namespace': 'tenant-*' },
      });
    }
  });
});

describe('control-plane role', () => {
  let statements: Statement[];
  let roleId: string;
  const clusterArn = `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/flinkplane`;

  beforeAll(() => {
    roleId = logicalId('AWS::IAM::Role', 'ControlPlaneRole');
    statements = roleStatements(template, roleId);
  });

  const granting = (prefix: string) =>
    statements.filter((statement) => statement.actions.some((action) => action.startsWith(prefix)));

  it('is the execution role of the API, the reconciler and the FlinkCluster provider', () => {
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter((fn) =>
      (fn.Properties.Runtime as string).startsWith('nodejs'),
    );
    expect(functions).toHaveLength(3);
    for (const fn of functions) expect(flat(fn.Properties.Role)).toBe(`<${roleId}.Arn>`);
  });

  it('grants no wildcard action and "*" resources only to X-Ray, which has no resource ARNs', () => {
    for (const statement of statements) {
      expect(statement.effect).toBe('Allow');
      for (const action of statement.actions) expect(action, action).not.toContain('*');
      if (statement.resources.includes('*')) {
        expect(statement.actions.sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    }
    const services = new Set(
      statements.flatMap((statement) => statement.actions.map((action) => action.split(':')[0])),
    );
    expect([...services].sort()).toEqual(['dynamodb', 'eks', 'iam', 'logs', 's3', 'secretsmanager', 'xray']);
  });

  it('reaches DynamoDB only on the cluster table, without table management', () => {
    const tableId = logicalId('AWS::DynamoDB::Table', 'ClusterTable');
    const dynamo = granting('dynamodb:');
    expect(dynamo.flatMap((statement) => statement.resources)).toEqual([`<${tableId}.Arn>`]);
    const actions = dynamo.flatMap((statement) => statement.actions);
    expect(actions).not.toContain('dynamodb:DeleteTable');
    expect(actions).not.toContain('dynamodb:CreateTable');
    expect(actions).toContain('dynamodb:Scan');
  });

  it('creates, configures and tags only buckets with the platform prefix', () => {
    const s3 = granting('s3:');
    for (const resource of s3.flatMap((statement) => statement.resources)) {
      expect(resource).toMatch(/^arn:aws:s3:::flinkplane-tenant-\*(\/\*|\/jars\/\*)?$/);
    }
    // Tenant objects are read and written only under jars/: JARs, and the presigned JAR uploads that act with this role.
    const data = s3.filter((statement) =>
      statement.actions.some((action) => action === 's3:GetObject' || action === 's3:PutObject'),
    );
    expect(data.flatMap((statement) => statement.resources)).toEqual(['arn:aws:s3:::flinkplane-tenant-*/jars/*']);
    const actions = s3.flatMap((statement) => statement.actions);
    expect(actions).toEqual(
      expect.arrayContaining(['s3:CreateBucket', 's3:PutBucketTagging', 's3:PutEncryptionConfiguration']),
    );
  });

  it('reaches EKS only on the one cluster and its Pod Identity associations', () => {
    const eks = granting('eks:');
    const byResource = new Map<string, string[]>();
    for (const statement of eks) {
      for (const resource of statement.resources) {
        byResource.set(resource, [...(byResource.get(resource) ?? []), ...statement.actions]);
      }
    }
    expect([...byResource.keys()].sort()).toEqual([
      clusterArn,
      `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/flinkplane/*`,
    ]);
    expect(byResource.get(clusterArn)?.sort()).toEqual([
      'eks:CreatePodIdentityAssociation',
      'eks:DescribeCluster',
      'eks:ListPodIdentityAssociations',
    ]);
    const tagging = eks.find((statement) => statement.actions.includes('eks:TagResource'));
    expect(tagging?.condition).toEqual({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['flinkplane.io/tenant'] } });
  });

  it('passes only the tenant-pod role, and only to EKS Pod Identity', () => {
    const passRole = granting('iam:');
    expect(passRole).toHaveLength(1);
    expect(passRole[0]!.actions).toEqual(['iam:PassRole']);
    expect(passRole[0]!.resources).toEqual([`<${logicalId('AWS::IAM::Role', 'TenantAccessRole')}.Arn>`]);
    expect(passRole[0]!.condition).toEqual({ StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } });
  });

  it('reads only the platform key secret', () => {
    const secrets = granting('secretsmanager:');
    expect(secrets.flatMap((statement) => statement.resources)).toEqual([
      `<${logicalId('AWS::SecretsManager::Secret', 'PlatformKeySecret')}>`,
    ]);
    expect(secrets.flatMap((statement) => statement.actions)).not.toContain('secretsmanager:PutSecretValue');
  });

  it('gets Kubernetes access through an access entry in the control-plane group, with no EKS access policy', () => {
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'flinkplane',
      PrincipalArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
      KubernetesGroups: ['flinkplane:control-plane'],
      AccessPolicies: Match.absent(),
    });
  });
});

describe('control-plane functions', () => {
  it('run Node.js 22 on ARM64 with X-Ray tracing and their own log group with the configured retention', () => {
    const functions = Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(([, fn]) =>
      (fn.Properties.Runtime as string).startsWith('nodejs'),
    );
    const logGroups = resourcesOf(template, 'AWS::Logs::LogGroup');
    for (const [id, fn] of functions) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      const logGroupId = flat((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup).replace(/[<>]/g, '');
      expect(logGroups[logGroupId]?.Properties?.RetentionInDays, id).toBe(90);
    }
  });

  it('gives every log group of the stack a retention', () => {
    for (const [id, logGroup] of Object.entries(resourcesOf(template, 'AWS::Logs::LogGroup'))) {
      expect(logGroup.Properties.RetentionInDays, id).toBe(90);
    }
  });

  it('set the environment the handlers parse, PLATFORM_SETTINGS valid for the core', () => {
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter((fn) =>
      (fn.Properties.Runtime as string).startsWith('nodejs'),
    );
    for (const fn of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(variables).sort()).toEqual([
        'AUTH_OPERATOR_CLAIM',
        'AUTH_OPERATOR_VALUE',
        'AUTH_TENANT_CLAIM',
        'CLUSTER_TABLE',
        'EKS_CLUSTER_NAME',
        'LAMBDA_TIMEOUT_SECONDS',
        'LOG_LEVEL',
        'PLATFORM_KEY_SECRET_ARN',
        'PLATFORM_SETTINGS',
        'POWERTOOLS_SERVICE_NAME',
        'TENANT_ROLE_ARN',
        'ZOOKEEPER_CONNECT',
      ]);
      expect(variables).toMatchObject({
        AUTH_TENANT_CLAIM: 'custom:tenant',
        AUTH_OPERATOR_CLAIM: 'cognito:groups',
        AUTH_OPERATOR_VALUE: 'flinkplane-operators',
        EKS_CLUSTER_NAME: 'flinkplane',
        // The in-cluster ensemble is reached through a port-forward tunnel, not dialled.
        ZOOKEEPER_CONNECT: '',
        LOG_LEVEL: 'INFO',
        // The deadlines of every outbound call are derived from the function's own timeout.
        LAMBDA_TIMEOUT_SECONDS: String(fn.Properties.Timeout),
      });
      // Tokens become placeholders; what remains must satisfy the core's own schema.
      const json = flat(variables.PLATFORM_SETTINGS).replace(/<[^>]+>/g, 'token');
      const settings = parsePlatformSettings(JSON.parse(json.replace(/"token/g, '"https://token')));
      expect(settings).toMatchObject({
        domain: 'flink.example.com',
        bucketPrefix: 'flinkplane-tenant-',
        zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
        zookeeper: { upstream: 'zookeeper.flinkplane-zookeeper.svc:2181' },
        ingress: { mode: 'nginx-auth-url' },
      });
      const apiId = logicalId('AWS::ApiGatewayV2::Api', 'Api');
      expect(flat(variables.PLATFORM_SETTINGS)).toContain(`"authUrl":"<${apiId}.ApiEndpoint>/v1/auth/flink-ui"`);
      expect(flat(variables.PLATFORM_SETTINGS)).toContain(
        `"tenantRoleArn":"<${logicalId('AWS::IAM::Role', 'TenantAccessRole')}.Arn>"`,
      );
    }
  });

  it('runs the reconciler every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
  });

  it('exports the FlinkCluster provider function as the service token', () => {
    const outputs = template.findOutputs('*', { Export: { Name: FLINK_CLUSTER_PROVIDER_EXPORT } });
    const [output] = Object.values(outputs);
    const providerId = logicalId('AWS::Lambda::Function', 'FlinkClusterProviderHandler');
    expect(flat(output?.Value)).toBe(`<${providerId}.Arn>`);
    expect(resourcesOf(template, 'AWS::Lambda::Function')[providerId]?.Properties?.Timeout).toBe(900);
  });
});

describe('imported cluster', () => {
  it('publishes the control-plane RBAC and the ZooKeeper ensemble for the operator to apply', () => {
    const outputs = Object.values(template.findOutputs('*')).map((output) => flat(output.Value));
    expect(outputs.filter((value) => value.includes('| kubectl apply -f -'))).toHaveLength(2);
    const rbac = synthesized.stack.eks.node.findChild('ControlPlaneRbac') as KubernetesManifests;
    const kinds = rbac.yaml.split('---\n').map((document) => (parseYaml(document) as { kind: string }).kind);
    expect(kinds).toEqual(['ClusterRole', 'ClusterRoleBinding']);
  });

  it('applies nothing through kubectl, because the stack cannot reach a cluster it did not create', () => {
    expect(resourcesOf(template, 'Custom::AWSCDK-EKS-KubernetesResource')).toEqual({});
    expect(resourcesOf(template, 'AWS::EKS::Cluster')).toEqual({});
  });
});

describe('console hosting', () => {
  it('serves a private, encrypted, logged bucket through CloudFront with Origin Access Control over HTTPS', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'console-bucket/' }),
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
      }),
    });
  });

  it('denies every request to the buckets that is not over TLS', () => {
    const policies = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy'));
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const policy of policies) {
      const deny = statementsOf(policy.Properties.PolicyDocument).find((statement) => statement.effect === 'Deny');
      expect(deny?.condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
  });

  it('sends security headers', () => {
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: Match.objectLike({
            ContentSecurityPolicy: Match.stringLikeRegexp("frame-ancestors 'none'"),
          }),
          StrictTransportSecurity: Match.objectLike({ AccessControlMaxAgeSec: 31_536_000 }),
          FrameOptions: { FrameOption: 'DENY', Override: true },
        }),
      }),
    });
  });
});
