import { describe, expect, it } from 'vitest';
import { buildTenantManifests, buildZooKeeperIngressPolicy, toYamlDocuments } from '../../cluster-templates/index.ts';
import { NGINX_PLATFORM, PROFILE_NAMES, PROFILES, profileCluster } from './fixtures.ts';

describe('tenant manifests of the pinned profiles', () => {
  it.each(PROFILE_NAMES)('renders the %s profile as pinned', async (name) => {
    const profile = PROFILES[name];
    const manifests = buildTenantManifests(profileCluster(profile), profile.options);
    await expect(toYamlDocuments(manifests.map((manifest) => manifest.object))).toMatchFileSnapshot(
      `./__snapshots__/${name}.yaml`,
    );
  });

  it("renders the ZooKeeper namespace's policy as pinned", async () => {
    await expect(toYamlDocuments([buildZooKeeperIngressPolicy(NGINX_PLATFORM)])).toMatchFileSnapshot(
      './__snapshots__/zookeeper-namespace-policy.yaml',
    );
  });
});
