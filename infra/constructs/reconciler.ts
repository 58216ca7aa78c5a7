import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { FlinkplaneFunction, type FlinkplaneFunctionProps } from './flinkplane-function.ts';

export interface ReconcilerProps {
  /** The house function settings (role, environment, log retention); entry and name are set here. */
  readonly function: Omit<FlinkplaneFunctionProps, 'entry' | 'serviceName'>;
  /**
   * How often the reconciler runs.
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;
}

/**
 * The reconciler on an EventBridge schedule: it refreshes every cluster's status and re-drives operations a crash
 * left behind. Runs that overlap are safe (leases and conditional writes), so there is no reserved concurrency, and a
 * missed run is made up by the next one, so failed invocations are not retried.
 */
export class Reconciler extends Construct {
  readonly handler: FlinkplaneFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const schedule = props.schedule ?? Duration.minutes(1);
    this.handler = new FlinkplaneFunction(this, 'Handler', {
      // A run may not outlast the next tick by much; 2 minutes leaves room for a slow Kubernetes API.
      timeout: Duration.minutes(2),
      description: 'Flinkplane reconciler',
      ...props.function,
      entry: 'functions/handlers/reconciler.ts',
      serviceName: 'flinkplane-reconciler',
    });
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the Flinkplane reconciler',
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.handler.function, { retryAttempts: 0, maxEventAge: schedule })],
    });
  }
}
