import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';

const JAVA_DIR = '/usr/share/java';
// zookeeper.jar's manifest Class-Path pulls in jute, netty, slf4j-api and the rest; slf4j-simple gives it a logger.
const SERVER_JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-simple.jar'];
const READY_TIMEOUT_MS = 30_000;

/** The message shown when the Debian ZooKeeper server or a JDK is missing. */
export const ZOOKEEPER_INSTALL_HINT =
  'ZooKeeper 3.8 is not installed: run `apt-get install zookeeper default-jdk-headless` (Debian package, jars in /usr/share/java).';

export type ZooKeeperServerOptions = {
  /** Directory for snapshots and logs; default a fresh temporary directory removed on stop. */
  dataDir?: string;
  /** Client port on 127.0.0.1; default a free port. */
  port?: number;
};

export type ZooKeeperServer = {
  host: '127.0.0.1';
  port: number;
  /** `127.0.0.1:<port>`, for clients. */
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

/** True when the Debian ZooKeeper jars and a `java` binary are present. */
export function isZooKeeperInstalled(): boolean {
  return SERVER_JARS.every((jar) => existsSync(join(JAVA_DIR, jar))) && findOnPath('java') !== undefined;
}

/** The classpath that runs the Debian ZooKeeper server and its Java CLI. */
export function zooKeeperClasspath(): string {
  return SERVER_JARS.map((jar) => join(JAVA_DIR, jar)).join(':');
}

/** Starts a standalone ZooKeeper 3.8 on loopback and resolves once it answers `ruok`. */
export async function startZooKeeperServer(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  if (!isZooKeeperInstalled()) throw new Error(ZOOKEEPER_INSTALL_HINT);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flinkplane-zk-')));
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const configPath = join(dataDir, 'zoo.cfg');
  await writeFile(configPath, serverConfig(dataDir, port));

  const java = [
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-Dzookeeper.extendedTypesEnabled=true',
    // Reap TTL and container nodes every second rather than every minute, so local runs and tests see them go.
    '-Dznode.container.checkIntervalMs=1000',
    '-cp',
    zooKeeperClasspath(),
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
    await waitUntilReady(child, port, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: '127.0.0.1', port, connectString: `127.0.0.1:${port}`, dataDir, pid: child.pid, stop };
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

function serverConfig(dataDir: string, port: number): string {
  return [
    'tickTime=2000',
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat',
    'maxClientCnxns=0',
    // TTL nodes need the extended session-id types.
    'extendedTypesEnabled=true',
    'reconfigEnabled=false',
    '',
  ].join('\n');
}

async function waitUntilReady(child: ChildProcess, port: number, output: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`ZooKeeper exited before it was ready:\n${output.join('').slice(-4000)}`);
    const answer = await fourLetterWord('127.0.0.1', port, 'ruok', 500).catch(() => '');
    // ruok answers before the server takes sessions; srvr tells when it actually serves.
    if (answer === 'imok' && (await isServing(port))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `ZooKeeper did not answer ruok on port ${port} within ${READY_TIMEOUT_MS} ms:\n${output.join('').slice(-4000)}`,
  );
}

async function isServing(port: number): Promise<boolean> {
  const answer = await fourLetterWord('127.0.0.1', port, 'srvr', 500).catch(() => '');
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

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}
