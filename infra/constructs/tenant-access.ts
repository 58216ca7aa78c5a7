import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { COMPONENT_NAMES } from '../../functions/core/naming.ts';
import { acknowledgeWildcardResource } from '../nag.ts';

/** The namespace prefix of every tenant (`tenant-<tenant>`, see `functions/core/naming.ts`). */
export const TENANT_NAMESPACE_PREFIX = 'tenant-';
/** The EKS Pod Identity session tag with the pod's namespace. */
export const NAMESPACE_TAG = 'kubernetes-namespace';
/** The policy variable every S3 resource of the tenant-pod role is built from. */
export const NAMESPACE_VARIABLE = `\${aws:PrincipalTag/${NAMESPACE_TAG}}`;

export interface TenantAccessProps {
  /** The platform's bucket prefix; it must end with `tenant-` (see the class comment). */
  readonly bucketPrefix: string;
  /** The EKS cluster whose pods may assume the role. */
  readonly clusterName: string;
}

/**
 * The one IAM role every tenant's Flink pods assume through EKS Pod Identity, scoped so that each pod reaches only
 * its own tenant's bucket.
 *
 * Pod Identity gives the role session the tags `eks-cluster-name`, `kubernetes-namespace`,
 * `kubernetes-service-account` (and the pod's name and uid); it cannot add tags of our own, so the association's tags
 * never reach the session. A tenant's namespace is `tenant-<tenant>` and its bucket `<bucketPrefix><tenant>`. IAM policy
 * variables cannot strip the `tenant-` prefix from the tag, and `arn:aws:s3:::<prefix>*` with a condition merely
 * requiring *some* `tenant-*` namespace would let tenant a's pods read tenant b's bucket. The platform therefore
 * requires `bucketPrefix` to end with `tenant-`: then `<bucketPrefix><tenant>` = `<stem>tenant-<tenant>` =
 * `<stem><namespace>`, and the resources are `arn:aws:s3:::<stem>${aws:PrincipalTag/kubernetes-namespace}` (and `/*`).
 * A pod in `tenant-b` resolves the variable to `tenant-b` and matches only `<stem>tenant-b`; a session without the tag
 * matches nothing. The conditions further require the Flink service account, this cluster, and a tenant namespace,
 * and the trust policy admits only such sessions in the first place.
 */
export class TenantAccess extends Construct {
  readonly role: iam.Role;
  /** The bucket ARN pattern of the statements, with the session-tag variable in it. */
  readonly bucketArnPattern: string;

  constructor(scope: Construct, id: string, props: TenantAccessProps) {
    super(scope, id);
    if (!props.bucketPrefix.endsWith(TENANT_NAMESPACE_PREFIX)) {
      throw new Error(
        `bucketPrefix "${props.bucketPrefix}" must end with "${TENANT_NAMESPACE_PREFIX}" so the tenant-pod role can scope ` +
          'each pod to its own bucket by its namespace session tag',
      );
    }
    const stack = Stack.of(this);
    const stem = props.bucketPrefix.slice(0, -TENANT_NAMESPACE_PREFIX.length);
    const tags = {
      StringEquals: {
        [`aws:RequestTag/kubernetes-service-account`]: COMPONENT_NAMES.serviceAccount,
        [`aws:RequestTag/eks-cluster-name`]: props.clusterName,
        'aws:SourceAccount': stack.account,
      },
      StringLike: { [`aws:RequestTag/${NAMESPACE_TAG}`]: `${TENANT_NAMESPACE_PREFIX}*` },
    };

    this.role = new iam.Role(this, 'Role', {
      description: 'Assumed by tenant Flink pods through EKS Pod Identity; reaches only the tenant bucket',
      assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com').withSessionTags().withConditions(tags),
    });

    this.bucketArnPattern = `arn:${stack.partition}:s3:::${stem}${NAMESPACE_VARIABLE}`;
    const sessionIsTenantFlink = {
      StringEquals: {
        'aws:PrincipalTag/kubernetes-service-account': COMPONENT_NAMES.serviceAccount,
        'aws:PrincipalTag/eks-cluster-name': props.clusterName,
      },
      StringLike: { [`aws:PrincipalTag/${NAMESPACE_TAG}`]: `${TENANT_NAMESPACE_PREFIX}*` },
    };
    const policy = new iam.Policy(this, 'OwnBucket', {
      statements: [
        new iam.PolicyStatement({
          sid: 'OwnBucket',
          actions: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
          resources: [this.bucketArnPattern],
          conditions: sessionIsTenantFlink,
        }),
        new iam.PolicyStatement({
          sid: 'OwnObjects',
          actions: [
            's3:GetObject',
            's3:PutObject',
            's3:DeleteObject',
            's3:AbortMultipartUpload',
            's3:ListMultipartUploadParts',
          ],
          resources: [`${this.bucketArnPattern}/*`],
          conditions: sessionIsTenantFlink,
        }),
      ],
    });
    this.role.attachInlinePolicy(policy);
    acknowledgeWildcardResource(
      policy,
      `${this.bucketArnPattern}/*`,
      "Objects of the pod's own tenant bucket only: the bucket name comes from its namespace session tag.",
    );
  }
}
