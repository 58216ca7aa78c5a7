import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEksConnection, TOKEN_REFRESH_AFTER_MS } from '../../functions/adapters/eks-connection.ts';
import { FlinkplaneError } from '../../functions/core/errors.ts';
import { type EksApiStandin, startEksApiStandin } from './eks-api-standin.ts';

const REGION = 'eu-west-1';
const CLUSTER = 'flinkplane-prod';
const CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLE+/session==token',
};
const CA_DATA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n').toString('base64');

let eks: EksApiStandin;

beforeAll(async () => {
  eks = await startEksApiStandin({
    region: REGION,
    clusters: [
      { name: CLUSTER, endpoint: 'https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com', caData: CA_DATA },
      { name: 'still-creating', status: 'CREATING' },
    ],
  });
});

afterAll(async () => {
  await eks?.stop();
});

function fakeClock(start: string) {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

function connection(clock = fakeClock('2025-01-02T03:04:05Z'), clusterName = CLUSTER) {
  return createEksConnection({
    clusterName,
    region: REGION,
    eks: eks.client,
    credentials: async () => CREDENTIALS,
    clock,
  });
}

/** Decodes an EKS token back into its presigned URL. */
function decodeToken(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const encoded = token.slice('k8s-aws-v1.'.length);
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

/**
 * SigV4 for a presigned GET, written out here from the AWS specification with node:crypto, independently of the
 * signer the adapter uses, so a wrong canonical request, scope or key derivation in the adapter fails the test.
 */
function expectedSignature(url: URL, headers: Record<string, string>, secretAccessKey: string): string {
  const rfc3986 = (value: string) =>
    encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...url.searchParams.entries()]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => [rfc3986(key), rfc3986(value)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    'GET',
    url.pathname,
    query,
    ...names.map((name) => `${name}:${headers[name]}`),
    '',
    names.join(';'),
    createHash('sha256').update('').digest('hex'),
  ].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date')!;
  const [, date, region, service, terminator] = url.searchParams.get('X-Amz-Credential')!.split('/');
  const scope = `${date}/${region}/${service}/${terminator}`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date!), region!), service!), terminator!);
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex');
}

describe('kubeConfig', () => {
  it('returns the endpoint and CA from DescribeCluster and describes the cluster once', async () => {
    const conn = connection();
    const before = eks.requests.filter((request) => request === `GET /clusters/${CLUSTER}`).length;
    const first = await conn.kubeConfig();
    await conn.kubeConfig();
    expect(first.server).toBe('https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com');
    expect(first.caData).toBe(CA_DATA);
    expect(eks.requests.filter((request) => request === `GET /clusters/${CLUSTER}`).length - before).toBe(1);
  });

  it('fails with dependency_unavailable while the cluster has no endpoint', async () => {
    const error = await connection(undefined, 'still-creating')
      .kubeConfig()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FlinkplaneError);
    expect(error).toMatchObject({ code: 'dependency_unavailable', details: { status: 'CREATING' } });
  });

  it('fails with dependency_unavailable for an unknown cluster and asks again next time', async () => {
    const conn = connection(undefined, 'missing');
    await expect(conn.kubeConfig()).rejects.toMatchObject({ code: 'dependency_unavailable' });
    await expect(conn.kubeConfig()).rejects.toMatchObject({ code: 'dependency_unavailable' });
    expect(eks.requests.filter((request) => request === 'GET /clusters/missing')).toHaveLength(2);
  });
});

describe('the EKS bearer token', () => {
  it('is a presigned STS GetCallerIdentity URL for the cluster, valid 60 s', async () => {
    const { token } = await connection().kubeConfig();
    const url = decodeToken(token);
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const query = Object.fromEntries(url.searchParams.entries());
    expect(query).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20250102/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20250102T030405Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Security-Token': CREDENTIALS.sessionToken,
    });
    expect(query['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('carries a signature that verifies with SigV4 computed independently', async () => {
    const { token } = await connection().kubeConfig();
    const url = decodeToken(token);
    const headers = { host: 'sts.eu-west-1.amazonaws.com', 'x-k8s-aws-id': CLUSTER };
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, headers, CREDENTIALS.secretAccessKey));
    // The check can fail: another secret, or another cluster id, gives another signature.
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(expectedSignature(url, headers, 'another-secret'));
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(
      expectedSignature(url, { ...headers, 'x-k8s-aws-id': 'other-cluster' }, CREDENTIALS.secretAccessKey),
    );
  });

  it('is reused until the refresh threshold and signed anew after it', async () => {
    const clock = fakeClock('2025-01-02T03:04:05Z');
    const conn = connection(clock);
    const first = (await conn.kubeConfig()).token;
    clock.advance(TOKEN_REFRESH_AFTER_MS - 1000);
    expect((await conn.kubeConfig()).token).toBe(first);
    clock.advance(1000);
    const second = (await conn.kubeConfig()).token;
    expect(second).not.toBe(first);
    expect(decodeToken(second).searchParams.get('X-Amz-Date')).toBe('20250102T031405Z');
    expect(TOKEN_REFRESH_AFTER_MS).toBeLessThan(15 * 60 * 1000);
  });

  it('is signed anew after invalidateToken, as after a 401', async () => {
    const clock = fakeClock('2025-01-02T03:04:05Z');
    const conn = connection(clock);
    const first = (await conn.kubeConfig()).token;
    clock.advance(5000);
    expect((await conn.kubeConfig()).token).toBe(first);
    conn.invalidateToken();
    const renewed = (await conn.kubeConfig()).token;
    expect(decodeToken(renewed).searchParams.get('X-Amz-Date')).toBe('20250102T030410Z');
  });
});
