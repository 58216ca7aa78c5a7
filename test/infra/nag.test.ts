import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthPlatform } from './support.ts';

const CONFIGURATIONS = {
  'imported cluster (defaults)': {},
  'created cluster with DNS, ALB OIDC and an existing ZooKeeper': {
    createEksCluster: true,
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com',
    albDnsName: 'k8s-flinkplane-0123456789.eu-west-1.elb.amazonaws.com',
    albHostedZoneId: 'Z32O12XQLNTSW2',
    oidcIssuer: 'https://idp.example.com',
    oidcAuthorizationEndpoint: 'https://idp.example.com/authorize',
    oidcTokenEndpoint: 'https://idp.example.com/token',
    oidcUserInfoEndpoint: 'https://idp.example.com/userinfo',
    zookeeperConnect: 'zk-1.internal:2181,zk-2.internal:2181,zk-3.internal:2181',
  },
} as const;

/** Every unacknowledged AwsSolutions finding (errors and warnings), as `rule at path`. */
function findings(synthesized: Synthesized): string[] {
  const report = new AwsSolutionsChecks().validateScope(synthesized.app);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
  );
}

describe.each(Object.entries(CONFIGURATIONS))('cdk-nag AwsSolutions on the %s', (_name, context) => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthPlatform(context);
  });

  it('leaves no finding unacknowledged', () => {
    expect(findings(synthesized)).toEqual([]);
  });

  it('acknowledges only named findings on specific constructs, each with a reason', () => {
    const acknowledgements = synthesized.app.node
      .findAll()
      .flatMap((node) =>
        node.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) =>
            Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
              path: node.node.path,
              id,
              reason,
            })),
          ),
      )
      // aws-cdk-lib acknowledges some of its own CloudFormation-Validate rules; ours are the AwsSolutions ones.
      .filter(({ id }) => id.includes('AwsSolutions'));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acknowledgements) {
      // Never the whole app or stack: every acknowledgement sits on the construct with the finding.
      expect(path.split('/').length, `${id} at ${path}`).toBeGreaterThan(1);
      expect(id).toMatch(/^(Annotation::)?AwsSolutions-[A-Z]+[0-9]+(\[.+\])?$/);
      expect(reason.length, `${id} at ${path}`).toBeGreaterThan(40);
    }
  });

  it('synthesizes without error annotations and without context lookups (no credentials needed)', () => {
    expect(Annotations.fromStack(synthesized.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(synthesized.app.synth().manifest.missing ?? []).toEqual([]);
  });
});
