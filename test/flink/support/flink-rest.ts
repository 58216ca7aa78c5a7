import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** The parts of Flink's REST answers the tests read (same in 1.20 and 2.x). */
export type CheckpointRef = { id: number; external_path: string };
export type CheckpointingStatistics = {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  latest: {
    completed: (CheckpointRef & { status: string }) | null;
    restored: (CheckpointRef & { restore_timestamp: number }) | null;
  };
};
export type JobDetails = { jid: string; name: string; state: string };

/** Raised for an answer other than 2xx; carries the status and body. */
export class FlinkRestError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what} answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'FlinkRestError';
  }
}

/** A small client for a Flink cluster's REST API at `baseUrl` (`http://127.0.0.1:8081`). */
export function createFlinkRest(baseUrl: string) {
  const call = async <T>(method: string, path: string, body?: string | FormData, json = true): Promise<T> => {
    const headers: Record<string, string> = json && body !== undefined ? { 'content-type': 'application/json' } : {};
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body ?? null });
    const text = await response.text();
    if (!response.ok) throw new FlinkRestError(response.status, text, `${method} ${path}`);
    return JSON.parse(text) as T;
  };
  return {
    /** `POST /jars/upload` (multipart, part `jarfile`); answers the jar id to run it by. */
    async uploadJar(jarPath: string): Promise<string> {
      const form = new FormData();
      form.append('jarfile', new Blob([await readFile(jarPath)]), basename(jarPath));
      const { filename } = await call<{ filename: string }>('POST', '/jars/upload', form, false);
      return basename(filename);
    },
    /** `POST /jars/<id>/run`; answers the job id. */
    async runJar(jarId: string, options: { programArgs?: string[]; parallelism?: number; entryClass?: string } = {}) {
      const body = JSON.stringify({
        programArgsList: options.programArgs ?? [],
        ...(options.parallelism ? { parallelism: options.parallelism } : {}),
        ...(options.entryClass ? { entryClass: options.entryClass } : {}),
      });
      const { jobid } = await call<{ jobid: string }>('POST', `/jars/${encodeURIComponent(jarId)}/run`, body);
      return jobid;
    },
    /** `GET /overview`: the number of registered TaskManagers (503 while the leader is being elected). */
    async taskManagers(): Promise<number> {
      return (await call<{ taskmanagers: number }>('GET', '/overview')).taskmanagers;
    },
    job: (jobId: string) => call<JobDetails>('GET', `/jobs/${jobId}`),
    checkpoints: (jobId: string) => call<CheckpointingStatistics>('GET', `/jobs/${jobId}/checkpoints`),
  };
}

export type FlinkRest = ReturnType<typeof createFlinkRest>;

/**
 * Polls `probe` until it answers a value (not undefined), every 250 ms, for at most `timeoutMs`. Errors count as "not
 * yet" (a REST endpoint restarting, a leader being elected); the last one is in the timeout's message.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`${what}: not within ${timeoutMs} ms${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
