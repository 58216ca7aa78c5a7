import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { haClusterId, haLocations, tenantNames } from '../../functions/core/naming.ts';
import type { PlatformSettings } from '../../functions/core/platform.ts';
import {
  arnOf,
  bucketPolicyOf,
  type Caller,
  type Decision,
  decide,
  identityPoliciesOf,
  resolve,
  type SimulatedRequest,
} from './iam-simulation.ts';
import { ACCOUNT, REGION, resourcesOf, synthPlatform } from './support.ts';

/*
 * The IAM side of tenant isolation, judged by iam-simulate on the synthesized platform template: the tenant-pod role
 * (identity and trust policy), the control-plane role, and the bucket policies, for a tenant's own bucket and another
 * tenant's, under every prefix Flink writes. Tenant buckets are created at run time by the S3 bucket store with Block
 * Public Access and no bucket policy; the console buckets carry the template's bucket policies.
 */

let template: Template;
let platform: PlatformSettings;
let tenantRole: string;
let controlPlaneRole: string;
let consoleBucket: string;

beforeAll(() => {
  const synthesized = synthPlatform();
  template = synthesized.template;
  platform = synthesized.stack.platformSettings;
  const roleId = (prefix: string) => {
    const ids = Object.keys(resourcesOf(template, 'AWS::IAM::Role')).filter((id) => id.startsWith(prefix));
    expect(ids, prefix).toHaveLength(1);
    return ids[0]!;
  };
  tenantRole = roleId('TenantAccessRole');
  controlPlaneRole = roleId('ControlPlaneRole');
  consoleBucket = Object.keys(resourcesOf(template, 'AWS::S3::Bucket')).find((id) => id.startsWith('ConsoleBucket'))!;
});

const bucketArn = (tenant: string) => `arn:aws:s3:::${tenantNames(tenant, platform).bucket}`;

/**
 * Object keys under each prefix Flink writes in a tenant bucket (from `haLocations`, the paths the rendered
 * configuration names). JARs: with ZooKeeper HA, Flink's blob store keeps the submitted job JARs under the HA storage
 * directory (`<storageDir>/<cluster-id>/blob/job_<id>/`); the HA metadata (job graphs, completed checkpoint pointers)
 * sits next to it.
 */
function keysOf(tenant: string): Record<'checkpoint' | 'savepoint' | 'jar' | 'ha', string> {
  const clusterId = haClusterId(tenant, 1);
  const locations = haLocations(tenantNames(tenant, platform), clusterId);
  const inBucket = (url: string) => url.replace(`s3://${tenantNames(tenant, platform).bucket}/`, '');
  const job = '8f2c1d0a9e3b4c5d6e7f8091a2b3c4d5';
  return {
    checkpoint: `${inBucket(locations.checkpointsDir)}/${job}/chk-12/_metadata`,
    savepoint: `${inBucket(locations.savepointsDir)}/savepoint-8f2c1d-0a9e3b4c5d6e/_metadata`,
    jar: `${inBucket(locations.storageDir)}/${clusterId}/blob/job_${job}/blob_p-3f1e2d-0a1b2c3d`,
    ha: `${inBucket(locations.storageDir)}/${clusterId}/completedCheckpoint4a5b6c7d8e9f`,
  };
}

const OBJECT_ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
];

/** The S3 requests of one tenant bucket: the object actions on a key of each prefix, and a listing of each prefix. */
function bucketRequests(tenant: string, actions: readonly string[] = OBJECT_ACTIONS): SimulatedRequest[] {
  const keys = Object.values(keysOf(tenant));
  return [
    ...keys.flatMap((key) => actions.map((action) => ({ action, resource: `${bucketArn(tenant)}/${key}` }))),
    ...keys.map((key) => ({
      action: 's3:ListBucket',
      resource: bucketArn(tenant),
      context: { 's3:prefix': key.slice(0, key.lastIndexOf('/') + 1) },
    })),
  ].map((request) => ({ ...request, blockPublicAccess: true }));
}

/** Each request with its decision, as `<action> <resource>: <decision>` lines, for readable failures. */
async function decisions(caller: Caller, requests: readonly SimulatedRequest[]): Promise<string[]> {
  const answers = await Promise.all(requests.map((request) => decide(caller, request)));
  return requests.map((request, index) => `${request.action} ${request.resource}: ${answers[index]}`);
}

function expectAll(lines: readonly string[], decision: Decision): void {
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.filter((line) => !line.endsWith(`: ${decision}`))).toEqual([]);
}

/** The role session EKS Pod Identity hands a pod: the pod's namespace and service account as session tags. */
function podSession(namespace: string | undefined, tags: Record<string, string | undefined> = {}): Caller {
  const all: Record<string, string | undefined> = {
    'eks-cluster-arn': `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/flinkplane`,
    'eks-cluster-name': 'flinkplane',
    'kubernetes-namespace': namespace,
    'kubernetes-service-account': 'flink-cluster',
    'kubernetes-pod-name': 'flink-cluster-taskmanager-7d9f-abcde',
    'kubernetes-pod-uid': '0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9',
    ...tags,
  };
  const context = Object.fromEntries(
    Object.entries(all)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, value]) => [`aws:PrincipalTag/${key}`, value]),
  );
  return {
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${tenantRole}/eks-flinkplane-flink-clus-0f1e2d3c`,
    identityPolicies: identityPoliciesOf(template, tenantRole),
    context,
  };
}

function controlPlane(): Caller {
  return {
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${controlPlaneRole}/flinkplane-api`,
    identityPolicies: identityPoliciesOf(template, controlPlaneRole),
  };
}

describe('the tenant-pod role, judged by iam-simulate', () => {
  const tenants = ['acme', 'beta', 'a', 'ab', 'a-b'];
  const grid = tenants.flatMap((pod) => tenants.map((bucket) => [pod, bucket] as const));

  it.each(grid)(
    'lets a Pod Identity session of tenant-%s reach the checkpoint, savepoint, JAR and HA prefixes of the bucket of %s only when they are the same tenant',
    async (pod, bucket) => {
      const lines = await decisions(podSession(tenantNames(pod, platform).namespace), bucketRequests(bucket));
      expectAll(lines, pod === bucket ? 'Allowed' : 'ImplicitlyDenied');
    },
  );

  it('refuses sessions that are not a tenant Flink pod of this cluster, even on a bucket named after their namespace', async () => {
    const acme = tenantNames('acme', platform).namespace;
    const cases: [string, Caller, string][] = [
      ['a system namespace', podSession('kube-system'), 'arn:aws:s3:::flinkplane-kube-system'],
      ['no namespace tag', podSession(undefined), bucketArn('acme')],
      ['an empty namespace tag', podSession(''), 'arn:aws:s3:::flinkplane-'],
      ['another service account', podSession(acme, { 'kubernetes-service-account': 'default' }), bucketArn('acme')],
      ['another cluster', podSession(acme, { 'eks-cluster-name': 'other' }), bucketArn('acme')],
      ['a wildcard in the tag', podSession('tenant-*'), bucketArn('acme')],
    ];
    for (const [name, caller, bucket] of cases) {
      const lines = await decisions(caller, [
        { action: 's3:ListBucket', resource: bucket },
        { action: 's3:GetObject', resource: `${bucket}/${keysOf('acme').checkpoint}` },
        { action: 's3:PutObject', resource: `${bucket}/${keysOf('acme').savepoint}` },
      ]);
      expect(
        lines.filter((line) => !line.endsWith(': ImplicitlyDenied')),
        name,
      ).toEqual([]);
    }
  });

  it('grants no bucket administration, ACL or versioned-object action, even in its own bucket', async () => {
    const own = bucketArn('acme');
    const lines = await decisions(podSession(tenantNames('acme', platform).namespace), [
      ...[
        's3:DeleteBucket',
        's3:PutBucketPolicy',
        's3:GetBucketAcl',
        's3:PutBucketVersioning',
        's3:PutLifecycleConfiguration',
      ].map((action) => ({ action, resource: own })),
      ...['s3:PutObjectAcl', 's3:DeleteObjectVersion', 's3:GetObjectVersion', 's3:PutObjectTagging'].map((action) => ({
        action,
        resource: `${own}/${keysOf('acme').checkpoint}`,
      })),
      { action: 's3:ListAllMyBuckets', resource: '*' },
    ]);
    expectAll(lines, 'ImplicitlyDenied');
  });

  it('is assumable only by EKS Pod Identity for the Flink service account of a tenant namespace in this account', async () => {
    const trust = resolve(
      template,
      resourcesOf(template, 'AWS::IAM::Role')[tenantRole]!.Properties.AssumeRolePolicyDocument,
    );
    const assume = async (
      service: string,
      tags: Record<string, string>,
      sourceAccount = ACCOUNT,
    ): Promise<Decision[]> =>
      Promise.all(
        ['sts:AssumeRole', 'sts:TagSession'].map((action) =>
          decide(
            { principal: service, identityPolicies: [] },
            {
              action,
              resource: arnOf(template, tenantRole),
              resourcePolicy: trust,
              context: {
                'aws:SourceAccount': sourceAccount,
                ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:RequestTag/${key}`, value])),
              },
            },
          ),
        ),
      );
    const tags = (namespace: string, overrides: Record<string, string> = {}) => ({
      'kubernetes-namespace': namespace,
      'kubernetes-service-account': 'flink-cluster',
      'eks-cluster-name': 'flinkplane',
      ...overrides,
    });
    const pods = 'pods.eks.amazonaws.com';
    expect(await assume(pods, tags('tenant-acme'))).toEqual(['Allowed', 'Allowed']);
    expect(await assume(pods, tags('kube-system'))).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
    expect(await assume(pods, tags('tenant-acme', { 'kubernetes-service-account': 'default' }))).toEqual([
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
    expect(await assume(pods, tags('tenant-acme', { 'eks-cluster-name': 'other' }))).toEqual([
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
    expect(await assume(pods, tags('tenant-acme'), '222222222222')).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
    expect(await assume('ec2.amazonaws.com', tags('tenant-acme'))).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  });
});

describe('the control-plane role, judged by iam-simulate', () => {
  const BUCKET_LIFECYCLE = [
    's3:CreateBucket',
    's3:ListBucket',
    's3:ListBucketVersions',
    's3:PutEncryptionConfiguration',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketVersioning',
    's3:PutBucketTagging',
    's3:DeleteBucket',
  ];

  it.each(['acme', 'beta'])(
    "creates, configures and deletes the bucket of %s and empties every prefix of it, but reads and writes none of the tenant's data",
    async (tenant) => {
      const caller = controlPlane();
      const manage = await decisions(caller, [
        ...BUCKET_LIFECYCLE.map((action) => ({ action, resource: bucketArn(tenant) })),
        ...Object.values(keysOf(tenant)).flatMap((key) =>
          ['s3:DeleteObject', 's3:DeleteObjectVersion'].map((action) => ({
            action,
            resource: `${bucketArn(tenant)}/${key}`,
          })),
        ),
      ]);
      expectAll(manage, 'Allowed');
      const data = await decisions(
        caller,
        bucketRequests(tenant, ['s3:GetObject', 's3:PutObject', 's3:GetObjectVersion']).filter(
          (request) => request.action !== 's3:ListBucket',
        ),
      );
      expectAll(data, 'ImplicitlyDenied');
    },
  );

  it('reaches no bucket outside the platform prefix, the console bucket included', async () => {
    const outside = [
      'arn:aws:s3:::flinkplane-other',
      'arn:aws:s3:::someone-elses-tenant-acme',
      arnOf(template, consoleBucket),
    ];
    const lines = await decisions(
      controlPlane(),
      outside.flatMap((bucket) => [
        { action: 's3:CreateBucket', resource: bucket },
        { action: 's3:DeleteBucket', resource: bucket },
        { action: 's3:PutBucketTagging', resource: bucket },
        { action: 's3:DeleteObject', resource: `${bucket}/index.html` },
      ]),
    );
    expectAll(lines, 'ImplicitlyDenied');
  });

  it('passes the tenant-pod role only to EKS Pod Identity, and no other role', async () => {
    const pass = (role: string, service: string) =>
      decide(controlPlane(), {
        action: 'iam:PassRole',
        resource: arnOf(template, role),
        context: { 'iam:PassedToService': service },
      });
    expect(await pass(tenantRole, 'pods.eks.amazonaws.com')).toBe('Allowed');
    expect(await pass(tenantRole, 'ec2.amazonaws.com')).toBe('ImplicitlyDenied');
    expect(await pass(controlPlaneRole, 'pods.eks.amazonaws.com')).toBe('ImplicitlyDenied');
  });

  it('reaches only its own table and the platform key secret', async () => {
    const table = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table'))[0]!;
    const secret = Object.keys(resourcesOf(template, 'AWS::SecretsManager::Secret')).find((id) =>
      id.startsWith('PlatformKeySecret'),
    )!;
    const secretArn = resolve(template, { Ref: secret }) as string;
    const otherTable = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/other`;
    const otherSecret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:other-AbCdEf`;
    const caller = controlPlane();
    expectAll(
      await decisions(caller, [
        { action: 'dynamodb:GetItem', resource: arnOf(template, table) },
        { action: 'dynamodb:Scan', resource: arnOf(template, table) },
        { action: 'secretsmanager:GetSecretValue', resource: secretArn },
      ]),
      'Allowed',
    );
    expectAll(
      await decisions(caller, [
        { action: 'dynamodb:DeleteTable', resource: arnOf(template, table) },
        { action: 'dynamodb:GetItem', resource: otherTable },
        { action: 'secretsmanager:GetSecretValue', resource: otherSecret },
        { action: 'secretsmanager:PutSecretValue', resource: secretArn },
      ]),
      'ImplicitlyDenied',
    );
  });
});

describe('an anonymous caller, judged by iam-simulate', () => {
  // Tenant buckets carry no bucket policy: the bucket store writes none, and the control plane may not give them one.
  it.each(['acme', 'beta'])(
    'reaches no prefix of the bucket of %s, which no one on the platform can open',
    async (tenant) => {
      const policyActions = ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:PutBucketAcl', 's3:PutObjectAcl'];
      const opening = await decisions(controlPlane(), [
        ...policyActions.slice(0, 3).map((action) => ({ action, resource: bucketArn(tenant) })),
        { action: policyActions[3]!, resource: `${bucketArn(tenant)}/${keysOf(tenant).checkpoint}` },
      ]);
      expectAll(opening, 'ImplicitlyDenied');
      const lines = await decisions({ principal: 'anonymous' }, bucketRequests(tenant));
      expectAll(lines, 'ImplicitlyDenied');
    },
  );

  it('reads nothing from the console buckets directly, past CloudFront', async () => {
    const buckets = Object.keys(resourcesOf(template, 'AWS::S3::Bucket'));
    expect(buckets.length).toBeGreaterThanOrEqual(2);
    const lines = await decisions(
      { principal: 'anonymous' },
      buckets.flatMap((bucket) => [
        {
          action: 's3:GetObject',
          resource: `${arnOf(template, bucket)}/index.html`,
          resourcePolicy: bucketPolicyOf(template, bucket),
          blockPublicAccess: true,
        },
        {
          action: 's3:ListBucket',
          resource: arnOf(template, bucket),
          resourcePolicy: bucketPolicyOf(template, bucket),
          blockPublicAccess: true,
        },
      ]),
    );
    expectAll(lines, 'ImplicitlyDenied');
  });
});

describe('the console bucket policies, judged by iam-simulate', () => {
  const distribution = () => Object.keys(resourcesOf(template, 'AWS::CloudFront::Distribution'))[0]!;
  const viaCloudFront = (sourceArn: string, secure = 'true') =>
    decide(
      { principal: 'cloudfront.amazonaws.com', identityPolicies: [] },
      {
        action: 's3:GetObject',
        resource: `${arnOf(template, consoleBucket)}/index.html`,
        resourcePolicy: bucketPolicyOf(template, consoleBucket),
        context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': secure },
        blockPublicAccess: true,
      },
    );

  it("serves the console's objects to its own CloudFront distribution only, over TLS only", async () => {
    expect(await viaCloudFront(arnOf(template, distribution()))).toBe('Allowed');
    expect(await viaCloudFront(`arn:aws:cloudfront::${ACCOUNT}:distribution/EOTHER`)).toBe('ImplicitlyDenied');
    expect(await viaCloudFront(arnOf(template, distribution()), 'false')).toBe('ExplicitlyDenied');
  });

  it('lets no tenant pod session reach the console bucket, and denies even an allowed principal without TLS', async () => {
    const bucket = arnOf(template, consoleBucket);
    const policy = bucketPolicyOf(template, consoleBucket);
    const pod = await decisions(podSession(tenantNames('acme', platform).namespace), [
      { action: 's3:GetObject', resource: `${bucket}/index.html`, resourcePolicy: policy },
      { action: 's3:PutObject', resource: `${bucket}/index.html`, resourcePolicy: policy },
    ]);
    expectAll(pod, 'ImplicitlyDenied');
    const deployer = Object.keys(resourcesOf(template, 'AWS::IAM::Role')).find((id) =>
      id.startsWith('CustomCDKBucketDeployment'),
    )!;
    const deploy = (secure: string) =>
      decide(
        {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${deployer}/deploy`,
          identityPolicies: identityPoliciesOf(template, deployer),
        },
        {
          action: 's3:PutObject',
          resource: `${bucket}/index.html`,
          resourcePolicy: policy,
          context: { 'aws:SecureTransport': secure },
        },
      );
    expect(await deploy('true')).toBe('Allowed');
    expect(await deploy('false')).toBe('ExplicitlyDenied');
  });
});
