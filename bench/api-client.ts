import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnTypeScript } from '../local/typescript-process.ts';

/** One API request the client sends, and the status it expects. */
export type ApiRequest = { method: string; path: string; token: string; body?: unknown; expect: number };

/** Parent → client: send these requests, `concurrency` at a time; `keepBodies` to have the answers' bodies back. */
export type ApiClientRun = {
  type: 'run';
  id: number;
  url: string;
  requests: ApiRequest[];
  concurrency: number;
  keepBodies: boolean;
};

/** Client → parent: each request's latency (ms) and, if kept, body, in request order; the first unexpected answer. */
export type ApiClientDone = {
  type: 'done';
  id: number;
  latencies: number[];
  bodies?: string[];
  firstUnexpected?: string;
};

/** What a run answers: each request's latency in ms and, when asked for, each answer's body, in request order. */
export type ApiClientResult = { latencies: Float64Array; bodies: string[] };

type ApiClientFailed = { type: 'failed'; id: number; error: string };

/** The benchmark's API client, running in a child process so its CPU is not charged to the control plane. */
export type ApiClient = {
  /** Sends the requests; rejects naming the first answer whose status was not the expected one. */
  run(
    url: string,
    requests: ApiRequest[],
    concurrency: number,
    options?: { keepBodies?: boolean },
  ): Promise<ApiClientResult>;
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
    async run(url, requests, concurrency, options = {}) {
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
      const message: ApiClientRun = {
        type: 'run',
        id,
        url,
        requests,
        concurrency,
        keepBodies: options.keepBodies ?? false,
      };
      child.send(message);
      const done = await answer;
      if (done.firstUnexpected) throw new Error(done.firstUnexpected);
      return { latencies: Float64Array.from(done.latencies), bodies: done.bodies ?? [] };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect();
        await exited;
      }
    },
  };
}
