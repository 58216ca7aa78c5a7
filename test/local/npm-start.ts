import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../../local/net.ts';

const REPO = new URL('../..', import.meta.url).pathname;

/** `npm start` as a user runs it: npm, its script, the plane and the plane's children. */
export interface NpmStart {
  /** The `npm` process itself: the one a user signals. */
  readonly npm: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Resolves with npm's exit code (or signal) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  output(): string;
}

/**
 * Runs `npm start` in the repository with the given environment (none of the FLINKPLANE_* settings is inherited) on
 * a free port, and resolves once /healthz answers. Rejects with the output when it exits first or stays silent 90 s.
 */
export async function startNpm(env: Readonly<Record<string, string>>): Promise<NpmStart> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  for (const name of Object.keys(childEnv))
    if (name.startsWith('FLINKPLANE_') || name === 'KUBECONFIG') delete childEnv[name];
  Object.assign(childEnv, env);
  const npm = spawn('npm', ['start'], { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const remember = (chunk: Buffer) => {
    text += chunk.toString('utf8');
  };
  npm.stdout!.on('data', remember);
  npm.stderr!.on('data', remember);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    npm.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (npm.exitCode !== null || npm.signalCode !== null || Date.now() > deadline)
      throw new Error(`npm start did not come up:\n${text}`);
    const healthy = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { npm, port, url, exited, output: () => text };
}

/** Runs `npm start` to its end (a start that fails) and answers its exit code and what it printed on each stream. */
export function runNpmStartToEnd(
  env: Readonly<Record<string, string>>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(childEnv))
    if (name.startsWith('FLINKPLANE_') || name === 'KUBECONFIG') delete childEnv[name];
  Object.assign(childEnv, env);
  const npm = spawn('npm', ['start'], { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  npm.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  npm.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve) => npm.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** A process in `ps`'s listing. */
export type ProcessRow = { readonly pid: number; readonly ppid: number; readonly args: string };

/** Every process below `pid`, with its parent and command line, from one `ps` listing. */
export function descendants(pid: number): ProcessRow[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), args: match[3]! }));
  const found: ProcessRow[] = [];
  const walk = (parent: number) => {
    for (const row of rows.filter((candidate) => candidate.ppid === parent)) {
      found.push(row);
      walk(row.pid);
    }
  };
  walk(pid);
  return found;
}

/** Whether the process runs: it exists and is not a zombie waiting to be reaped (PID 1 here may never reap it). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until none of the processes runs, or 30 s have passed; answers those still running. */
export async function whenGone(processes: readonly { pid: number; args: string }[]): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  let left = processes.filter((process) => isRunning(process.pid));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = left.filter((process) => isRunning(process.pid));
  }
  return left.map((process) => `${process.pid} ${process.args}`);
}

/** Whether a new server can listen on the port on 127.0.0.1. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
