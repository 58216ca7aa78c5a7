import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type MavenSet, resolveMavenSet } from '../../../local/maven/resolve.ts';
import { resolveZooKeeper } from '../../../local/zookeeper-artifacts.ts';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const CACHE_DIR = join(here, '../../../node_modules/.cache/flinkplane-java');
// Short-lived test JVMs: C1 only and the serial collector start fastest.
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m'];

/**
 * Curator as Flink 1.20 bundles it (flink-shaded-zookeeper-3: Curator 5.4.0), from Maven Central. Its own ZooKeeper
 * client and logging are left out: the driver runs on the ZooKeeper set's client, the same jars as the server.
 */
export const CURATOR_ARTIFACTS: MavenSet = {
  label: 'Curator 5.4.0',
  name: 'curator-5.4.0',
  artifacts: ['org.apache.curator:curator-recipes:5.4.0'],
  exclusions: ['org.apache.zookeeper:*', 'org.slf4j:*'],
};

/** The classpath of the Curator driver: Curator, Guava, then the ZooKeeper client and its logging. */
export async function curatorClasspath(): Promise<string> {
  const [curator, zooKeeper] = await Promise.all([resolveMavenSet(CURATOR_ARTIFACTS), resolveZooKeeper()]);
  return [...curator.jars.map((jar) => join(curator.dir, jar)), zooKeeper.classpath].join(':');
}

/** Compiles a Java source once per content hash into node_modules/.cache; returns the class directory. */
export async function compileJava(sourcePath: string, classpath: string): Promise<string> {
  const source = await readFile(sourcePath);
  const hash = createHash('sha256').update(source).update(classpath).digest('hex').slice(0, 16);
  const outDir = join(CACHE_DIR, hash);
  if (existsSync(outDir)) return outDir;
  await mkdir(CACHE_DIR, { recursive: true });
  // Compile into a private directory and rename: two test files may compile at once.
  const tempDir = await mkdtemp(join(CACHE_DIR, 'tmp-'));
  await run('javac', ['-nowarn', '-cp', classpath, '-d', tempDir, sourcePath]);
  try {
    await rename(tempDir, outDir);
  } catch {
    await rm(tempDir, { recursive: true, force: true });
  }
  return outDir;
}

export type DriverEvent = Record<string, string> & { event: string };
export type DriverReply = { id: number; ok: boolean; error?: string } & Record<string, unknown>;

/** A running CuratorDriver JVM: send commands for named clients, await replies and events. */
export type CuratorDriver = {
  send(client: string, command: string, ...args: string[]): Promise<DriverReply>;
  /** Like send, but rejects when the command fails. */
  ok(client: string, command: string, ...args: string[]): Promise<DriverReply>;
  /** Every event printed so far; pass `events.length` as `since` to wait for a later one. */
  events: DriverEvent[];
  waitForEvent(match: (event: DriverEvent) => boolean, since?: number, timeoutMs?: number): Promise<DriverEvent>;
  stop(): Promise<void>;
};

/** Compiles (once) and starts the Curator driver. */
export async function startCuratorDriver(): Promise<CuratorDriver> {
  const classpath = await curatorClasspath();
  const classes = await compileJava(join(here, 'CuratorDriver.java'), classpath);
  const child: ChildProcessWithoutNullStreams = spawn('java', [
    ...JVM_FLAGS,
    ...(await resolveZooKeeper()).jvmOptions,
    '-cp',
    `${classes}:${classpath}`,
    'CuratorDriver',
  ]);
  const events: DriverEvent[] = [];
  const replies = new Map<number, (reply: DriverReply) => void>();
  const eventWaiters = new Set<() => void>();
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as DriverReply | DriverEvent;
    if ('event' in message) {
      events.push(message as DriverEvent);
      for (const waiter of eventWaiters) waiter();
    } else {
      replies.get(message.id)?.(message);
      replies.delete(message.id);
    }
  });
  let nextId = 1;

  const waitForEvent: CuratorDriver['waitForEvent'] = (match, since = 0, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.slice(since).find(match);
        if (!found) return;
        clearTimeout(timer);
        eventWaiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        eventWaiters.delete(check);
        reject(
          new Error(`no matching Curator event in ${timeoutMs} ms; events: ${JSON.stringify(events.slice(since))}`),
        );
      }, timeoutMs);
      eventWaiters.add(check);
      check();
    });

  const send: CuratorDriver['send'] = (client, command, ...args) =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null) return reject(new Error(`Curator driver exited:\n${stderr.join('')}`));
      const id = nextId++;
      replies.set(id, resolve);
      child.stdin.write(`${[id, client, command, ...args].join('\t')}\n`);
    });

  await waitForEvent((event) => event.event === 'ready', 0, 30_000);
  return {
    send,
    ok: async (client, command, ...args) => {
      const reply = await send(client, command, ...args);
      if (!reply.ok) throw new Error(`${command} failed: ${reply.error}`);
      return reply;
    },
    events,
    waitForEvent,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write('0\t-\texit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs ZooKeeper's Java CLI with the given command lines on stdin (no jline, so it reads them one by one). */
export async function runZooKeeperCli(
  connectString: string,
  lines: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  const zooKeeper = await resolveZooKeeper();
  const child = spawn('java', [
    ...JVM_FLAGS,
    ...zooKeeper.jvmOptions,
    '-cp',
    zooKeeper.classpath,
    'org.apache.zookeeper.ZooKeeperMain',
    '-server',
    connectString,
  ]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(`${lines.join('\n')}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { stdout, stderr };
}
