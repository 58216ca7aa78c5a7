import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTypeScript } from './typescript-process.ts';

/** How long a store process may take to report its port. */
const READY_TIMEOUT_MS = 30_000;
/** How long `stop` waits for a store process to close its store and exit before it kills it. */
const STOP_TIMEOUT_MS = 5_000;

/** dynalite's settings, as `dynalite(options)` takes them. */
export type DynaliteOptions = { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number };

/** s3rver's settings, less the address and port, which the store process picks. */
/** `host`: where S3 clients reach the store (its front); s3rver itself stays on loopback. @default 127.0.0.1 */
export type S3rverOptions = {
  directory: string;
  silent: boolean;
  host?: string;
  port?: number;
};

/** Which store a store process runs and with what settings; passed to it as JSON on its command line. */
export type StoreLaunch = { kind: 'dynalite'; options: DynaliteOptions } | { kind: 's3rver'; options: S3rverOptions };

/** Store process → parent, once the store listens on 127.0.0.1. */
export type StoreReadyMessage = { type: 'ready'; port: number };

/** Parent → store process: close the store cleanly and exit. */
export type StoreStopMessage = { type: 'stop' };

/** A local store running in a child Node process of its own, as a separate service would. */
export type StoreProcess = {
  /** The store's port on 127.0.0.1. */
  readonly port: number;
  /** The child's process id. */
  readonly pid: number;
  /** Asks the child to close its store and exit; kills it if it has not exited within 5 s. */
  stop(): Promise<void>;
};

/** The child's entry point, next to this file. */
const ENTRY = fileURLToPath(new URL('./store-process-main.ts', import.meta.url));

/**
 * Starts a store in a child Node process (`store-process-main.ts`, run through tsx's loader) and resolves once it
 * reports its port. The child exits by itself when this process goes away. Rejects with the child's output when it
 * exits or fails before it is ready.
 */
export async function startStoreProcess(launch: StoreLaunch): Promise<StoreProcess> {
  const { child, output } = spawnTypeScript(ENTRY, [JSON.stringify(launch)]);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await stopChild(child, closed);
  };
  let port: number;
  try {
    port = await waitForReady(child, launch.kind, output);
  } catch (error) {
    await stop();
    throw error;
  }
  child.once('close', (code, signal) => {
    // A store that dies under the control plane shows up as connection errors; say why, once.
    if (!stopping) console.error(`${launch.kind} process exited unexpectedly (${signal ?? code}):\n${output()}`);
  });
  return { port, pid: child.pid!, stop };
}

/** Resolves with the port the child reports; rejects if it fails to spawn, exits or stays silent first. */
function waitForReady(child: ChildProcess, kind: StoreLaunch['kind'], output: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('error', onError);
      child.off('close', onClose);
      outcome();
    };
    const onMessage = (message: unknown) => {
      if (isReadyMessage(message)) settle(() => resolve(message.port));
    };
    const onError = (error: Error) =>
      settle(() => reject(new Error(`${kind} process failed to start: ${error.message}`, { cause: error })));
    // `close` comes after the last output, so the message carries all of it.
    const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => reject(new Error(`${kind} process exited (${signal ?? code}) before it was ready:\n${output()}`)));
    const timer = setTimeout(
      () => settle(() => reject(new Error(`${kind} process not ready within ${READY_TIMEOUT_MS} ms:\n${output()}`))),
      READY_TIMEOUT_MS,
    );
    child.on('message', onMessage);
    child.once('error', onError);
    child.once('close', onClose);
  });
}

function isReadyMessage(message: unknown): message is StoreReadyMessage {
  const candidate = message as Partial<StoreReadyMessage> | null;
  return typeof candidate === 'object' && candidate?.type === 'ready' && typeof candidate.port === 'number';
}

/** Sends the stop message and waits for the child to be gone, killing it after `STOP_TIMEOUT_MS`. */
async function stopChild(child: ChildProcess, closed: Promise<void>): Promise<void> {
  if (child.pid === undefined) return; // never spawned: nothing runs
  const running = child.exitCode === null && child.signalCode === null;
  const stopMessage: StoreStopMessage = { type: 'stop' };
  // A send error means the channel is already gone, and the child leaves by itself on disconnect.
  if (running && child.connected) child.send(stopMessage, () => undefined);
  const timer = running ? setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS) : undefined;
  await closed;
  clearTimeout(timer);
}
