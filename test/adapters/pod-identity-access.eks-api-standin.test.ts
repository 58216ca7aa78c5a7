import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPodIdentityAccess } from '../../functions/adapters/pod-identity-access.ts';
import type { TenantAccess } from '../../functions/core/ports.ts';
import { type EksApiStandin, startEksApiStandin } from './eks-api-standin.ts';

const CLUSTER = 'flinkplane-prod';
const ROLE = 'arn:aws:iam::111122223333:role/flinkplane-tenant-bucket';

let eks: EksApiStandin;
let access: TenantAccess;

beforeAll(async () => {
  eks = await startEksApiStandin({ region: 'eu-west-1', clusters: [{ name: CLUSTER }], listPageSize: 1 });
  access = createPodIdentityAccess({ eks: eks.client, clusterName: CLUSTER, roleArn: ROLE });
});

afterEach(() => {
  eks.associations.splice(0);
  eks.beforeRequest = undefined;
});

afterAll(async () => {
  await eks?.stop();
});

const associationsOf = (namespace: string) => eks.associations.filter((entry) => entry.namespace === namespace);

describe('grant', () => {
  it('associates the service account with the bucket role, tagged with the tenant', async () => {
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    expect(eks.associations).toEqual([
      expect.objectContaining({
        clusterName: CLUSTER,
        namespace: 'tenant-acme',
        serviceAccount: 'flink-cluster',
        roleArn: ROLE,
        tags: { 'flinkplane.io/tenant': 'acme' },
      }),
    ]);
    expect(await access.hasAccess('acme', 'tenant-acme', 'flink-cluster')).toBe(true);
  });

  it('creates nothing more when granted again', async () => {
    const posts = () => eks.requests.filter((request) => request.startsWith('POST ')).length;
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    const afterFirst = posts();
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    expect(associationsOf('tenant-acme')).toHaveLength(1);
    expect(posts()).toBe(afterFirst);
  });

  it('treats an association created concurrently between list and create as granted', async () => {
    eks.beforeRequest = (method) => {
      if (method !== 'POST') return;
      eks.beforeRequest = undefined;
      eks.associations.push({
        clusterName: CLUSTER,
        namespace: 'tenant-acme',
        serviceAccount: 'flink-cluster',
        roleArn: ROLE,
        associationArn: 'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/flinkplane-prod/a-concurrent',
        associationId: 'a-concurrent',
        tags: { 'flinkplane.io/tenant': 'acme' },
        createdAt: 0,
        modifiedAt: 0,
      });
    };
    await expect(access.grant('acme', 'tenant-acme', 'flink-cluster')).resolves.toBeUndefined();
    expect(associationsOf('tenant-acme').map((entry) => entry.associationId)).toEqual(['a-concurrent']);
  });

  it('keeps tenants apart', async () => {
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    expect(await access.hasAccess('globex', 'tenant-globex', 'flink-cluster')).toBe(false);
    expect(await access.hasAccess('acme', 'tenant-acme', 'other-account')).toBe(false);
  });
});

describe('revoke', () => {
  it('deletes the association, and again without error', async () => {
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    await access.grant('globex', 'tenant-globex', 'flink-cluster');
    await access.revoke('acme', 'tenant-acme', 'flink-cluster');
    expect(await access.hasAccess('acme', 'tenant-acme', 'flink-cluster')).toBe(false);
    await expect(access.revoke('acme', 'tenant-acme', 'flink-cluster')).resolves.toBeUndefined();
    expect(await access.hasAccess('globex', 'tenant-globex', 'flink-cluster')).toBe(true);
  });

  it('deletes every association of the service account across list pages', async () => {
    for (const id of ['a-one', 'a-two', 'a-three']) {
      eks.associations.push({
        clusterName: CLUSTER,
        namespace: 'tenant-acme',
        serviceAccount: 'flink-cluster',
        roleArn: ROLE,
        associationArn: `arn:aws:eks:eu-west-1:111122223333:podidentityassociation/${CLUSTER}/${id}`,
        associationId: id,
        tags: {},
        createdAt: 0,
        modifiedAt: 0,
      });
    }
    await access.revoke('acme', 'tenant-acme', 'flink-cluster');
    expect(associationsOf('tenant-acme')).toEqual([]);
  });

  it('tolerates an association deleted concurrently between list and delete', async () => {
    await access.grant('acme', 'tenant-acme', 'flink-cluster');
    eks.beforeRequest = (method) => {
      if (method === 'DELETE') eks.associations.splice(0);
    };
    await expect(access.revoke('acme', 'tenant-acme', 'flink-cluster')).resolves.toBeUndefined();
    expect(eks.requests.at(-1)).toMatch(/^DELETE \/clusters\/flinkplane-prod\/pod-identity-associations\/a-/);
  });
});
