import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no type declarations; the one call used here is typed below.
import dynaliteModule from 'dynalite';
import { freePort } from './net.ts';

type DynaliteOptions = { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number };
const dynalite = dynaliteModule as (options: DynaliteOptions) => Server;

export type DynamoDbServerOptions = {
  /** LevelDB directory to keep the tables on disk; default in memory. */
  path?: string;
};

export type DynamoDbServer = {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A client for this server: dummy static credentials, region `local`. */
  client: DynamoDBClient;
  /** Destroys the client and stops the server. */
  stop(): Promise<void>;
};

/** Starts dynalite on a free loopback port; tables become ACTIVE at once. */
export async function startDynamoDb(options: DynamoDbServerOptions = {}): Promise<DynamoDbServer> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const stop = async () => {
    client.destroy();
    // Keep-alive sockets would hold the graceful close open.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };
  return { endpoint, client, stop };
}
