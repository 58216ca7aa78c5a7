import { App, Aws, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type ClusterSpecInput, validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { FlinkplaneError, specError } from '../../functions/core/errors.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import {
  FLINK_CLUSTER_RESOURCE_TYPE,
  FlinkCluster,
  type FlinkClusterProps,
  PLATFORM_SETTINGS_CONTEXT,
} from '../../infra/constructs/flink-cluster.ts';
import { validSpecInput } from '../core/fixtures.ts';

const platformSettings = { domain: 'flink.example.com', zones: ['zone-a', 'zone-b', 'zone-c'] };
const platform = parsePlatformSettings(platformSettings);

function stack(context: Record<string, unknown> = {}): Stack {
  return new Stack(new App({ context }), 'Tenant');
}

function build(props: Partial<FlinkClusterProps>, scope = stack()): FlinkCluster {
  return new FlinkCluster(scope, 'Flink', { tenant: 'acme', platformSettings, ...props });
}

/** The error `cdk synth` stops with, or a failure when the construct is accepted. */
function synthError(props: Partial<FlinkClusterProps>): FlinkplaneError {
  try {
    build(props);
  } catch (error) {
    expect(error).toBeInstanceOf(FlinkplaneError);
    return error as FlinkplaneError;
  }
  throw new Error('expected the FlinkCluster to be rejected at synth time');
}

/** What the API answers for the same request body. */
function apiError(input: ClusterSpecInput): FlinkplaneError {
  const validation = validateClusterSpec(input, platform);
  if (validation.ok) throw new Error('expected the spec to be invalid');
  return specError(validation.issues);
}

describe('FlinkCluster validation at synth time', () => {
  it('rejects a TaskManager memory under 1024 MB with the API code and message', () => {
    const error = synthError({ taskManager: { memoryMB: 512 } });
    expect(error.code).toBe('invalid_cluster_spec');
    expect(error.message).toContain('taskManager.memoryMB is 512 MB; the minimum is 1024 MB');
    expect(error.message).toBe(apiError({ taskManager: { memoryMB: 512 } }).message);
    expect(error.details).toEqual(apiError({ taskManager: { memoryMB: 512 } }).details);
  });

  it('rejects a setting the platform fixes with the fixed_setting code', () => {
    const input = { flinkConfiguration: { 'rest.port': 9999 } };
    const error = synthError(input);
    expect(error.code).toBe('fixed_setting');
    expect(error.message).toBe(apiError(input).message);
    expect(error.message).toContain('flinkConfiguration "rest.port" cannot be changed: the platform fixes it to 8081');
  });

  it('reports every issue at once, not only the first', () => {
    const input = { taskManager: { memoryMB: 512, instances: 0 }, zone: 'zone-x' };
    const error = synthError(input);
    expect((error.details.issues as unknown[]).length).toBe(3);
    expect(error.message).toBe(apiError(input).message);
  });

  it('rejects a reserved tenant name', () => {
    const error = synthError({ tenant: 'kube-system' });
    expect(error.code).toBe('invalid_cluster_spec');
    expect(error.message).toContain('tenant "kube-system" is reserved by the platform');
  });

  it('validates against the platform settings from the context when the props give none', () => {
    const scope = stack({ [PLATFORM_SETTINGS_CONTEXT]: { zones: ['eu-west-1a', 'eu-west-1b'] } });
    expect(() => build({ zone: 'eu-west-1b', platformSettings: undefined }, scope)).not.toThrow();
    expect(() => build({ zone: 'zone-a', platformSettings: undefined }, stack())).not.toThrow();
    expect(() => build({ zone: 'eu-west-1b', platformSettings: undefined }, stack())).toThrow(
      'zone "eu-west-1b" is not offered',
    );
  });

  it('refuses values only known at deploy time, which it could not validate', () => {
    expect(() => build({ tenant: Aws.STACK_NAME })).toThrow('must be known at synth time');
    expect(() => build({ taskManager: { instances: Token.asNumber(Aws.ACCOUNT_ID) } })).toThrow(
      'must be known at synth time',
    );
  });
});

describe('FlinkCluster resource', () => {
  it('is a Custom::FlinkCluster with the tenant and the request as written', () => {
    const scope = stack();
    const cluster = build({ ...validSpecInput() }, scope);
    const template = Template.fromStack(scope);
    const [resource] = Object.values(template.findResources(FLINK_CLUSTER_RESOURCE_TYPE));
    expect(resource).toMatchObject({
      Type: 'Custom::FlinkCluster',
      DeletionPolicy: 'Delete',
      Properties: {
        ServiceToken: { 'Fn::ImportValue': 'FlinkplaneFlinkClusterProvider' },
        Tenant: 'acme',
        Spec: JSON.stringify(validSpecInput()),
      },
    });
    expect(JSON.parse(resource.Properties.Spec)).toEqual(validSpecInput());
    expect(cluster.spec.taskManager).toEqual({ cpu: 1, memoryMB: 4096, instances: 3 });
  });

  it('defaults what the request leaves out, as the API does, and sends only what was given', () => {
    const scope = stack();
    const cluster = build({ taskManager: { instances: 3 } }, scope);
    expect(cluster.spec).toMatchObject({
      flinkVersion: '1.20',
      zone: 'zone-a',
      taskManager: { memoryMB: 3072, instances: 3 },
    });
    Template.fromStack(scope).hasResourceProperties(FLINK_CLUSTER_RESOURCE_TYPE, {
      Spec: '{"taskManager":{"instances":3}}',
    });
  });

  it('uses a given service token and removal policy', () => {
    const scope = stack();
    build(
      { serviceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider', removalPolicy: RemovalPolicy.RETAIN },
      scope,
    );
    Template.fromStack(scope).hasResource(FLINK_CLUSTER_RESOURCE_TYPE, {
      DeletionPolicy: 'Retain',
      Properties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider' },
    });
  });

  it('exposes the UI URL, HA cluster id and bucket as attributes of the resource', () => {
    const scope = stack();
    const cluster = build({}, scope);
    const logicalId = scope.getLogicalId(cluster.resource.node.defaultChild as never);
    expect(scope.resolve(cluster.uiUrl)).toEqual({ 'Fn::GetAtt': [logicalId, 'UiUrl'] });
    expect(scope.resolve(cluster.haClusterId)).toEqual({ 'Fn::GetAtt': [logicalId, 'HaClusterId'] });
    expect(scope.resolve(cluster.bucketName)).toEqual({ 'Fn::GetAtt': [logicalId, 'BucketName'] });
  });
});
