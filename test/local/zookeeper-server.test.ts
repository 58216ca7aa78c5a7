import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath, resolveZooKeeper, ZooKeeperUnavailableError } from '../../local/zookeeper-artifacts.ts';
import { fourLetterWord, startZooKeeperServer } from '../../local/zookeeper-server.ts';

describe('the ZooKeeper server from Maven Central', () => {
  it('listens on the given client address only', async () => {
    const server = await startZooKeeperServer({ clientPortAddress: '127.0.0.2' });
    try {
      expect(server.connectString).toBe(`127.0.0.2:${server.port}`);
      expect(await fourLetterWord('127.0.0.2', server.port, 'srvr')).toMatch(/^Zookeeper version: 3\.8\.4-/);
      await expect(fourLetterWord('127.0.0.1', server.port, 'ruok')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await server.stop();
    }
  });
});

describe('ZooKeeper that cannot be fetched', () => {
  const path = process.env.PATH;
  let emptyCache: string;
  let javaOnly: string;

  beforeAll(async () => {
    emptyCache = await mkdtemp(join(tmpdir(), 'flinkplane-zk-cache-'));
    javaOnly = await mkdtemp(join(tmpdir(), 'flinkplane-java-only-'));
    await symlink(findOnPath('java')!, join(javaOnly, 'java'));
  });
  afterEach(() => {
    process.env.PATH = path;
  });
  afterAll(async () => {
    await rm(emptyCache, { recursive: true, force: true });
    await rm(javaOnly, { recursive: true, force: true });
  });

  it('names Maven as the cause when the jars are not cached and Maven is missing', async () => {
    process.env.PATH = javaOnly;
    const failure = resolveZooKeeper({ root: emptyCache, progress: () => undefined });
    await expect(failure).rejects.toBeInstanceOf(ZooKeeperUnavailableError);
    await expect(failure).rejects.toThrow(/could not be fetched from Maven Central.*Maven is not installed/s);
  });

  it('names Java as the cause when there is no java on PATH', async () => {
    process.env.PATH = emptyCache;
    await expect(resolveZooKeeper({ root: emptyCache })).rejects.toThrow(/no `java` on PATH/);
  });
});
