import { createHash, createHmac, type Hmac, type Hash as NodeHash } from 'node:crypto';
import { type Cluster, DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, Checksum, HttpRequest, SourceData } from '@smithy/types';
import { FlinkplaneError } from '../core/errors.ts';
import type { Clock } from '../core/ports.ts';

/** The prefix aws-iam-authenticator (and `aws eks get-token`) put before the base64url presigned URL. */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** Presigned for 60 s; the API server accepts an EKS token for about 15 minutes after signing regardless. */
const PRESIGN_EXPIRES_SECONDS = 60;
/** Refresh well inside the ~15 minutes the API server accepts a token. */
export const TOKEN_REFRESH_AFTER_MS = 10 * 60 * 1000;

/** What a Kubernetes client needs to reach the EKS API server. */
export type EksKubeConfig = {
  /** The API server URL, e.g. `https://ABC.gr7.eu-west-1.eks.amazonaws.com`. */
  readonly server: string;
  /** The cluster CA bundle, base64 PEM, as EKS returns it. */
  readonly caData: string;
  /** A bearer token: `k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL. */
  readonly token: string;
};

export type EksConnectionOptions = {
  clusterName: string;
  region: string;
  eks: EKSClient;
  /** Whose identity the token carries; the role must have an EKS access entry. */
  credentials: AwsCredentialIdentityProvider;
  /** Default the system clock. */
  clock?: Clock;
};

export type EksConnection = {
  /** The endpoint and CA (described once) and a token (signed again after 10 minutes). */
  kubeConfig(): Promise<EksKubeConfig>;
  /** Drops the cached token, e.g. after the API server answered 401; the next `kubeConfig()` signs a new one. */
  invalidateToken(): void;
};

/** Connection details for an EKS cluster's API server, with the standard EKS bearer token. */
export function createEksConnection(options: EksConnectionOptions): EksConnection {
  const { clusterName, region, eks } = options;
  const clock = options.clock ?? { now: () => new Date() };
  let endpoint: Promise<{ server: string; caData: string }> | undefined;
  let token: { value: Promise<string>; signedAt: number } | undefined;

  function describe(): Promise<{ server: string; caData: string }> {
    endpoint ??= describeCluster(eks, clusterName).catch((error: unknown) => {
      endpoint = undefined;
      throw error;
    });
    return endpoint;
  }

  function currentToken(): Promise<string> {
    const now = clock.now();
    if (token === undefined || now.getTime() - token.signedAt >= TOKEN_REFRESH_AFTER_MS) {
      const value = createEksToken({ clusterName, region, credentials: options.credentials, signingDate: now });
      const entry = { value, signedAt: now.getTime() };
      value.catch(() => {
        if (token === entry) token = undefined;
      });
      token = entry;
    }
    return token.value;
  }

  return {
    async kubeConfig() {
      const [cluster, bearer] = await Promise.all([describe(), currentToken()]);
      return { ...cluster, token: bearer };
    },
    invalidateToken() {
      token = undefined;
    },
  };
}

export type EksTokenOptions = {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  signingDate: Date;
};

/**
 * The token `aws eks get-token` prints: a SigV4-presigned STS `GetCallerIdentity` GET with the signed header
 * `x-k8s-aws-id: <cluster>`, which the API server replays to STS to learn the caller.
 */
export async function createEksToken(options: EksTokenOptions): Promise<string> {
  const hostname = `sts.${options.region}.amazonaws.com`;
  const signer = new SignatureV4({
    service: 'sts',
    region: options.region,
    credentials: options.credentials,
    sha256: NodeSha256,
  });
  const request: HttpRequest = {
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, 'x-k8s-aws-id': options.clusterName },
  };
  const signed = await signer.presign(request, {
    expiresIn: PRESIGN_EXPIRES_SECONDS,
    signingDate: options.signingDate,
  });
  const url = `https://${hostname}/?${formatQuery(signed.query ?? {})}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

async function describeCluster(eks: EKSClient, clusterName: string): Promise<{ server: string; caData: string }> {
  let cluster: Cluster | undefined;
  try {
    cluster = (await eks.send(new DescribeClusterCommand({ name: clusterName }))).cluster;
  } catch (error) {
    throw new FlinkplaneError(
      'dependency_unavailable',
      `Could not describe EKS cluster ${clusterName}: ${error instanceof Error ? error.name : 'unknown error'}`,
      { clusterName },
      { cause: error },
    );
  }
  const { endpoint, certificateAuthority, status } = cluster ?? {};
  if (!endpoint || !certificateAuthority?.data) {
    throw new FlinkplaneError(
      'dependency_unavailable',
      `EKS cluster ${clusterName} has no API endpoint yet (status ${status ?? 'unknown'})`,
      { clusterName, status },
    );
  }
  return { server: endpoint, caData: certificateAuthority.data };
}

/** RFC 3986 query encoding, as SigV4 canonicalises it, so the server sees exactly the values that were signed. */
function formatQuery(query: Record<string, string | string[] | null>): string {
  const encode = (value: string) =>
    encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return Object.keys(query)
    .sort()
    .flatMap((key) => {
      const value = query[key];
      const values = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
      return values.map((entry) => `${encode(key)}=${encode(entry)}`);
    })
    .join('&');
}

/** SHA-256 and HMAC-SHA256 for the signer from node:crypto, so no extra crypto package is needed. */
class NodeSha256 implements Checksum {
  private readonly secret: Buffer | undefined;
  private hash: NodeHash | Hmac;

  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : toBuffer(secret);
    this.hash = this.fresh();
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): NodeHash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
