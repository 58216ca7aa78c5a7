import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CLUSTER_TABLE_KEYS } from '../../functions/adapters/dynamodb-cluster-store.ts';

export interface ClusterTableProps {
  /**
   * What happens to the table when it leaves the stack. Tenants and their clusters' HA epochs live here: losing
   * them orphans every tenant's state, so the house default keeps it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default - a name CloudFormation generates */
  readonly tableName?: string;
}

/**
 * The control plane's one table of tenants and clusters: on-demand, point-in-time recovery, deletion protection,
 * retained on stack deletion.
 *
 * Encryption uses the AWS managed key `aws/dynamodb` rather than a customer managed key: the items are tenant names,
 * token hashes, cluster specs and status (no secrets; tokens are stored only as hashes), so what a customer managed
 * key adds (a key policy of our own, cross-account grants, disabling the key) buys nothing here, while the AWS managed
 * key still records every use in CloudTrail, which the default AWS owned key does not, and costs no key to run or rotate.
 */
export class ClusterTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ClusterTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: CLUSTER_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CLUSTER_TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
