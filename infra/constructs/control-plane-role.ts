import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TENANT_TAG } from '../../functions/adapters/s3-bucket-store.ts';
import { acknowledgeWildcardResource } from '../nag.ts';

export interface ControlPlaneRoleProps {
  readonly table: dynamodb.ITable;
  /** Tenant buckets are `<bucketPrefix><tenant>`; the role may create and configure only those. */
  readonly bucketPrefix: string;
  readonly clusterName: string;
  readonly clusterArn: string;
  /** The role tenant pods assume; the only role the control plane may pass, and only to EKS Pod Identity. */
  readonly tenantRole: iam.IRole;
  /** The platform key secret, the only secret the control plane reads. */
  readonly platformKeySecret: secretsmanager.ISecret;
}

/** What the DynamoDB cluster store calls. No `Scan` of other tables, no table management. */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:Scan',
  'dynamodb:DescribeTable',
] as const;
/** What the S3 bucket store calls on a tenant bucket: create, configure, tag, and (operator purge) empty and delete. */
export const BUCKET_ACTIONS = [
  's3:CreateBucket',
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:PutEncryptionConfiguration',
  's3:PutBucketPublicAccessBlock',
  's3:PutBucketVersioning',
  's3:PutBucketTagging',
  's3:DeleteBucket',
] as const;
export const BUCKET_OBJECT_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion'] as const;
/**
 * JARs, only under a tenant bucket's `jars/`: the upload and its registration (read to hash, copy into place), and
 * the presigned upload URLs, which act with this role and so can write nothing outside `jars/` either.
 */
export const JAR_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject'] as const;
/** The prefix of a tenant bucket the JAR actions reach. */
export const JAR_OBJECT_PREFIX = 'jars/';
/** EKS calls on the cluster itself (the association calls without an association id authorize on the cluster). */
export const CLUSTER_ACTIONS = [
  'eks:DescribeCluster',
  'eks:CreatePodIdentityAssociation',
  'eks:ListPodIdentityAssociations',
] as const;
export const ASSOCIATION_ACTIONS = ['eks:DescribePodIdentityAssociation', 'eks:DeletePodIdentityAssociation'] as const;

/**
 * The execution role shared by the control-plane Lambdas (API, reconciler, custom-resource provider): they all run
 * the same deploy and destroy workflow, so they need the same rights, and one role means one EKS access entry.
 *
 * Its permissions reach the cluster table, buckets with the platform prefix, the one EKS cluster and its Pod Identity
 * associations, passing the tenant-pod role to EKS Pod Identity only, and reading the platform key secret. Nothing
 * wider; the Kubernetes side is the ClusterRole of `EksTarget.grantControlPlane`.
 */
export class ControlPlaneRole extends Construct {
  readonly role: iam.Role;
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: ControlPlaneRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const bucketArn = `arn:${stack.partition}:s3:::${props.bucketPrefix}*`;
    const associationArn = stack.formatArn({
      service: 'eks',
      resource: 'podidentityassociation',
      resourceName: `${props.clusterName}/*`,
    });

    this.role = new iam.Role(this, 'Role', {
      description: 'Flinkplane control plane (API, reconciler, FlinkCluster custom resource)',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    this.policy = new iam.Policy(this, 'Permissions', {
      statements: [
        new iam.PolicyStatement({
          sid: 'ClusterTable',
          actions: [...TABLE_ACTIONS],
          resources: [props.table.tableArn],
        }),
        new iam.PolicyStatement({ sid: 'TenantBuckets', actions: [...BUCKET_ACTIONS], resources: [bucketArn] }),
        new iam.PolicyStatement({
          sid: 'TenantBucketPurge',
          actions: [...BUCKET_OBJECT_ACTIONS],
          resources: [`${bucketArn}/*`],
        }),
        new iam.PolicyStatement({
          sid: 'TenantJars',
          actions: [...JAR_OBJECT_ACTIONS],
          resources: [`${bucketArn}/${JAR_OBJECT_PREFIX}*`],
        }),
        new iam.PolicyStatement({ sid: 'Cluster', actions: [...CLUSTER_ACTIONS], resources: [props.clusterArn] }),
        new iam.PolicyStatement({
          sid: 'PodIdentityAssociations',
          actions: [...ASSOCIATION_ACTIONS],
          resources: [associationArn],
        }),
        // CreatePodIdentityAssociation with tags also authorizes eks:TagResource; only the tenant tag is allowed.
        new iam.PolicyStatement({
          sid: 'TagPodIdentityAssociations',
          actions: ['eks:TagResource'],
          resources: [associationArn],
          conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [TENANT_TAG] } },
        }),
        new iam.PolicyStatement({
          sid: 'PassTenantRoleToPodIdentity',
          actions: ['iam:PassRole'],
          resources: [props.tenantRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } },
        }),
        new iam.PolicyStatement({
          sid: 'PlatformKey',
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          resources: [props.platformKeySecret.secretArn],
        }),
      ],
    });
    this.role.attachInlinePolicy(this.policy);

    acknowledgeWildcardResource(
      this.policy,
      associationArn,
      "Association ids are assigned by EKS at run time; the wildcard stops at this cluster's associations.",
    );
    acknowledgeWildcardResource(
      this.policy,
      bucketArn,
      'Tenant buckets are created at run time; the wildcard stops at the platform bucket prefix.',
    );
    acknowledgeWildcardResource(
      this.policy,
      `${bucketArn}/${JAR_OBJECT_PREFIX}*`,
      "JARs and presigned JAR uploads: objects under jars/ of platform-prefixed buckets only, never a tenant's state.",
    );
    acknowledgeWildcardResource(
      this.policy,
      `${bucketArn}/*`,
      'Operator purge empties a tenant bucket before deleting it; objects only, in platform-prefixed buckets.',
    );
  }
}
