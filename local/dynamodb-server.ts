import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startStoreProcess } from './store-process.ts';

export type DynamoDbServerOptions = {
  /** LevelDB directory to keep the tables on disk; default in memory. */
  path?: string;
};

export type DynamoDbServer = {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A client for this server: dummy static credentials, region `local`. */
  client: DynamoDBClient;
  /** The process id of the child process dynalite runs in. */
  readonly pid: number;
  /** Destroys the client and stops the server (and its process; LevelDB is flushed). */
  stop(): Promise<void>;
};

/**
 * Starts dynalite in a child process of its own on a free loopback port, as DynamoDB is a service apart from the
 * control plane; tables become ACTIVE at once.
 */
export async function startDynamoDb(options: DynamoDbServerOptions = {}): Promise<DynamoDbServer> {
  const store = await startStoreProcess({
    kind: 'dynalite',
    options: {
      ...(options.path === undefined ? {} : { path: options.path }),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    },
  });
  const endpoint = `http://127.0.0.1:${store.port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // Resolve each command's middleware stack once: less CPU per call.
    cacheMiddleware: true,
  });
  const stop = async () => {
    client.destroy();
    await store.stop();
  };
  return { endpoint, client, pid: store.pid, stop };
}
