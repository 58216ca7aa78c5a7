import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  descendants,
  type NpmStart,
  type ProcessRow,
  portIsFree,
  runNpmStartToEnd,
  startNpm,
  whenGone,
} from './npm-start.ts';

// `npm start` itself, as a user runs it: npm → the plane (node) → dynalite, s3rver, ZooKeeper's JVM. Pods are
// simulated (nothing runs for them), which keeps each start light.
describe('npm start stops as a whole', () => {
  let dataDir: string | undefined;
  let started: NpmStart | undefined;
  let tree: ProcessRow[] = [];

  const start = async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-stop-'));
    started = await startNpm({ FLINKPLANE_DATA_DIR: dataDir, FLINKPLANE_PODS: 'simulated' });
    tree = descendants(started.npm.pid!);
    // The parts a stop must end, so a start that ran fewer of them cannot pass for a clean stop.
    expect(tree.filter((process) => process.args.includes('"kind":"dynalite"'))).toHaveLength(1);
    expect(tree.filter((process) => process.args.includes('"kind":"s3rver"'))).toHaveLength(1);
    expect(tree.filter((process) => process.args.includes('ZooKeeperServerMain'))).toHaveLength(1);
    return { started, tree };
  };

  afterEach(() => {
    // Whatever a failed test left running.
    for (const process of tree) killQuietly(process.pid);
    tree = [];
    if (started?.npm.exitCode === null) started.npm.kill('SIGKILL');
    started = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'ends npm, the plane, dynalite, s3rver and ZooKeeper and frees the port on %s to the npm pid',
    async (signal) => {
      const { started, tree } = await start();
      process.kill(started.npm.pid!, signal);
      expect(await started.exited).toBe(0);
      expect(await whenGone(tree)).toEqual([]);
      expect(await portIsFree(started.port)).toBe(true);
      expect(started.output()).toContain(`${signal}: stopping…`);
    },
    120_000,
  );

  it('ends every child when the plane process is killed with SIGKILL', async () => {
    const { started, tree } = await start();
    // The plane is the process that started the stores.
    const plane = tree.find((process) => process.args.includes('"kind":"dynalite"'))!.ppid;
    process.kill(plane, 'SIGKILL');
    expect(await whenGone(tree)).toEqual([]);
    expect(await portIsFree(started.port)).toBe(true);
  }, 120_000);

  it('stops the plane and its children when npm is killed with SIGKILL', async () => {
    const { started, tree } = await start();
    started.npm.kill('SIGKILL');
    expect(await whenGone(tree)).toEqual([]);
    expect(await portIsFree(started.port)).toBe(true);
  }, 120_000);
});

describe('npm start with a bad operator token', () => {
  it('ends with one line naming the rule and a non-zero exit code, no stack trace', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-bad-token-'));
    try {
      const ended = await runNpmStartToEnd({
        FLINKPLANE_DATA_DIR: dataDir,
        FLINKPLANE_PODS: 'simulated',
        FLINKPLANE_ADMIN_TOKEN: 'too-short',
      });
      expect(ended.code).toBe(1);
      expect(ended.stderr.split('\n').filter((line) => line.trim() !== '')).toEqual([
        'Flinkplane did not start: The operator token must have at least 16 characters',
      ]);
      expect(ended.stdout).not.toMatch(/^\s+at /m);
      // Refused before anything started: no store, key or pod left a file in the data dir.
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
