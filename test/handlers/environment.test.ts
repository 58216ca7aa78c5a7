import { describe, expect, it } from 'vitest';
import { dependencyDeadlines } from '../../functions/adapters/deadlines.ts';
import { parseLambdaEnvironment } from '../../functions/handlers/environment.ts';

/** One valid Lambda environment, as the stack sets it; each test changes one thing. */
const VALID = {
  CLUSTER_TABLE: 'flinkplane-clusters',
  PLATFORM_SETTINGS: JSON.stringify({ domain: 'flink.example.com' }),
  EKS_CLUSTER_NAME: 'platform',
  TENANT_ROLE_ARN: 'arn:aws:iam::123456789012:role/flinkplane-tenant-pods',
  PLATFORM_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:flinkplane-platform-key',
  AWS_REGION: 'eu-west-1',
  LAMBDA_TIMEOUT_SECONDS: '29',
};

describe('parseLambdaEnvironment', () => {
  it('takes the bucket owner from the account of the tenant-pod role', () => {
    expect(parseLambdaEnvironment(VALID).accountId).toBe('123456789012');
  });

  it('refuses a tenant-pod role ARN that names no account', () => {
    expect(() => parseLambdaEnvironment({ ...VALID, TENANT_ROLE_ARN: 'arn:aws:iam:::role/x' })).toThrow(
      /TENANT_ROLE_ARN names no 12-digit account id/,
    );
  });

  it('reads the function timeout the deadlines derive from, and refuses one Lambda cannot have', () => {
    expect(parseLambdaEnvironment(VALID).LAMBDA_TIMEOUT_SECONDS).toBe(29);
    expect(() => parseLambdaEnvironment({ ...VALID, LAMBDA_TIMEOUT_SECONDS: '901' })).toThrow(/LAMBDA_TIMEOUT_SECONDS/);
  });
});

describe('dependencyDeadlines', () => {
  it.each([3_000, 29_000, 120_000, 900_000])(
    'keeps every dependency, all attempts included, within a third of a %i ms timeout',
    (timeoutMs) => {
      const deadlines = dependencyDeadlines(timeoutMs);
      const third = timeoutMs / 3;
      const { aws, kubernetes, zookeeper, tunnel } = deadlines;
      expect(aws.maxAttempts * (aws.connectionTimeoutMs + aws.requestTimeoutMs)).toBeLessThanOrEqual(third);
      // The applier's back-off before the 2nd and 3rd attempts is at most 1.5 × base × (1 + 2).
      expect(kubernetes.attempts * kubernetes.requestTimeoutMs + 4.5 * kubernetes.backoffMs).toBeLessThanOrEqual(third);
      // Through the tunnel: a pod list and a forward, then the session and one request.
      expect(2 * tunnel.apiTimeoutMs + zookeeper.connectTimeoutMs + zookeeper.requestTimeoutMs).toBeLessThanOrEqual(
        third,
      );
    },
  );

  it('gives no attempt more than 10 s, however long the Lambda may run', () => {
    const { aws, kubernetes, zookeeper, tunnel } = dependencyDeadlines(900_000);
    const longest = Math.max(
      aws.connectionTimeoutMs + aws.requestTimeoutMs,
      kubernetes.requestTimeoutMs,
      zookeeper.connectTimeoutMs,
      zookeeper.requestTimeoutMs,
      tunnel.apiTimeoutMs,
    );
    expect(longest).toBe(10_000);
  });
});
