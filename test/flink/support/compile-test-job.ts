import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The stateful test job's entry class (also the JAR's `Main-Class`). */
export const STATEFUL_COUNTER_CLASS = 'flinkplane.testjobs.StatefulCounter';

/** The prefix of the lines the job prints to the TaskManager's stdout. */
/** The platform's minimum sizes: a 1024 MB JobManager and one 1024 MB TaskManager; real-Flink tests run at these. */
export const MINIMUM_SIZES = { jobManager: { memoryMB: 1024 }, taskManager: { memoryMB: 1024, instances: 1 } };

/** StatefulCounter's program arguments: 40 records a second over `keys` keys, a line every `printEvery` records. */
export function counterArgs(options: { keys?: number; printEvery?: number; checkpointIntervalMs?: number } = {}) {
  const { keys = 4, printEvery = 5, checkpointIntervalMs } = options;
  return [
    '--records-per-second',
    '40',
    '--keys',
    String(keys),
    '--print-every',
    String(printEvery),
    ...(checkpointIntervalMs ? ['--checkpoint-interval-ms', String(checkpointIntervalMs)] : []),
  ];
}

export const STATEFUL_COUNTER_LINE_PREFIX = 'stateful-counter';

/** The job's Java sources, next to this folder. */
const SOURCES = fileURLToPath(new URL('../jobs/stateful-counter', import.meta.url));

/** The connector the job's source comes from; bundled so the job runs on a Flink whose `lib/` lacks it. */
const DATAGEN_JAR = /^flink-connector-datagen-.*\.jar$/;

/**
 * Compiles the stateful test job (`StatefulCounter`) against the Flink jars in `libDir` (1.20 or 2.x) into
 * `<outDir>/stateful-counter.jar`, with a manifest naming its main class and flink-connector-datagen's classes inside.
 * Needs a JDK (`javac`, `jar`) on the PATH.
 */
export async function compileTestJob(libDir: string, outDir: string): Promise<string> {
  const classes = join(outDir, 'classes');
  const jarPath = join(outDir, 'stateful-counter.jar');
  await rm(classes, { recursive: true, force: true });
  await rm(jarPath, { force: true });
  const sources = (await readdir(SOURCES, { recursive: true }))
    .filter((file) => file.endsWith('.java'))
    .map((file) => join(SOURCES, file));
  // Java 11 bytecode runs on every JVM either Flink line supports.
  await run('javac', ['-nowarn', '--release', '11', '-cp', join(libDir, '*'), '-d', classes, ...sources], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const datagen = (await readdir(libDir)).find((file) => DATAGEN_JAR.test(file));
  if (datagen) {
    await run('jar', ['--extract', '--file', join(libDir, datagen)], { cwd: classes });
    await rm(join(classes, 'META-INF', 'MANIFEST.MF'), { force: true });
  }
  await run('jar', ['--create', '--file', jarPath, '--main-class', STATEFUL_COUNTER_CLASS, '-C', classes, '.']);
  return jarPath;
}

/** One line the job printed: the key, its count in keyed state and the sequence value that made it. */
export type CounterLine = { key: number; count: number; value: number };

// print() prefixes `<subtask>> ` when the sink runs with a parallelism above 1.
const LINE = new RegExp(`^(?:\\d+> )?${STATEFUL_COUNTER_LINE_PREFIX} key=(\\d+) count=(\\d+) value=(\\d+)$`);

/** The job's lines in a TaskManager's stdout, in order; other lines are skipped. */
export function parseCounterLines(stdout: string): CounterLine[] {
  return stdout.split('\n').flatMap((line) => {
    const match = LINE.exec(line.trim());
    return match ? [{ key: Number(match[1]), count: Number(match[2]), value: Number(match[3]) }] : [];
  });
}

/**
 * True when a line is what exactly-once state gives for a sequence 0, 1, 2, … keyed by `value % keys`: the key's
 * count is the number of sequence values of that key up to `value`.
 */
export function isConsistent(line: CounterLine, keys: number): boolean {
  return line.key === line.value % keys && line.count === Math.floor(line.value / keys) + 1;
}
