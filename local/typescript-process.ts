import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** How much of a child's output is kept for error messages. */
const OUTPUT_TAIL_CHARS = 4_000;

/** A Node child on a TypeScript entry, and the tail of what it printed. */
export type TypeScriptProcess = {
  readonly child: ChildProcess;
  /** The last 4,000 characters of its stdout and stderr, for error messages. */
  output(): string;
};

/**
 * Spawns `node` on a TypeScript entry with an IPC channel. stdin is ignored; stdout and stderr are drained (so the
 * child never blocks on a full pipe) into `output()`. tsx's ESM-only loader (`tsx/esm`; CommonJS dependencies load
 * natively) is resolved from this file, so it works from any working directory and under any parent loader (tsx,
 * vitest).
 */
export function spawnTypeScript(entry: string, args: readonly string[] = []): TypeScriptProcess {
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  const child = spawn(process.execPath, ['--import', loader, entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let tail = '';
  const remember = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  return { child, output: () => tail };
}
