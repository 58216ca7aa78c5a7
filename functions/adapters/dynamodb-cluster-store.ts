import { isDeepStrictEqual } from 'node:util';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { convertToAttr, convertToNative } from '@aws-sdk/util-dynamodb';
import { FlinkplaneError } from '../core/errors.ts';
import type { ClusterRecord, ClusterStore, Page, TenantRecord, Versioned } from '../core/ports.ts';
import { sendOrUnavailable } from './aws-unavailable.ts';

/** The table's key schema, shared with the CDK stack: both keys are strings. */
export const CLUSTER_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

const TENANT_SK = 'TENANT';
const CLUSTER_SK = 'CLUSTER';
const TENANT_PREFIX = 'TENANT#';
const TABLE_ACTIVE_TIMEOUT_MS = 60_000;
/** DynamoDB's limit on a partition key value; no item can have a longer one. */
const MAX_PARTITION_KEY_BYTES = 2048;
const THROTTLED = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);
const DYNAMODB = { name: 'DynamoDB', dependency: 'dynamodb', rules: { throttled: THROTTLED } };

type Item = Record<string, AttributeValue>;
type Key = { pk: string; sk: string };

export type DynamoDbClusterStoreOptions = {
  client: DynamoDBClient;
  tableName: string;
};

/**
 * Tenants and clusters in one DynamoDB table: `pk=TENANT#<name>` with `sk=TENANT` for the tenant and `sk=CLUSTER`
 * for its cluster. The record lives in the map attribute `data`; cluster items carry a numeric `version` that every
 * write checks, because DynamoDB (and dynalite) conditional puts are the only concurrency control used here.
 */
export function createDynamoDbClusterStore(options: DynamoDbClusterStoreOptions): ClusterStore {
  const { tableName } = options;
  const client = { send: sendOrUnavailable(options.client.send.bind(options.client), DYNAMODB) };

  async function getItem(key: Key): Promise<Item | undefined> {
    // A name too long for a key (a forged token, a long path) cannot be stored, so it is not there: no request needed.
    if (Buffer.byteLength(key.pk, 'utf8') > MAX_PARTITION_KEY_BYTES) return undefined;
    const result = await client.send(
      new GetItemCommand({ TableName: tableName, Key: keyAttributes(key), ConsistentRead: true }),
    );
    return result.Item;
  }

  /**
   * Whether a conditional write that failed was our own, landed by an earlier attempt whose answer was lost: the SDK
   * retries a write after a reset connection, and the retry then fails the condition the first attempt satisfied.
   */
  async function holdsAlready(key: Key, data: AttributeValue, version?: number): Promise<boolean> {
    const item = await getItem(key);
    if (item?.data === undefined) return false;
    if (version !== undefined && item.version?.N !== String(version)) return false;
    return isDeepStrictEqual(unmarshall(item.data), unmarshall(data));
  }

  /** Scans items of one kind until `limit` match or the table ends, so a page is only empty at the end. */
  async function scanKind(sk: string, limit: number, cursor: string | undefined): Promise<Page<Item>> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new FlinkplaneError('invalid_request', 'limit must be a positive integer', {
        field: 'limit',
        value: limit,
      });
    }
    let startKey = cursor === undefined ? undefined : keyAttributes(decodeCursor(cursor));
    const items: Item[] = [];
    do {
      const result = await client.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#sk = :sk',
          ExpressionAttributeNames: { '#sk': CLUSTER_TABLE_KEYS.sortKey },
          ExpressionAttributeValues: { ':sk': { S: sk } },
          // Limit counts items read before the filter, so the page never overshoots and the cursor loses nothing.
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (items.length < limit && startKey !== undefined);
    return startKey === undefined ? { items } : { items, cursor: encodeCursor(startKey) };
  }

  return {
    async getTenant(name) {
      const item = await getItem(tenantKey(name));
      return item === undefined ? undefined : (readData(item) as unknown as TenantRecord);
    },

    async createTenant(tenant) {
      const data = marshall(tenant);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...keyAttributes(tenantKey(tenant.name)), data },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': CLUSTER_TABLE_KEYS.partitionKey },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The token hash is of a fresh random token: an equal record can only be this very write.
        if (await holdsAlready(tenantKey(tenant.name), data)) return;
        throw new FlinkplaneError('tenant_exists', `A tenant named "${tenant.name}" already exists`, {
          tenant: tenant.name,
        });
      }
    },

    async listTenants(limit, cursor) {
      const page = await scanKind(TENANT_SK, limit, cursor);
      return { ...page, items: page.items.map((item) => readData(item) as unknown as TenantRecord) };
    },

    async deleteTenant(name) {
      // The cluster first: a crash in between leaves a tenant without a cluster, never a cluster without a tenant.
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: keyAttributes(clusterKey(name)) }));
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: keyAttributes(tenantKey(name)) }));
    },

    async getCluster(tenant) {
      const item = await getItem(clusterKey(tenant));
      return item === undefined ? undefined : readCluster(item);
    },

    async putCluster(record, expectedVersion) {
      if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
        throw new FlinkplaneError('internal', 'expectedVersion must be a non-negative integer', { expectedVersion });
      }
      const version = expectedVersion + 1;
      const condition: Pick<
        PutItemCommandInput,
        'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
      > =
        expectedVersion === 0
          ? {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': CLUSTER_TABLE_KEYS.partitionKey },
            }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
            };
      const data = marshall(record);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...keyAttributes(clusterKey(record.tenant)), version: { N: String(version) }, data },
            ...condition,
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // Records carry their update time, so the same record at the next version is this write (or one identical).
        if (await holdsAlready(clusterKey(record.tenant), data, version)) return version;
        throw new FlinkplaneError(
          'conflict',
          `The cluster of tenant "${record.tenant}" changed since it was read (expected version ${expectedVersion}); read it again and retry`,
          { tenant: record.tenant, expectedVersion },
        );
      }
      return version;
    },

    async listClusters(limit, cursor) {
      const page = await scanKind(CLUSTER_SK, limit, cursor);
      return { ...page, items: page.items.map(readCluster) };
    },
  };
}

/** Creates the table when it is missing (on-demand billing) and waits until it is ACTIVE. For local use and tests. */
export async function ensureClusterTable(client: DynamoDBClient, tableName: string): Promise<void> {
  if ((await tableStatus(client, tableName)) === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: CLUSTER_TABLE_KEYS.partitionKey, AttributeType: 'S' },
            { AttributeName: CLUSTER_TABLE_KEYS.sortKey, AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: CLUSTER_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
            { AttributeName: CLUSTER_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
          ],
        }),
      );
    } catch (error) {
      // Another process created it first.
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
  }
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  while ((await tableStatus(client, tableName)) !== 'ACTIVE') {
    if (Date.now() > deadline) {
      throw new FlinkplaneError('dependency_unavailable', `Table ${tableName} did not become ACTIVE in time`, {
        tableName,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const result = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return result.Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

function tenantKey(name: string): Key {
  return { pk: `${TENANT_PREFIX}${name}`, sk: TENANT_SK };
}

function clusterKey(tenant: string): Key {
  return { pk: `${TENANT_PREFIX}${tenant}`, sk: CLUSTER_SK };
}

function keyAttributes(key: Key): Item {
  return { pk: { S: key.pk }, sk: { S: key.sk } };
}

function readData(item: Item): Record<string, unknown> {
  const data = item.data === undefined ? undefined : unmarshall(item.data);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new FlinkplaneError('internal', 'A stored item has no data map', { pk: item.pk?.S, sk: item.sk?.S });
  }
  return data as Record<string, unknown>;
}

function readCluster(item: Item): Versioned<ClusterRecord> {
  return { value: readData(item) as unknown as ClusterRecord, version: Number(item.version?.N ?? '0') };
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The cursor is the scan's LastEvaluatedKey as base64url JSON; opaque to callers, checked on the way back in. */
function encodeCursor(lastKey: Item): string {
  const key: Key = { pk: lastKey.pk?.S ?? '', sk: lastKey.sk?.S ?? '' };
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): Key {
  const invalid = () =>
    new FlinkplaneError('invalid_request', 'cursor is not one this API returned; omit it to start from the beginning', {
      field: 'cursor',
    });
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const { pk, sk, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid();
  if (typeof pk !== 'string' || !pk.startsWith(TENANT_PREFIX) || pk.length === TENANT_PREFIX.length) throw invalid();
  if (sk !== TENANT_SK && sk !== CLUSTER_SK) throw invalid();
  return { pk, sk };
}

/**
 * A record to the attribute value of its `data` map. `undefined` fields are left out, as JSON leaves them out; a number
 * DynamoDB cannot hold (NaN, Infinity) is refused.
 */
function marshall(value: object): AttributeValue {
  try {
    return convertToAttr(value, { removeUndefinedValues: true, convertClassInstanceToMap: true });
  } catch (error) {
    throw new FlinkplaneError('internal', `Cannot store the record: ${(error as Error).message}`, {}, { cause: error });
  }
}

/** The inverse of `marshall`: a stored attribute value back to plain JSON-shaped data. */
function unmarshall(attribute: AttributeValue): unknown {
  return convertToNative(attribute);
}
