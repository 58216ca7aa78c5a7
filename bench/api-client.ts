import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnTypeScript } from '../local/typescript-process.ts';

/** One API request the client sends, and the status it expects. */
export type ApiRequest = { method: string; path: string; token: string; body?: unknown; expect: number };

/** Parent → client: send these requests, `concurrency` at a time. */
export type ApiClientRun = { type: 'run'; id: number; url: string; requests: ApiRequest[]; concurrency: number };

/** Client → parent: each request's latency (ms) and status, in request order, and the first unexpected answer. */
export type ApiClientDone = {
  type: 'done';
  id: number;
  latencies: number[];
  statuses: number[];
  firstUnexpected?: string;
};

type ApiClientFailed = { type: 'failed'; id: number; error: string };

/** The benchmark's API client, running in a child process so its CPU is not charged to the control plane. */
export type ApiClient = {
  /** Sends the requests; rejects naming the first answer whose status was not the expected one. */
  run(url: string, requests: ApiRequest[], concurrency: number): Promise<Float64Array>;
  stop(): Promise<void>;
};

const ENTRY = fileURLToPath(new URL('./api-client-main.ts', import.meta.url));

/** Starts the client process once it listens; it exits when `stop` closes its channel or this process goes away. */
export async function startApiClient(): Promise<ApiClient> {
  const { child, output } = spawnTypeScript(ENTRY);
  const exited = once(child, 'exit');
  const exitedEarly = exited.then(() =>
    Promise.reject(new Error(`API client exited before it was ready:\n${output()}`)),
  );
  exitedEarly.catch(() => undefined);
  await Promise.race([once(child, 'message'), exitedEarly]);
  let nextId = 0;
  return {
    async run(url, requests, concurrency) {
      const id = nextId++;
      const answer = new Promise<ApiClientDone>((resolve, reject) => {
        const onMessage = (message: ApiClientDone | ApiClientFailed) => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (message.type === 'failed') reject(new Error(`API client: ${message.error}`));
          else resolve(message);
        };
        const onExit = () => reject(new Error(`API client exited:\n${output()}`));
        child.on('message', onMessage);
        child.once('exit', onExit);
      });
      const message: ApiClientRun = { type: 'run', id, url, requests, concurrency };
      child.send(message);
      const done = await answer;
      if (done.firstUnexpected) throw new Error(done.firstUnexpected);
      return Float64Array.from(done.latencies);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect();
        await exited;
      }
    },
  };
}
