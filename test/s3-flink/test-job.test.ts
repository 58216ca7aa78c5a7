import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveMavenSet } from '../../local/maven/resolve.ts';
import {
  compileTestJob,
  isConsistent,
  parseCounterLines,
  STATEFUL_COUNTER_CLASS,
} from '../flink/support/compile-test-job.ts';
import { flinkJobApi } from '../flink/support/flink-artifacts.ts';

const run = promisify(execFile);

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'flinkplane-test-job-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the stateful test job', () => {
  it('compiles against the Flink 2.2 API into a JAR that names its main class and carries the datagen source', async () => {
    // 1.20 is compiled and run by the checkpoint test; 2.x removed SourceFunction and open(Configuration).
    const api = await resolveMavenSet(flinkJobApi('2.2.0'));
    const jar = await compileTestJob(api.dir, join(work, '2.2.0'));
    const { stdout: entries } = await run('jar', ['--list', '--file', jar], { maxBuffer: 16 * 1024 * 1024 });
    expect(entries).toContain('flinkplane/testjobs/StatefulCounter.class');
    expect(entries).toContain('org/apache/flink/connector/datagen/source/DataGeneratorSource.class');
    const { stdout: manifest } = await run('unzip', ['-p', jar, 'META-INF/MANIFEST.MF']);
    expect(manifest).toContain(`Main-Class: ${STATEFUL_COUNTER_CLASS}`);
  }, 120_000);

  it('reads its lines from a TaskManager stdout, with or without the subtask prefix of print()', () => {
    const stdout = [
      'some JVM notice',
      'stateful-counter key=1 count=10 value=37',
      '2> stateful-counter key=3 count=20 value=79',
      'stateful-counter key=1 count=10',
    ].join('\n');
    expect(parseCounterLines(stdout)).toEqual([
      { key: 1, count: 10, value: 37 },
      { key: 3, count: 20, value: 79 },
    ]);
  });

  it('calls a line consistent only when its count is the number of values of its key up to its value', () => {
    expect(isConsistent({ key: 1, count: 10, value: 37 }, 4)).toBe(true);
    expect(isConsistent({ key: 1, count: 3, value: 37 }, 4)).toBe(false);
    expect(isConsistent({ key: 2, count: 10, value: 37 }, 4)).toBe(false);
  });
});
