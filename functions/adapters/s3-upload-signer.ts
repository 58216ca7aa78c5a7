import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, Provider, SourceData } from '@smithy/types';
import type { PresignedPut, UploadSigner } from '../core/ports.ts';

export type S3UploadSignerOptions = {
  /** The credentials the URL acts with; their role must be allowed to write the key (and only under `jars/`). */
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  region: string;
  /**
   * Where the URL points. @default `https://<bucket>.s3.<region>.amazonaws.com` (virtual-hosted); with an endpoint
   * (the local S3 server) path-style `<endpoint>/<bucket>/<key>`.
   */
  endpoint?: string;
  /** @default the clock */
  now?: () => Date;
};

/**
 * S3 presigned PUT URLs (Signature V4 in the query string, the payload unsigned as S3 presigned URLs have it). The
 * headers given are signed and kept as headers, so the client must send them unchanged; the bucket and the key are in
 * the signed path. S3 refuses the URL for any other bucket, key, length or name.
 */
export function createS3UploadSigner(options: S3UploadSignerOptions): UploadSigner {
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region,
    service: 's3',
    sha256: NodeSha256,
    // S3 signs the path as sent: no second round of escaping.
    uriEscapePath: false,
    applyChecksum: false,
  });
  const now = options.now ?? (() => new Date());
  return {
    async presignPut(bucket, key, headers, expiresInSeconds): Promise<PresignedPut> {
      const base = options.endpoint
        ? new URL(`${options.endpoint.replace(/\/+$/, '')}/${bucket}`)
        : new URL(`https://${bucket}.s3.${options.region}.amazonaws.com`);
      const path = `${base.pathname.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
      const signingDate = now();
      const signed = await signer.presign(
        {
          method: 'PUT',
          protocol: base.protocol,
          hostname: base.hostname,
          ...(base.port ? { port: Number(base.port) } : {}),
          path,
          query: {},
          headers: { ...headers, host: base.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        },
        { expiresIn: expiresInSeconds, signingDate, unhoistableHeaders: new Set(Object.keys(headers)) },
      );
      const url = new URL(`${base.protocol}//${base.host}${path}`);
      for (const [name, value] of Object.entries(signed.query ?? {})) {
        if (typeof value === 'string') url.searchParams.set(name, value);
      }
      return {
        url: url.toString(),
        headers: { ...headers },
        expiresAt: new Date(signingDate.getTime() + expiresInSeconds * 1000).toISOString(),
      };
    },
  };
}

/** SHA-256 (or its HMAC with a secret) from node:crypto, in the shape the signer asks for. */
class NodeSha256 implements Checksum {
  private readonly secret: SourceData | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.secret = secret;
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret : Buffer.from(this.secret as Uint8Array);
    return createHmac('sha256', key);
  }
}
