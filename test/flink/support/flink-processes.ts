import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Real Flink JobManagers and TaskManagers started straight from a directory of Maven jars, for tests that need a
 * Flink cluster without the platform's image layout: what `jobmanager.sh` / `taskmanager.sh start-foreground` do,
 * in a few lines. Each process gets its own work directory (configuration, temp dirs, log, stdout).
 */

const run = promisify(execFile);

export type FlinkRole = 'jobmanager' | 'taskmanager';

const MAIN_CLASS: Record<FlinkRole, string> = {
  jobmanager: 'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint',
  taskmanager: 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner',
};

const RESOURCE_PARAMS: Record<FlinkRole, string> = {
  jobmanager: 'GET_JM_RESOURCE_PARAMS',
  taskmanager: 'GET_TM_RESOURCE_PARAMS',
};

/** flink-dist's `env.java.opts.all` for Java 17: the JDK internals Flink and its serializers reach into. */
export const JAVA_17_OPENS = [
  '-XX:+IgnoreUnrecognizedVMOptions',
  ...[
    'java.base/sun.net.util',
    'java.rmi/sun.rmi.registry',
    'jdk.compiler/com.sun.tools.javac.api',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.compiler/com.sun.tools.javac.parser',
    'jdk.compiler/com.sun.tools.javac.tree',
    'jdk.compiler/com.sun.tools.javac.util',
    'java.security.jgss/sun.security.krb5',
  ].map((pkg) => `--add-exports=${pkg}=ALL-UNNAMED`),
  ...[
    'java.lang',
    'java.net',
    'java.io',
    'java.nio',
    'sun.nio.ch',
    'java.lang.reflect',
    'java.text',
    'java.time',
    'java.util',
    'java.util.concurrent',
    'java.util.concurrent.atomic',
    'java.util.concurrent.locks',
  ].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`),
];

/** Filesystem plugins: loaded only from `$FLINK_PLUGINS_DIR/<name>/`, never from the main classpath. */
const PLUGIN_JAR = /^flink-(s3-fs-hadoop|s3-fs-presto|azure-fs-hadoop|gs-fs-hadoop|oss-fs-hadoop)-.*\.jar$/;

const LOGBACK = `<configuration>
  <appender name="file" class="ch.qos.logback.core.FileAppender">
    <file>\${log.file}</file>
    <append>true</append>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{60} - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.hadoop.metrics2" level="WARN"/>
  <root level="INFO"><appender-ref ref="file"/></root>
</configuration>
`;

export type FlinkProcessOptions = {
  role: FlinkRole;
  /** The Flink jars (runtime, web, clients, a logging backend, …); plugin jars found here go to `plugins/`. */
  libDir: string;
  /** A fresh directory for this process: `conf/`, `plugins/`, `tmp/`, `<role>.log`, `<role>.out`. */
  workDir: string;
  /** Flink configuration, flat keys; `io.tmp.dirs` and `web.upload.dir` are set to the process's own directories. */
  config: Readonly<Record<string, string>>;
  /** Extra environment (e.g. `AWS_ACCESS_KEY_ID`), on top of this process's. */
  env?: Readonly<Record<string, string>>;
};

export type FlinkProcess = {
  readonly role: FlinkRole;
  readonly pid: number;
  readonly workDir: string;
  /** What the JVM wrote to stdout and stderr so far (job output printed by tasks lands here). */
  output(): Promise<string>;
  /** The Flink log so far. */
  log(): Promise<string>;
  /** Sends `signal` (SIGTERM: Flink's shutdown hook runs, HA data stays) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
};

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts a JobManager or TaskManager JVM with the memory flags Flink's scripts would compute for its configuration. */
export async function startFlinkProcess(options: FlinkProcessOptions): Promise<FlinkProcess> {
  const { role, libDir, workDir } = options;
  const confDir = join(workDir, 'conf');
  const pluginsDir = join(workDir, 'plugins');
  const tmpDir = join(workDir, 'tmp');
  await mkdir(confDir, { recursive: true });
  await mkdir(tmpDir, { recursive: true });

  const jars = (await readdir(libDir)).filter((file) => file.endsWith('.jar')).sort();
  const classpath = jars.filter((jar) => !PLUGIN_JAR.test(jar)).map((jar) => join(libDir, jar));
  for (const jar of jars.filter((file) => PLUGIN_JAR.test(file))) {
    const name = PLUGIN_JAR.exec(jar)?.[1] ?? jar;
    await mkdir(join(pluginsDir, name), { recursive: true });
    await copyFile(join(libDir, jar), join(pluginsDir, name, jar));
  }
  await mkdir(pluginsDir, { recursive: true });

  const config = { ...options.config, 'io.tmp.dirs': tmpDir, 'web.upload.dir': join(workDir, 'upload') };
  await writeFile(join(confDir, configFileName(jars)), flatYaml(config));
  await writeFile(join(confDir, 'logback.xml'), LOGBACK);

  const cp = classpath.join(':');
  const { jvmFlags, dynamicProperties } = await resourceParams(role, cp, confDir);
  const args = [
    ...jvmFlags,
    ...JAVA_17_OPENS,
    // Tests run several JVMs on few cores: the client compiler alone starts them faster and spends less CPU.
    '-XX:TieredStopAtLevel=1',
    `-Dlog.file=${join(workDir, `${role}.log`)}`,
    `-Dlogback.configurationFile=file:${join(confDir, 'logback.xml')}`,
    // The AWS SDK v1 in flink-s3-fs-hadoop prints a page of deprecation notice to stderr otherwise.
    '-Daws.java.v1.disableDeprecationAnnouncement=true',
    '-cp',
    cp,
    MAIN_CLASS[role],
    '--configDir',
    confDir,
    ...dynamicProperties,
  ];
  const outPath = join(workDir, `${role}.out`);
  const out = openSync(outPath, 'a');
  const env = { ...process.env, FLINK_CONF_DIR: confDir, FLINK_PLUGINS_DIR: pluginsDir, ...options.env };
  // setpriv's parent-death signal kills the JVM even when the test process dies without running exit hooks.
  const child = existsSync('/usr/bin/setpriv')
    ? spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', 'java', ...args], { stdio: ['ignore', out, out], env })
    : spawn('java', args, { stdio: ['ignore', out, out], env });
  closeSync(out);
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  const readOr = (path: string) => readFile(path, 'utf8').catch(() => '');
  return {
    role,
    pid: child.pid ?? -1,
    workDir,
    output: () => readOr(outPath),
    log: () => readOr(join(workDir, `${role}.log`)),
    stop,
  };
}

/** 1.x reads `flink-conf.yaml` (flat `key: value` lines); 2.x reads only `config.yaml`, where flat keys are valid. */
function configFileName(jars: readonly string[]): string {
  const runtime = jars.find((jar) => /^flink-runtime-\d/.test(jar));
  if (!runtime) throw new Error('no flink-runtime jar in the lib directory');
  return runtime.startsWith('flink-runtime-1.') ? 'flink-conf.yaml' : 'config.yaml';
}

function flatYaml(config: Readonly<Record<string, string>>): string {
  return Object.entries(config)
    .map(([key, value]) => `${key}: ${value}\n`)
    .join('');
}

/** `BashJavaUtils GET_*_RESOURCE_PARAMS`: line 1 the JVM's memory flags, line 2 the `-D` properties to pass on. */
async function resourceParams(
  role: FlinkRole,
  classpath: string,
  confDir: string,
): Promise<{ jvmFlags: string[]; dynamicProperties: string[] }> {
  const { stdout } = await run(
    'java',
    [
      '-cp',
      classpath,
      'org.apache.flink.runtime.util.bash.BashJavaUtils',
      RESOURCE_PARAMS[role],
      '--configDir',
      confDir,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const results = stdout
    .split('\n')
    .filter((line) => line.startsWith('BASH_JAVA_UTILS_EXEC_RESULT:'))
    .map((line) => line.slice('BASH_JAVA_UTILS_EXEC_RESULT:'.length).trim());
  if (results.length < 2) throw new Error(`BashJavaUtils ${RESOURCE_PARAMS[role]} printed no result:\n${stdout}`);
  const split = (line: string) => line.split(/\s+/).filter(Boolean);
  return { jvmFlags: split(results[0] ?? ''), dynamicProperties: split(results[1] ?? '') };
}

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const jvm of running) jvm.kill('SIGKILL');
  });
}
