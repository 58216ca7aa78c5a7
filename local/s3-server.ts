import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientConfigForEndpoint } from '../functions/adapters/s3-bucket-store.ts';
import { startStoreProcess } from './store-process.ts';

/**
 * s3rver's only account. For Signature V4 (what every current SDK sends) s3rver checks only that the access key id is
 * this one, not the signature; unsigned requests pass as anonymous.
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The account the local store's one account stands for: the `ExpectedBucketOwner` local bucket stores send. */
export const S3RVER_ACCOUNT_ID = '000000000000';

export type S3ServerOptions = {
  /** Where s3rver keeps buckets and objects. */
  directory: string;
  /** The address S3 clients connect to (the pod network's gateway when pods must reach it). @default 127.0.0.1 */
  host?: string;
  /** The port S3 clients connect to. @default a free one */
  port?: number;
};

export type S3Server = {
  /** `http://<host>:<port>`. */
  endpoint: string;
  /** A client for this server, configured by `s3ClientConfigForEndpoint`. */
  client: S3Client;
  /** The process id of the child process s3rver runs in. */
  readonly pid: number;
  /** Destroys the client and stops the server and its process (the directory is kept). */
  stop(): Promise<void>;
};

/**
 * Starts s3rver, silent, in a child process of its own on a free loopback port, as S3 is a service apart. The port is
 * that of a front (s3-front.ts) which decodes `aws-chunked` uploads, as Hadoop S3A sends them, before s3rver sees them.
 */
export async function startS3(options: S3ServerOptions): Promise<S3Server> {
  const host = options.host ?? '127.0.0.1';
  const store = await startStoreProcess({
    kind: 's3rver',
    options: {
      directory: options.directory,
      silent: true,
      host,
      ...(options.port ? { port: options.port } : {}),
    },
  });
  const endpoint = `http://${host}:${store.port}`;
  const client = new S3Client({
    ...s3ClientConfigForEndpoint(endpoint),
    credentials: S3RVER_CREDENTIALS,
    // Resolve each command's middleware stack once: less CPU per call.
    cacheMiddleware: true,
  });
  const stop = async () => {
    client.destroy();
    await store.stop();
  };
  return { endpoint, client, pid: store.pid, stop };
}
