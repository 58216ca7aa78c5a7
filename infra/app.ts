import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readContext } from './context.ts';
import { PlatformStack } from './platform-stack.ts';

/** The CDK app: one platform stack; cdk-nag's AWS Solutions checks fail the synth on any unacknowledged finding. */
const app = new App();
const settings = readContext(app);
new PlatformStack(app, 'FlinkplanePlatform', {
  env: { account: settings.account, region: settings.region },
  description: 'Flinkplane: a Flink session cluster per tenant on Amazon EKS',
  settings,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
