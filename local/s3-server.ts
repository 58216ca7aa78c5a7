import { S3Client } from '@aws-sdk/client-s3';
// @ts-expect-error s3rver ships no type declarations; the calls used here are typed below.
import S3rverModule from 's3rver';
import { s3ClientConfigForEndpoint } from '../functions/adapters/s3-bucket-store.ts';
import { freePort } from './net.ts';

type S3rverOptions = { address: string; port: number; silent: boolean; directory: string };
type S3rver = { run(): Promise<unknown>; close(): Promise<unknown> };
const S3rverServer = S3rverModule as new (options: S3rverOptions) => S3rver;

/** s3rver's only account; it checks request signatures against this key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export type S3ServerOptions = {
  /** Where s3rver keeps buckets and objects. */
  directory: string;
};

export type S3Server = {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A client for this server, configured by `s3ClientConfigForEndpoint`. */
  client: S3Client;
  /** Destroys the client and stops the server (the directory is kept). */
  stop(): Promise<void>;
};

/** Starts s3rver on a free loopback port, silent. */
export async function startS3(options: S3ServerOptions): Promise<S3Server> {
  const port = await freePort();
  const server = new S3rverServer({ address: '127.0.0.1', port, silent: true, directory: options.directory });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ ...s3ClientConfigForEndpoint(endpoint), credentials: S3RVER_CREDENTIALS });
  const stop = async () => {
    client.destroy();
    await server.close();
  };
  return { endpoint, client, stop };
}
