import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalTenantAccess } from '../../local/local-tenant-access.ts';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'flinkplane-access-test-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('createLocalTenantAccess', () => {
  it('records grants in memory, once each, and forgets revoked ones', async () => {
    const access = createLocalTenantAccess();
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    await access.grant('globex', 'tenant-globex', 'flink-cluster');
    expect(access.grants()).toHaveLength(2);
    expect(await access.hasAccess('acme', 'tenant-acme', 'flink-cluster')).toBe(true);
    expect(await access.hasAccess('acme', 'tenant-acme', 'other')).toBe(false);
    await access.revoke('acme', 'tenant-acme', 'flink-cluster');
    await access.revoke('acme', 'tenant-acme', 'flink-cluster');
    expect(await access.hasAccess('acme', 'tenant-acme', 'flink-cluster')).toBe(false);
    expect(await access.hasAccess('globex', 'tenant-globex', 'flink-cluster')).toBe(true);
  });

  it('keeps the grants across a restart when given a file', async () => {
    const file = join(directory, 'state', 'tenant-access.json');
    const before = createLocalTenantAccess(file);
    await before.grant('acme', 'tenant-acme', 'flink-cluster');
    await before.grant('globex', 'tenant-globex', 'flink-cluster');
    await before.revoke('globex', 'tenant-globex', 'flink-cluster');
    const after = createLocalTenantAccess(file);
    expect(await after.hasAccess('acme', 'tenant-acme', 'flink-cluster')).toBe(true);
    expect(await after.hasAccess('globex', 'tenant-globex', 'flink-cluster')).toBe(false);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual([
      { tenant: 'acme', namespace: 'tenant-acme', serviceAccount: 'flink-cluster' },
    ]);
  });

  it('refuses a file that does not hold grants', async () => {
    const file = join(directory, 'broken.json');
    await writeFile(file, '{"not":"a list"}');
    expect(() => createLocalTenantAccess(file)).toThrow(/does not hold a list of local tenant grants/);
  });
});
