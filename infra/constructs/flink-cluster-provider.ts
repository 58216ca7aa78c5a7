import { CfnOutput, Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { FlinkplaneFunction, type FlinkplaneFunctionProps } from './flinkplane-function.ts';

/** The export tenants' `FlinkCluster` constructs import their service token from. */
export const FLINK_CLUSTER_PROVIDER_EXPORT = 'FlinkplaneFlinkClusterProvider';

export interface FlinkClusterProviderProps {
  /** The house function settings (role, environment, log retention); entry, name and timeout are set here. */
  readonly function: Omit<FlinkplaneFunctionProps, 'entry' | 'serviceName'>;
  /**
   * Name of the CloudFormation export with the service token.
   * @default 'FlinkplaneFlinkClusterProvider'
   */
  readonly exportName?: string;
}

/**
 * The provider of `Custom::FlinkCluster`: a plain Lambda-backed custom resource whose handler
 * (`functions/handlers/flink-cluster-resource.ts`) answers CloudFormation itself through the pre-signed response URL.
 *
 * Not `custom-resources.Provider`: the framework adds a second Lambda (and, for long waits, a Step Functions state
 * machine) in front of ours, for retries and polling our workflow already has. Deploy persists the intent and the
 * reconciler converges it, so the handler validates, runs the idempotent workflow within its 15 minutes and answers;
 * one function to operate, log and secure, using the same execution role as the API.
 */
export class FlinkClusterProvider extends Construct {
  readonly handler: FlinkplaneFunction;
  /** The service token (the function ARN). */
  readonly serviceToken: string;

  constructor(scope: Construct, id: string, props: FlinkClusterProviderProps) {
    super(scope, id);
    this.handler = new FlinkplaneFunction(this, 'Handler', {
      timeout: Duration.minutes(15),
      description: 'Flinkplane Custom::FlinkCluster provider',
      ...props.function,
      entry: 'functions/handlers/flink-cluster-resource.ts',
      serviceName: 'flinkplane-flink-cluster-resource',
    });
    this.serviceToken = this.handler.function.functionArn;
    new CfnOutput(this, 'ServiceToken', {
      description: 'Service token of Custom::FlinkCluster (the FlinkCluster construct imports it)',
      value: this.serviceToken,
      exportName: props.exportName ?? FLINK_CLUSTER_PROVIDER_EXPORT,
    });
  }
}
