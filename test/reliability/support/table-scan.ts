import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { convertToNative } from '@aws-sdk/util-dynamodb';
import type { ClusterRecord, TenantRecord } from '../../../functions/core/ports.ts';

export interface TableContents {
  readonly tenants: Map<string, TenantRecord>;
  readonly clusters: Map<string, { value: ClusterRecord; version: number }>;
  /** Items that are neither a tenant nor a cluster: there must be none. */
  readonly strays: string[];
}

/** Every item of the cluster table, read straight from DynamoDB (not through the store adapter or a proxy). */
export async function scanClusterTable(client: DynamoDBClient, tableName: string): Promise<TableContents> {
  const tenants = new Map<string, TenantRecord>();
  const clusters = new Map<string, { value: ClusterRecord; version: number }>();
  const strays: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey as never }),
    );
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? '';
      const sk = item.sk?.S ?? '';
      const name = pk.replace(/^TENANT#/, '');
      const data = item.data === undefined ? undefined : convertToNative(item.data);
      if (sk === 'TENANT') tenants.set(name, data as TenantRecord);
      else if (sk === 'CLUSTER')
        clusters.set(name, { value: data as ClusterRecord, version: Number(item.version?.N ?? 'NaN') });
      else strays.push(`${pk}/${sk}`);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { tenants, clusters, strays };
}
