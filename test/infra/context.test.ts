import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, ContextError, parseContext, readContext } from '../../infra/context.ts';
import { repoPath } from '../../infra/paths.ts';

const cdkJson = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseContext(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ContextError);
    return [...(error as ContextError).problems];
  }
  throw new Error('expected the context to be rejected');
}

describe('context settings', () => {
  it('fills the documented defaults', () => {
    expect(parseContext({})).toMatchObject({
      account: '111111111111',
      region: 'eu-west-1',
      bucketPrefix: 'flinkplane-tenant-',
      eksClusterName: 'flinkplane',
      createEksCluster: false,
      zookeeperConnect: '',
      jwtAudience: ['flinkplane-console'],
      tenantClaim: 'custom:tenant',
      operatorClaim: 'cognito:groups',
      operatorClaimValue: 'flinkplane-operators',
      throttlingRateLimit: 50,
      throttlingBurstLimit: 100,
      reconcileScheduleMinutes: 1,
      logRetentionDays: 30,
      zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      platformSettings: {},
    });
  });

  it('accepts the strings `cdk -c key=value` passes for numbers, booleans, lists and JSON', () => {
    expect(
      parseContext({
        createEksCluster: 'true',
        throttlingRateLimit: '20',
        throttlingBurstLimit: '40',
        jwtAudience: 'console, cli',
        zones: 'eu-west-1a,eu-west-1b',
        platformSettings: '{"storageClassName":"gp2"}',
      }),
    ).toMatchObject({
      createEksCluster: true,
      throttlingRateLimit: 20,
      throttlingBurstLimit: 40,
      jwtAudience: ['console', 'cli'],
      zones: ['eu-west-1a', 'eu-west-1b'],
      platformSettings: { storageClassName: 'gp2' },
    });
  });

  it('names every bad setting at once', () => {
    const problems = problemsOf({ throttlingRateLimit: 'fast', createEksCluster: 'yes', logRetentionDays: 42 });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/context "throttlingRateLimit"/);
    expect(problems.join('\n')).toMatch(/context "createEksCluster": must be true or false/);
    expect(problems.join('\n')).toMatch(/context "logRetentionDays": must be one of 1, 3, 5/);
  });

  it('rejects a bucket prefix that does not end with "tenant-"', () => {
    expect(problemsOf({ bucketPrefix: 'flinkplane-' })).toEqual([
      expect.stringMatching(/^context "bucketPrefix": .*ending with "tenant-"/),
    ]);
  });

  it('rejects zones outside the region and a non-https issuer', () => {
    expect(problemsOf({ zones: ['us-east-1a', 'eu-west-1b'], jwtIssuer: 'http://idp.example.com' })).toEqual([
      expect.stringMatching(/^context "jwtIssuer": must be an https URL/),
    ]);
    expect(problemsOf({ zones: ['us-east-1a', 'eu-west-1b'] })).toEqual([
      'context "zones": "us-east-1a" is not an availability zone of region eu-west-1',
    ]);
  });

  it('rejects settings that need a partner: hosted zone id and name, record and zone, all four OIDC endpoints', () => {
    expect(problemsOf({ hostedZoneId: 'Z0123' })).toEqual([
      'context "hostedZoneId" and "hostedZoneName" go together: give both or neither',
    ]);
    expect(problemsOf({ albDnsName: 'lb.example.com' })).toEqual([
      'context "albDnsName": needs "hostedZoneId" and "hostedZoneName" for the record',
    ]);
    expect(problemsOf({ oidcIssuer: 'https://idp.example.com' })).toEqual([
      'context "oidcAuthorizationEndpoint", "oidcTokenEndpoint", "oidcUserInfoEndpoint": the ALB login needs all four OIDC settings',
    ]);
    expect(problemsOf({ hostedZoneId: 'Z0123', hostedZoneName: 'other.org' })).toEqual([
      'context "platformDomain": flink.example.com is not inside hosted zone other.org',
    ]);
  });

  it('reads the settings from the app context', () => {
    const app = new App({ context: { eksClusterName: 'prod-eks', reconcileScheduleMinutes: '5' } });
    expect(readContext(app)).toMatchObject({ eksClusterName: 'prod-eks', reconcileScheduleMinutes: 5 });
  });
});

describe('cdk.json', () => {
  it('runs the app with tsx', () => {
    expect(cdkJson.app).toBe('npx tsx infra/app.ts');
  });

  it('lists every setting with its default value', () => {
    for (const key of CONTEXT_KEYS) expect(Object.keys(cdkJson.context), key).toContain(key);
    const settings = Object.fromEntries(CONTEXT_KEYS.map((key) => [key, cdkJson.context[key]]));
    expect(parseContext(settings)).toEqual(parseContext({}));
  });
});
