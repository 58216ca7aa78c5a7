import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotMetadata } from '../../functions/core/jobs/ledger-ports.ts';
import { prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import {
  compileSnapshotInspector,
  createLocalSnapshotInspector,
  readSnapshotMetadata,
} from '../../local/flink-runtime/snapshot-inspector.ts';
import { type S3Server, startS3 } from '../../local/s3-server.ts';
import { compileTestJob } from '../flink/support/compile-test-job.ts';

/**
 * The savepoint ledger's restorable check on real snapshots: StatefulCounter runs in a local MiniCluster of each
 * Flink release (SnapshotMaker, no cluster) with incremental RocksDB checkpoints, and takes a canonical savepoint. The
 * snapshot inspector reads them with that release's classes; the files they reference are then deleted one at a time.
 * The S3 cases run against s3rver.
 */

const run = promisify(execFile);
const MAKER_SOURCES = fileURLToPath(new URL('./support/snapshot-maker', import.meta.url));

const work: string[] = [];
let s3: S3Server | undefined;

afterAll(async () => {
  await s3?.stop();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flinkplane-snapshots-'));
  work.push(dir);
  return dir;
}

type Snapshots = { jobId: string; savepoint: string; checkpoints: string[] };

/** Runs StatefulCounter on a release until three incremental checkpoints completed, then takes a savepoint. */
async function makeSnapshots(libDir: string, dir: string): Promise<Snapshots> {
  const jar = await compileTestJob(libDir, join(dir, 'job'));
  const makerClasses = join(dir, 'maker');
  const sources = (await readdir(MAKER_SOURCES, { recursive: true }))
    .filter((file) => file.endsWith('.java'))
    .map((file) => join(MAKER_SOURCES, file));
  await run('javac', [
    '-nowarn',
    '--release',
    '11',
    '-cp',
    `${join(libDir, '*')}:${jar}`,
    '-d',
    makerClasses,
    ...sources,
  ]);
  const logging = join(dir, 'logback.xml');
  await writeFile(logging, '<configuration><root level="OFF"/></configuration>\n');
  const { stdout } = await run(
    'java',
    [
      `-Dlogback.configurationFile=${logging}`,
      '-cp',
      `${makerClasses}:${jar}:${join(libDir, '*')}`,
      'flinkplane.testjobs.SnapshotMaker',
      join(dir, 'checkpoints'),
      join(dir, 'savepoints'),
      '3',
      'rocksdb-incremental',
    ],
    { timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const made = /job=([0-9a-f]{32}) savepoint=(\S+)/.exec(stdout);
  if (!made) throw new Error(`SnapshotMaker printed no savepoint:\n${stdout.slice(-2000)}`);
  const jobDir = join(dir, 'checkpoints', made[1]);
  const complete = await Promise.all(
    (await readdir(jobDir)).map(async (name) =>
      name.startsWith('chk-') && (await stat(join(jobDir, name, '_metadata')).catch(() => undefined)) ? [name] : [],
    ),
  );
  const checkpoints = complete
    .flat()
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((name) => pathToFileURL(join(jobDir, name)).href);
  return { jobId: made[1], savepoint: made[2], checkpoints };
}

describe.each([
  ['1.20', '1.20.1'],
  ['2.2', '2.2.0'],
])('the snapshot inspector on Flink %s', (version, release) => {
  let dir: string;
  let snapshots: Snapshots;
  let libDir: string;
  const inspector = createLocalSnapshotInspector();

  beforeAll(async () => {
    const image = await prepareFlinkImage(version);
    libDir = join(image.home, 'lib');
    dir = await temporaryDir();
    snapshots = await makeSnapshots(libDir, dir);
  }, 240_000);

  it('reads a savepoint with the release its snapshot came from: operators, relative files, bytes', async () => {
    const check = await inspector.check({ path: snapshots.savepoint, flinkVersion: version });
    expect(check).toMatchObject({ restorable: true });
    const metadata = check.metadata as SnapshotMetadata;
    expect(metadata.flinkVersion).toBe(release);
    // Source, keyed counter and sink; the counter holds the keyed state.
    expect(metadata.operators).toHaveLength(3);
    expect(metadata.operators.some((operator) => operator.stateBytes > 0)).toBe(true);
    expect(metadata.files.length).toBeGreaterThan(0);
    for (const file of metadata.files) {
      expect(file.relative).toBe(true);
      expect(file.path.startsWith(`${snapshots.savepoint}/`)).toBe(true);
    }
    expect(metadata.fileBytes).toBe(metadata.files.reduce((sum, file) => sum + file.bytes, 0));
    expect(metadata.stateBytes).toBe(metadata.fileBytes + metadata.inlineBytes);
  });

  it('finds the shared files an incremental checkpoint references outside its own directory', async () => {
    const newest = snapshots.checkpoints.at(-1) as string;
    const check = await inspector.check({ path: newest, flinkVersion: version });
    expect(check).toMatchObject({ restorable: true });
    const shared = check.metadata?.files.filter((file) => file.path.includes(`/${snapshots.jobId}/shared/`)) ?? [];
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.every((file) => !file.relative)).toBe(true);
  });

  it('calls a checkpoint unrestorable once one file it references is deleted, naming the file', async () => {
    const oldest = snapshots.checkpoints[0] as string;
    const before = await inspector.check({ path: oldest, flinkVersion: version });
    expect(before).toMatchObject({ restorable: true });
    const victim = before.metadata?.files.find((file) => file.path.includes('/shared/'))?.path as string;
    await unlink(fileURLToPath(victim));
    const after = await inspector.check({ path: oldest, flinkVersion: version });
    expect(after).toMatchObject({ restorable: false, reason: `missing ${victim}`, missing: [victim] });
  });

  it('calls a moved savepoint restorable, and unrestorable once a file of it is truncated', async () => {
    // A canonical savepoint is relocatable: a copy elsewhere is read with its files resolved in the copy.
    const moved = join(await temporaryDir(), 'savepoint-moved');
    await cp(fileURLToPath(snapshots.savepoint), moved, { recursive: true });
    const path = pathToFileURL(moved).href;
    const before = await inspector.check({ path, flinkVersion: version });
    expect(before).toMatchObject({ restorable: true });
    const victim = before.metadata?.files.find((file) => file.bytes > 1) as { path: string; bytes: number };
    expect(victim.path.startsWith(`${path}/`)).toBe(true);
    await truncate(fileURLToPath(victim.path), 1);
    expect(await inspector.check({ path, flinkVersion: version })).toMatchObject({
      restorable: false,
      reason: `truncated ${victim.path}: 1 bytes, the metadata expects ${victim.bytes}`,
    });
  });

  it('answers unrestorable, with Flink’s reason, when _metadata is not a snapshot, and when it is gone', async () => {
    const fake = join(dir, 'fake-savepoint');
    await mkdir(fake);
    await writeFile(join(fake, '_metadata'), 'not a snapshot');
    const garbled = await inspector.check({ path: pathToFileURL(fake).href, flinkVersion: version });
    expect(garbled).toMatchObject({ restorable: false, reason: expect.stringContaining('magic number') });
    expect(garbled.metadata).toBeUndefined();

    const gone = pathToFileURL(join(dir, 'no-such-savepoint')).href;
    expect(await inspector.check({ path: gone, flinkVersion: version })).toMatchObject({
      restorable: false,
      reason: `missing ${gone}/_metadata`,
    });
  });

  it('resolves a savepoint’s relative files against the directory it names, not the copy’s', async () => {
    const compiled = await compileSnapshotInspector(await prepareFlinkImage(version));
    const copy = join(await temporaryDir(), '_metadata');
    await writeFile(copy, await readFile(join(fileURLToPath(snapshots.savepoint), '_metadata')));
    const metadata = await readSnapshotMetadata(compiled, copy, 's3://flinkplane-acme/savepoints/moved');
    expect(metadata.files.length).toBeGreaterThan(0);
    for (const file of metadata.files) expect(file.path).toMatch(/^s3:\/\/flinkplane-acme\/savepoints\/moved\/[^/]+$/);
  });

  it('checks a savepoint in an S3 bucket (s3rver): restorable, then not once an object is deleted', async () => {
    s3 ??= await startS3({ directory: await temporaryDir() });
    const bucket = `flinkplane-snapshots-${version.replace('.', '-')}`;
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const local = fileURLToPath(snapshots.savepoint);
    const name = local.split('/').at(-1) as string;
    for (const file of await readdir(local, { recursive: true })) {
      await s3.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `savepoints/${name}/${file}`,
          Body: await readFile(join(local, file)),
        }),
      );
    }
    const onS3 = createLocalSnapshotInspector({ s3: s3.client });
    const path = `s3://${bucket}/savepoints/${name}`;
    const before = await onS3.check({ path, flinkVersion: version });
    expect(before).toMatchObject({ restorable: true });
    const victim = before.metadata?.files[0]?.path as string;
    expect(victim.startsWith(`${path}/`)).toBe(true);
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: victim.slice(`s3://${bucket}/`.length) }));
    expect(await onS3.check({ path, flinkVersion: version })).toMatchObject({
      restorable: false,
      reason: `missing ${victim}`,
    });
  });
});
