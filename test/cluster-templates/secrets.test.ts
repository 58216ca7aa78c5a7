import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildTenantManifests, toYamlDocuments } from '../../cluster-templates/index.ts';
import { POD_IDENTITY_ROLE_ANNOTATION } from '../../cluster-templates/service-account.ts';
import { buildZooKeeperProxySecret } from '../../cluster-templates/zookeeper-proxy.ts';
import { acmeObjects, clusterOf, DEFAULT_PLATFORM, find, IDENTITY, key } from './fixtures.ts';

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('ZooKeeper proxy identity', () => {
  it('builds no Secret when no identity is passed', () => {
    const objects = buildTenantManifests(clusterOf('acme')).map((manifest) => manifest.object);
    expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
    expect(toYamlDocuments(objects)).not.toContain(IDENTITY.password);
  });

  it('holds user:password under the key identity when an identity is passed', () => {
    const secret = find<V1Secret>(acmeObjects(), 'Secret', 'zookeeper-proxy-identity');
    expect(Buffer.from(secret.data!.identity!, 'base64').toString('utf8')).toBe(
      `${IDENTITY.user}:${IDENTITY.password}`,
    );
  });

  it('puts the password in the Secret and nowhere else', () => {
    for (const object of acmeObjects()) {
      if (object.kind === 'Secret') continue;
      const text = toYamlDocuments([object]);
      expect(text, key(object)).not.toContain(IDENTITY.password);
      expect(text, key(object)).not.toContain(base64(`${IDENTITY.user}:${IDENTITY.password}`));
    }
  });

  it("carries the control plane's ACL id in the Secret, never in the pod spec", () => {
    const aclId = 'flinkplane:0123456789abcdefABCDEF+/xyz=';
    const objects = buildTenantManifests(clusterOf('acme'), {
      zookeeperIdentity: IDENTITY,
      controlPlaneAclId: aclId,
    }).map((manifest) => manifest.object);
    const secret = find<V1Secret>(objects, 'Secret', 'zookeeper-proxy-identity');
    expect(Buffer.from(secret.data!['grant-acl']!, 'base64').toString('utf8')).toBe(`digest:${aclId}\n`);
    for (const object of objects.filter((candidate) => candidate.kind !== 'Secret')) {
      expect(toYamlDocuments([object]), key(object)).not.toContain(aclId);
    }
  });

  it('refuses a user that would break the user:password format', () => {
    expect(() => buildZooKeeperProxySecret(clusterOf('acme'), { user: 'a:b', password: 'p' })).toThrow(/user/);
    expect(() => buildZooKeeperProxySecret(clusterOf('acme'), { user: 'a', password: 'p\nq' })).toThrow(
      /single-line password/,
    );
  });
});

describe('service account', () => {
  it("records the tenant role for EKS Pod Identity and never asks IRSA's webhook for it", () => {
    const account = find(acmeObjects(), 'ServiceAccount', 'flink-cluster');
    expect(account.metadata?.annotations).toEqual({
      [POD_IDENTITY_ROLE_ANNOTATION]: 'arn:aws:iam::123456789012:role/flinkplane-tenant',
    });
  });

  it('carries no role annotation when the platform has no tenant role', () => {
    const account = find(acmeObjects({}, DEFAULT_PLATFORM), 'ServiceAccount', 'flink-cluster');
    expect(account.metadata?.annotations).toBeUndefined();
  });
});
