import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../local/net.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/** `npm start`'s server (`tsx local/main.ts`) as a child process in its own process group. */
export interface LocalServer {
  readonly url: string;
  readonly adminToken: string;
  /** What the server printed, for failure messages. */
  output(): string;
  /** Stops the whole process group (tsx, node, ZooKeeper's JVM) and removes the data dir. */
  stop(): Promise<void>;
}

/**
 * Starts the local control plane with the console on a free port, a fresh data dir and simulated pods; resolves once
 * `/healthz` answers.
 */
export async function startLocalServer(adminToken: string): Promise<LocalServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-console-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    FLINKPLANE_DATA_DIR: dataDir,
    FLINKPLANE_ADMIN_TOKEN: adminToken,
    // The console is under test, not Flink: simulated pods are ready in ~50 ms where real JVMs take many seconds.
    FLINKPLANE_PODS: 'simulated',
  };
  // The console's expectations (e.g. the vhost domain) are the defaults; a developer's shell must not change them.
  delete env.FLINKPLANE_DOMAIN;
  delete env.FLINKPLANE_KUBECONFIG;
  delete env.KUBECONFIG;
  const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['local/main.ts'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const remember = (chunk: Buffer) => {
    chunks.push(chunk.toString('utf8'));
    if (chunks.length > 400) chunks.splice(0, chunks.length - 400);
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output = () => chunks.join('');
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    await stopGroup(child, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitForHealth(url, exited, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, adminToken, output, stop };
}

async function waitForHealth(url: string, exited: Promise<number | null>, output: () => string): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`local/main.ts exited with ${exitCode} before it was ready:\n${output()}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`local/main.ts did not answer /healthz within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

/** SIGTERM to the group (the server stops its stores), SIGKILL for whatever is still there after the timeout. */
async function stopGroup(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  const group = child.pid;
  if (group === undefined) return;
  const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-group, signal);
      return true;
    } catch {
      return false; // The group is gone.
    }
  };
  signalGroup('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS))]);
  // Children such as ZooKeeper's JVM may outlive the server by a moment; none may be left behind.
  const deadline = Date.now() + 2_000;
  while (signalGroup(0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  signalGroup('SIGKILL');
}
