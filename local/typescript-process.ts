import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Spawns `node` on a TypeScript entry with an IPC channel (stdin ignored, stdout and stderr piped, for the caller to
 * drain). tsx's ESM-only loader (`tsx/esm`; CommonJS dependencies are loaded natively) is resolved from this file, so it
 * works from any working directory and under any parent loader (tsx, vitest).
 */
export function spawnTypeScript(entry: string, args: readonly string[] = []): ChildProcess {
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  return spawn(process.execPath, ['--import', loader, entry, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
}
