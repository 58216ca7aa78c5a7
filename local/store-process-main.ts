/**
 * A store process: runs one local store (dynalite or s3rver) on 127.0.0.1 as a service of its own, so its CPU is not
 * spent on the control plane's event loop. `startStoreProcess` (store-process.ts) spawns it with an IPC channel and the
 * `StoreLaunch` as JSON in argv[2]; it answers `{ type: 'ready', port }`. It closes the store cleanly (dynalite flushes
 * LevelDB) and exits on a `stop` message and when the parent goes away (the channel disconnects); it leaves SIGINT and
 * SIGTERM to the parent.
 */
import { request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { startS3Front } from './s3-front.ts';
import type {
  DynaliteOptions,
  S3rverOptions,
  StoreLaunch,
  StoreReadyMessage,
  StoreStopMessage,
} from './store-process.ts';

// The stores are CommonJS: `require` loads them and their many dependencies natively, past tsx's ESM hooks (faster
// start), and each process loads only the store it runs.
const require = createRequire(import.meta.url);

/** A bound for the clean close when no parent is left to kill a stuck process. */
const CLOSE_TIMEOUT_MS = 10_000;

/** A store listening on loopback. */
type RunningStore = { port: number; close(): Promise<void> };

/** The part of s3rver's class used here (it ships no type declarations, nor does dynalite). */
type S3rver = { run(): Promise<{ port: number }>; close(): Promise<unknown> };

/** dynalite on a free port. */
async function startDynalite(options: DynaliteOptions): Promise<RunningStore> {
  const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;
  const server = dynalite(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await listTables(port);
  const close = async () => {
    // Keep-alive sockets would hold the graceful close open; dynalite's close then closes LevelDB.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };
  return { port, close };
}

/**
 * One ListTables call to a fresh dynalite. LevelDB opens lazily, so without it a data directory that cannot be opened
 * (not writable, or locked by another running dynalite) would crash the process at the control plane's first request
 * rather than fail the start.
 */
function listTables(port: number): Promise<void> {
  const headers = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'DynamoDB_20120810.ListTables',
    'x-amz-date': '20000101T000000Z',
    // dynalite wants the fields of a signature but does not check it.
    authorization:
      'AWS4-HMAC-SHA256 Credential=local/20000101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  };
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve()
          : reject(new Error(`ListTables answered ${response.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`)),
      );
      response.on('error', reject);
    });
    call.on('error', reject);
    call.end('{}');
  });
}

/** s3rver on a free port, behind the front that decodes what real S3 clients send and s3rver does not read. */
async function startS3rver(options: S3rverOptions): Promise<RunningStore> {
  const S3rverServer = require('s3rver') as new (options: S3rverOptions & { address: string; port: number }) => S3rver;
  const { host, port: frontPort, ...s3rverOptions } = options;
  const server = new S3rverServer({ ...s3rverOptions, address: '127.0.0.1', port: 0 });
  const { port } = await server.run();
  const front = await startS3Front(port, host, frontPort);
  const close = async () => {
    await front.close();
    await server.close();
  };
  return { port: front.port, close };
}

function startStore(launch: StoreLaunch): Promise<RunningStore> {
  return launch.kind === 'dynalite' ? startDynalite(launch.options) : startS3rver(launch.options);
}

function isStopMessage(message: unknown): message is StoreStopMessage {
  return typeof message === 'object' && message !== null && (message as Partial<StoreStopMessage>).type === 'stop';
}

/** Starts the store, reports its port to the parent and closes it when asked or when the parent is gone. */
function main(): void {
  const send = process.send?.bind(process);
  if (!send) {
    console.error('store-process-main.ts runs as a child of startStoreProcess (it needs an IPC channel)');
    process.exit(2);
  }
  const launch = JSON.parse(process.argv[2] ?? '') as StoreLaunch;
  const starting = startStore(launch);

  let shuttingDown = false;
  const shutdown = async () => {
    if (shuttingDown) return;
    shuttingDown = true;
    setTimeout(() => {
      console.error(`${launch.kind} did not close within ${CLOSE_TIMEOUT_MS} ms`);
      process.exit(1);
    }, CLOSE_TIMEOUT_MS).unref();
    try {
      const store = await starting.catch(() => undefined);
      await store?.close();
      process.exit(0);
    } catch (error) {
      console.error(`${launch.kind} failed to close:`, error);
      process.exit(1);
    }
  };
  process.on('message', (message) => {
    if (isStopMessage(message)) void shutdown();
  });
  process.on('disconnect', () => void shutdown());
  // Ctrl-C and a SIGTERM to the process group reach this process too, but the parent stops its stores in its own order
  // (after the control plane that still writes to them), and if it dies instead, the disconnect above ends this one.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);

  starting.then(
    ({ port }) => {
      const ready: StoreReadyMessage = { type: 'ready', port };
      if (!shuttingDown) send(ready);
    },
    (error: unknown) => {
      console.error(`${launch.kind} failed to start:`, error);
      process.exit(1);
    },
  );
}

main();
