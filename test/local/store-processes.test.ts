import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DynamoDbServer, startDynamoDb } from '../../local/dynamodb-server.ts';
import { type S3Server, startS3 } from '../../local/s3-server.ts';

const TABLE = 'things';

/** True while the process exists and is not a zombie (an orphan's reaper may be slow to collect it). */
function isRunning(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (existsSync('/proc/self/stat')) {
    try {
      return readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function createTable(dynamo: DynamoDbServer): Promise<void> {
  await dynamo.client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite flips the table to ACTIVE just after it answers, even with createTableMs 0.
  while ((await dynamo.client.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.TableStatus !== 'ACTIVE') {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function readThing(dynamo: DynamoDbServer, id: string): Promise<string | undefined> {
  const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } } }));
  return Item?.value?.S;
}

async function readObject(s3: S3Server, bucket: string, key: string): Promise<string> {
  const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await Body?.transformToString()) ?? '';
}

describe('local stores in processes of their own', () => {
  let directory: string;
  const started: { stop(): Promise<void> }[] = [];
  /** Starts a store and stops it after the test if the test did not. */
  const track = async <T extends { stop(): Promise<void> }>(store: Promise<T>): Promise<T> => {
    const running = await store;
    started.push(running);
    return running;
  };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'flinkplane-store-processes-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((store) => store.stop()));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('runs dynalite in a child process that answers the SDK and exits on stop', async () => {
    const dynamo = await track(startDynamoDb());
    expect(dynamo.pid).not.toBe(process.pid);
    expect(isRunning(dynamo.pid)).toBe(true);
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await createTable(dynamo);
    await dynamo.client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'a' }, value: { S: 'one' } } }));
    expect(await readThing(dynamo, 'a')).toBe('one');

    await dynamo.stop();
    expect(isRunning(dynamo.pid)).toBe(false);
    await dynamo.stop(); // idempotent
  });

  it('keeps dynalite tables in the LevelDB path across a stop and a restart', async () => {
    const path = join(directory, 'dynamodb');
    const first = await track(startDynamoDb({ path }));
    await createTable(first);
    await first.client.send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: 'b' }, value: { S: 'kept' } } }));
    await first.stop();

    const second = await track(startDynamoDb({ path }));
    expect(second.pid).not.toBe(first.pid);
    expect(await readThing(second, 'b')).toBe('kept');
  });

  it('fails the start with the child’s output when dynalite cannot open its LevelDB', async () => {
    const path = join(directory, 'locked');
    await track(startDynamoDb({ path }));
    // LevelDB's lock: a second dynalite on the same data directory must not start.
    const locked = await startDynamoDb({ path }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(locked).toMatch(/^dynalite process exited \(1\) before it was ready:\n/);
    expect(locked).toContain('LEVEL_'); // abstract-level's error code, whichever call failed first

    const file = join(directory, 'a-file');
    await writeFile(file, '');
    await expect(startDynamoDb({ path: join(file, 'db') })).rejects.toThrow(/before it was ready:\n[\s\S]*LEVEL_/);
  });

  it('runs s3rver in a child process that answers the SDK, exits on stop and keeps its directory', async () => {
    const s3Directory = join(directory, 's3');
    const s3 = await track(startS3({ directory: s3Directory }));
    expect(s3.pid).not.toBe(process.pid);
    expect(isRunning(s3.pid)).toBe(true);
    await s3.client.send(new CreateBucketCommand({ Bucket: 'bucket' }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'key', Body: 'body' }));
    expect(await readObject(s3, 'bucket', 'key')).toBe('body');

    await s3.stop();
    expect(isRunning(s3.pid)).toBe(false);

    const again = await track(startS3({ directory: s3Directory }));
    expect(await readObject(again, 'bucket', 'key')).toBe('body');
  });

  it('reports a store process that dies under it once, and stop() still resolves', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const dynamo = await track(startDynamoDb());
      process.kill(dynamo.pid, 'SIGKILL');
      expect(await waitUntilGone(dynamo.pid, 5_000)).toBe(true);
      await expect(dynamo.client.send(new ListTablesCommand({}))).rejects.toThrow();
      await dynamo.stop();
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('dynalite process exited unexpectedly (SIGKILL)'));
    } finally {
      errors.mockRestore();
    }
  });

  it('exits when the parent process goes away', async () => {
    const path = join(directory, 'orphaned');
    const modules = ['dynamodb-server', 's3-server'].map((name) => new URL(`../../local/${name}.ts`, import.meta.url));
    // A parent that starts both stores, prints their process ids and then waits; the IPC channels keep it alive.
    const script = [
      `import { startDynamoDb } from '${modules[0]!.href}';`,
      `import { startS3 } from '${modules[1]!.href}';`,
      `const dynamo = await startDynamoDb({ path: ${JSON.stringify(path)} });`,
      `const s3 = await startS3({ directory: ${JSON.stringify(join(directory, 'orphaned-s3'))} });`,
      'console.log(JSON.stringify([dynamo.pid, s3.pid]));',
    ].join('\n');
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    parent.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: parent.stdout! }).once('line', resolve);
        parent.once('exit', (code) => reject(new Error(`parent exited with ${code}:\n${stderr}`)));
      });
      const pids = JSON.parse(line) as number[];
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isRunning(pid)).toBe(true);

      parent.kill('SIGKILL');
      await exited;
      for (const pid of pids) expect(await waitUntilGone(pid, 5_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
    // The orphaned dynalite closed its LevelDB: the data directory opens again.
    await track(startDynamoDb({ path }));
  });
});
