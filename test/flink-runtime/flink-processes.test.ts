import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFlinkVersion } from '../../functions/core/catalog.ts';
import { JAVA_17_OPTIONS } from '../../functions/core/flink-configuration.ts';
import { ENTRYPOINT, FlinkImageUnavailableError, prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import { freePort } from '../../local/net.ts';

/**
 * Real Flink 1.20 processes from the local image, started through its entrypoint on loopback (no network namespace,
 * no ZooKeeper): FLINK_HOME and FLINK_CONF_DIR point at the image and a hand-written configuration.
 */

const started: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(started.map(stop));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms: number, output: () => string) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} within ${ms} ms; output:\n${output().slice(-4000)}`);
}

describe('Flink processes from the local image', () => {
  it('starts a JobManager that answers /overview with the catalog release and registers one TaskManager', {
    timeout: 400_000,
  }, async () => {
    const version = findFlinkVersion('1.20')!;
    // The first resolution downloads ~150 MB from Maven Central; it is not part of the 90 s the processes get.
    const image = await prepareFlinkImage(version);
    const dir = mkdtempSync(join(tmpdir(), 'flinkplane-flink-'));
    dirs.push(dir);
    const [rpcPort, restPort, blobPort] = [await freePort(), await freePort(), await freePort()];
    const conf = join(dir, 'conf');
    const config = [
      'jobmanager.rpc.address: localhost',
      `jobmanager.rpc.port: ${rpcPort}`,
      'jobmanager.bind-host: 127.0.0.1',
      'taskmanager.bind-host: 127.0.0.1',
      'taskmanager.host: 127.0.0.1',
      `rest.port: ${restPort}`,
      'rest.address: 127.0.0.1',
      'rest.bind-address: 127.0.0.1',
      'jobmanager.memory.process.size: 1024m',
      'taskmanager.memory.process.size: 1024m',
      'taskmanager.numberOfTaskSlots: 1',
      `env.java.opts.all: ${JAVA_17_OPTIONS}`,
      '',
    ].join('\n');
    mkdirSync(conf);
    writeFileSync(join(conf, 'flink-conf.yaml'), config);
    writeFileSync(
      join(conf, 'logback-console.xml'),
      '<configuration><appender name="console" class="ch.qos.logback.core.ConsoleAppender"><encoder>' +
        '<pattern>%d %-5level %logger{40} - %msg%n</pattern></encoder></appender>' +
        '<root level="INFO"><appender-ref ref="console"/></root></configuration>\n',
    );
    const before = readFileSync(join(conf, 'flink-conf.yaml'), 'utf8');

    let output = '';
    const launch = (role: 'jobmanager' | 'taskmanager') => {
      const tmp = join(dir, `${role}-tmp`);
      mkdirSync(tmp);
      const child = spawn(
        'bash',
        [join(image.home, ENTRYPOINT), role, '-D', `blob.server.port=${blobPort}`, '-D', `io.tmp.dirs=${tmp}`],
        {
          env: {
            PATH: process.env.PATH,
            FLINK_HOME: image.home,
            FLINK_CONF_DIR: conf,
            FLINK_LOG_DIR: join(dir, 'log'),
            JOB_MANAGER_RPC_ADDRESS: 'localhost',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-100_000);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      started.push(child);
      return child;
    };
    const startedAt = Date.now();
    const jobManager = launch('jobmanager');
    const taskManager = launch('taskmanager');
    const rest = `http://127.0.0.1:${restPort}`;

    const overview = await waitFor(
      'the JobManager answers /overview with one TaskManager',
      async () => {
        const body = (await (await fetch(`${rest}/overview`)).json()) as {
          taskmanagers: number;
          'slots-total': number;
          'flink-version': string;
        };
        // A TaskManager is listed a moment before its slot report arrives: wait for both.
        return body.taskmanagers === 1 && body['slots-total'] === 1 ? body : undefined;
      },
      90_000 - (Date.now() - startedAt),
      () => output,
    );
    expect(overview['flink-version']).toBe(version.release);
    const taskManagers = (await (await fetch(`${rest}/taskmanagers`)).json()) as {
      taskmanagers: { id: string; slotsNumber: number }[];
    };
    expect(taskManagers.taskmanagers).toHaveLength(1);
    expect(taskManagers.taskmanagers[0]!.slotsNumber).toBe(1);
    // The entrypoint reads the configuration and leaves it as it was mounted.
    expect(readFileSync(join(conf, 'flink-conf.yaml'), 'utf8')).toBe(before);
    // The JVM flags came from BashJavaUtils and env.java.opts.all.
    const cmdline = readFileSync(`/proc/${jobManager.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('--add-opens=java.base/java.util=ALL-UNNAMED');
    expect(cmdline.some((arg) => arg.startsWith('-Xmx'))).toBe(true);
    expect(readFileSync(`/proc/${taskManager.pid}/cmdline`, 'utf8')).toContain('taskmanager.memory.task.heap.size=');
  });

  it('refuses a version whose process artifacts Maven Central here lacks, naming them', async () => {
    const refusal = await prepareFlinkImage('2.1').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(FlinkImageUnavailableError);
    expect((refusal as Error).message).toContain('Flink 2.1 (2.1.3) is not served locally');
    expect((refusal as Error).message).toContain('org.apache.flink:flink-metrics-prometheus:2.1.3');
    expect((refusal as FlinkImageUnavailableError).missing).toEqual([
      'org.apache.flink:flink-metrics-prometheus:2.1.3',
      'org.apache.flink:flink-s3-fs-hadoop:2.1.3',
    ]);
  });

  it('names the artifact when Maven Central does not serve it', { timeout: 120_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'flinkplane-image-'));
    dirs.push(root);
    const version = findFlinkVersion('1.20')!;
    const broken = {
      ...version,
      release: '1.20.1-broken',
      artifacts: [{ ...version.artifacts[0]!, coordinate: 'org.apache.flink:flink-runtime:0.0.404' }],
    };
    const failure = await prepareFlinkImage(broken, { root }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FlinkImageUnavailableError);
    expect((failure as Error).message).toContain('the image cannot be prepared');
    expect((failure as Error).message).toContain('org.apache.flink:flink-runtime');
  });
});
