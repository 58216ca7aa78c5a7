import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { findOnPath, resolveZooKeeper } from './zookeeper-artifacts.ts';

const READY_TIMEOUT_MS = 30_000;

export type ZooKeeperServerOptions = {
  /** Directory for snapshots and logs; default a fresh temporary directory removed on stop. */
  dataDir?: string;
  /** The address the client port listens on, e.g. the pod network's bridge address. @default '127.0.0.1' */
  clientPortAddress?: string;
  /** Client port; default a free port on `clientPortAddress`. */
  port?: number;
  /** Where a first fetch of the jars reports progress. @default one line on stderr */
  progress?: (line: string) => void;
};

export type ZooKeeperServer = {
  /** The address clients connect to: `clientPortAddress`. */
  host: string;
  port: number;
  /** `<host>:<port>`, for clients. */
  connectString: string;
  dataDir: string;
  /** The JVM's process id, e.g. to read its CPU time. */
  pid: number | undefined;
  /** Stops the server and removes the data directory when it was created here. */
  stop(): Promise<void>;
};

/** Running servers and the data directory each owns (created here, removed on stop or exit). */
const running = new Map<ChildProcess, string | undefined>();
let exitHookInstalled = false;

/**
 * Starts a standalone ZooKeeper 3.8 and resolves once it serves. The jars are fetched from Maven Central on first
 * use; when that fails it rejects with a ZooKeeperUnavailableError naming the cause.
 */
export async function startZooKeeperServer(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  const zooKeeper = await resolveZooKeeper(options.progress ? { progress: options.progress } : {});
  const host = options.clientPortAddress ?? '127.0.0.1';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flinkplane-zk-')));
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await freePort(host));
  const configPath = join(dataDir, 'zoo.cfg');
  await writeFile(configPath, serverConfig(dataDir, host, port));

  const java = [
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-Dzookeeper.extendedTypesEnabled=true',
    // Reap TTL and container nodes every second rather than every minute, so local runs and tests see them go.
    '-Dznode.container.checkIntervalMs=1000',
    ...zooKeeper.jvmOptions,
    '-cp',
    zooKeeper.classpath,
    'org.apache.zookeeper.server.ZooKeeperServerMain',
    configPath,
  ];
  // setpriv's parent-death signal kills the JVM even when this process dies without running exit hooks.
  const setpriv = findOnPath('setpriv');
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', 'java', ...java], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('java', java, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, ownsDataDir ? dataDir : undefined);

  const output: string[] = [];
  const remember = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);

  const stop = async () => {
    await killChild(child);
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(child, host, port, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, port, connectString: `${host}:${port}`, dataDir, pid: child.pid, stop };
}

/** Sends a four-letter word and resolves with the whole answer; rejects on timeout. */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function serverConfig(dataDir: string, host: string, port: number): string {
  return [
    'tickTime=2000',
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    `clientPortAddress=${host}`,
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat',
    'maxClientCnxns=0',
    // TTL nodes need the extended session-id types.
    'extendedTypesEnabled=true',
    'reconfigEnabled=false',
    '',
  ].join('\n');
}

async function waitUntilReady(child: ChildProcess, host: string, port: number, output: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`ZooKeeper exited before it was ready:\n${output.join('').slice(-4000)}`);
    const answer = await fourLetterWord(host, port, 'ruok', 500).catch(() => '');
    // ruok answers before the server takes sessions; srvr tells when it actually serves.
    if (answer === 'imok' && (await isServing(host, port))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `ZooKeeper did not answer ruok on ${host}:${port} within ${READY_TIMEOUT_MS} ms:\n${output.join('').slice(-4000)}`,
  );
}

async function isServing(host: string, port: number): Promise<boolean> {
  const answer = await fourLetterWord(host, port, 'srvr', 500).catch(() => '');
  return answer.includes('Mode:');
}

function track(child: ChildProcess, ownedDataDir: string | undefined): void {
  running.set(child, ownedDataDir);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Exit handlers must be synchronous: kill what is still running and remove the data it owned.
  process.once('exit', () => {
    for (const [server, dataDir] of running) {
      server.kill('SIGKILL');
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
