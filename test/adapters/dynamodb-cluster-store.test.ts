import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_TABLE_KEYS,
  createDynamoDbClusterStore,
  ensureClusterTable,
} from '../../functions/adapters/dynamodb-cluster-store.ts';
import { FlinkplaneError } from '../../functions/core/errors.ts';
import type { ClusterRecord, ClusterStore, TenantRecord } from '../../functions/core/ports.ts';
import { type DynamoDbServer, startDynamoDb } from '../../local/dynamodb-server.ts';

/** A record with every optional field set and every kind of value the spec holds. */
function clusterRecord(tenant: string, overrides: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    tenant,
    state: 'RUNNING',
    generation: 3,
    spec: {
      flinkVersion: '1.20',
      zone: 'eu-west-1a',
      jobManager: { cpu: 1, memoryMB: 2048 },
      taskManager: { cpu: 2.5, memoryMB: 4096, instances: 2 },
      flinkConfiguration: {
        'execution.checkpointing.interval': '30 s',
        'parallelism.default': 4,
        'pipeline.object-reuse': true,
        'state.backend.rocksdb.memory.fixed-per-slot': '',
      },
      restore: 'latest-state',
    },
    haEpoch: 2,
    previousHaClusterIds: ['acme-ha0', 'acme-ha1'],
    operation: { kind: 'deploy', generation: 3, step: 'apply', leaseUntil: '2025-01-02T03:09:05.000Z' },
    observed: {
      jobManagerReady: true,
      taskManagersReady: 1,
      taskManagersDesired: 2,
      taskManagersUpdated: 2,
      rolledOut: false,
      reason: 'a TaskManager pod is pending',
      failed: false,
    },
    lastError: { code: 'dependency_unavailable', message: 'EKS answered 503', at: '2025-01-02T03:04:05.000Z' },
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-02T03:04:05.000Z',
    deployedAt: '2025-01-01T00:05:00.000Z',
    ...overrides,
  };
}

function tenantRecord(name: string): TenantRecord {
  return { name, tokenHash: `sha256:${name}`, createdAt: '2025-01-01T00:00:00.000Z' };
}

async function errorOf(promise: Promise<unknown>): Promise<FlinkplaneError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FlinkplaneError);
  return error as FlinkplaneError;
}

let dynamo: DynamoDbServer;
let tableCount = 0;

/** Each test gets its own table, so listings see only what the test wrote. */
async function freshStore(): Promise<ClusterStore> {
  const tableName = `clusters-${++tableCount}`;
  await ensureClusterTable(dynamo.client, tableName);
  return createDynamoDbClusterStore({ client: dynamo.client, tableName });
}

beforeAll(async () => {
  dynamo = await startDynamoDb({});
});

afterAll(async () => {
  await dynamo?.stop();
});

describe('ensureClusterTable', () => {
  it('creates the table with the pk/sk key schema and is idempotent', async () => {
    await ensureClusterTable(dynamo.client, 'schema-check');
    await ensureClusterTable(dynamo.client, 'schema-check');
    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: 'schema-check' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: CLUSTER_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: CLUSTER_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });
});

describe('tenants', () => {
  it('creates a tenant and reads it back', async () => {
    const store = await freshStore();
    await store.createTenant(tenantRecord('acme'));
    expect(await store.getTenant('acme')).toEqual(tenantRecord('acme'));
    expect(await store.getTenant('other')).toBeUndefined();
  });

  it('refuses to create a tenant twice with tenant_exists', async () => {
    const store = await freshStore();
    await store.createTenant(tenantRecord('acme'));
    const error = await errorOf(store.createTenant({ ...tenantRecord('acme'), tokenHash: 'sha256:other' }));
    expect(error.code).toBe('tenant_exists');
    expect(error.details).toEqual({ tenant: 'acme' });
    expect((await store.getTenant('acme'))?.tokenHash).toBe('sha256:acme');
  });

  it('deletes the tenant together with its cluster, and again without error', async () => {
    const store = await freshStore();
    await store.createTenant(tenantRecord('acme'));
    await store.putCluster(clusterRecord('acme'), 0);
    await store.deleteTenant('acme');
    expect(await store.getTenant('acme')).toBeUndefined();
    expect(await store.getCluster('acme')).toBeUndefined();
    await expect(store.deleteTenant('acme')).resolves.toBeUndefined();
  });
});

describe('clusters', () => {
  it('round-trips a full cluster record at version 1', async () => {
    const store = await freshStore();
    const record = clusterRecord('acme');
    expect(await store.putCluster(record, 0)).toBe(1);
    expect(await store.getCluster('acme')).toEqual({ value: record, version: 1 });
  });

  it('leaves out optional fields that are not set', async () => {
    const store = await freshStore();
    const { operation: _operation, observed: _observed, lastError: _lastError, ...bare } = clusterRecord('acme');
    await store.putCluster({ ...bare, operation: undefined }, 0);
    const stored = await store.getCluster('acme');
    expect(stored?.value).toEqual(bare);
    expect(Object.keys(stored?.value ?? {})).not.toContain('operation');
  });

  it('writes at the version read and returns the next version', async () => {
    const store = await freshStore();
    await store.putCluster(clusterRecord('acme'), 0);
    expect(await store.putCluster(clusterRecord('acme', { state: 'DESTROYING', generation: 4 }), 1)).toBe(2);
    expect(await store.getCluster('acme')).toMatchObject({ value: { state: 'DESTROYING', generation: 4 }, version: 2 });
  });

  it('refuses a write at a stale version with conflict and keeps the stored record', async () => {
    const store = await freshStore();
    await store.putCluster(clusterRecord('acme'), 0);
    await store.putCluster(clusterRecord('acme', { generation: 4 }), 1);
    const error = await errorOf(store.putCluster(clusterRecord('acme', { generation: 99 }), 1));
    expect(error.code).toBe('conflict');
    expect(error.details).toEqual({ tenant: 'acme', expectedVersion: 1 });
    expect(await store.getCluster('acme')).toMatchObject({ value: { generation: 4 }, version: 2 });
  });

  it('refuses a second create (version 0) with conflict', async () => {
    const store = await freshStore();
    await store.putCluster(clusterRecord('acme'), 0);
    const error = await errorOf(store.putCluster(clusterRecord('acme', { generation: 99 }), 0));
    expect(error.code).toBe('conflict');
    expect(error.details).toEqual({ tenant: 'acme', expectedVersion: 0 });
  });

  it('refuses an update of a record that does not exist with conflict', async () => {
    const store = await freshStore();
    const error = await errorOf(store.putCluster(clusterRecord('ghost'), 3));
    expect(error.code).toBe('conflict');
    expect(await store.getCluster('ghost')).toBeUndefined();
  });

  it('lets exactly one of two concurrent writers at the same version win', async () => {
    const store = await freshStore();
    await store.putCluster(clusterRecord('acme'), 0);
    const results = await Promise.allSettled([
      store.putCluster(clusterRecord('acme', { generation: 10 }), 1),
      store.putCluster(clusterRecord('acme', { generation: 20 }), 1),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((result) => result.status === 'rejected');
    expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
  });
});

describe('listings', () => {
  async function storeWith(tenants: string[]): Promise<ClusterStore> {
    const store = await freshStore();
    for (const tenant of tenants) {
      await store.createTenant(tenantRecord(tenant));
      await store.putCluster(clusterRecord(tenant), 0);
    }
    return store;
  }
  const TENANTS = ['t-a', 't-b', 't-c', 't-d', 't-e', 't-f', 't-g'];

  it('pages through every cluster with a small limit, no page empty and none repeated', async () => {
    const store = await storeWith(TENANTS);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listClusters(3, cursor);
      pages.push(page.items.map((item) => item.value.tenant));
      expect(page.items.every((item) => item.version === 1)).toBe(true);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat().sort()).toEqual(TENANTS);
  });

  it('pages through every tenant with a small limit', async () => {
    const store = await storeWith(TENANTS);
    const names: string[] = [];
    let cursor: string | undefined;
    let pageCount = 0;
    do {
      const page = await store.listTenants(2, cursor);
      expect(page.items.length).toBeGreaterThan(0);
      names.push(...page.items.map((item) => item.name));
      cursor = page.cursor;
      pageCount++;
    } while (cursor !== undefined);
    expect(pageCount).toBe(4);
    expect(names.sort()).toEqual(TENANTS);
  });

  it('returns one page without a cursor when everything fits', async () => {
    const store = await storeWith(['t-a', 't-b']);
    const page = await store.listClusters(10);
    expect(page.items).toHaveLength(2);
    expect(page.cursor).toBeUndefined();
  });

  it('rejects a garbage cursor with invalid_request on the cursor field', async () => {
    const store = await storeWith(['t-a']);
    const garbage = [
      'not a cursor!',
      Buffer.from('{not json', 'utf8').toString('base64url'),
      Buffer.from(JSON.stringify(['TENANT#t-a', 'CLUSTER']), 'utf8').toString('base64url'),
      Buffer.from(JSON.stringify({ pk: 'TENANT#t-a', sk: 'SOMETHING' }), 'utf8').toString('base64url'),
      Buffer.from(JSON.stringify({ pk: 'USER#x', sk: 'CLUSTER' }), 'utf8').toString('base64url'),
    ];
    for (const cursor of garbage) {
      const error = await errorOf(store.listClusters(5, cursor));
      expect(error.code).toBe('invalid_request');
      expect(error.details).toMatchObject({ field: 'cursor' });
    }
  });
});
