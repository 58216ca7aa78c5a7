import { describe, expect, it } from 'vitest';
import { buildTenantManifests } from '../../cluster-templates/index.ts';
import { DESTROYABLE_KINDS, RETAIN_LABEL, TENANT_LABEL } from '../../functions/core/destroy-contract.ts';
import { clusterOf, IDENTITY, NGINX_PLATFORM } from '../cluster-templates/fixtures.ts';

// The templates label what they render; the applier deletes by label within a list of kinds. Both read one module.
describe('destroy contract', () => {
  const renders = [
    buildTenantManifests(clusterOf('acme'), { zookeeperIdentity: IDENTITY }),
    buildTenantManifests(clusterOf('globex', {}, NGINX_PLATFORM), { zookeeperIdentity: IDENTITY }),
  ];
  const destroyable = new Set(DESTROYABLE_KINDS.map(({ apiVersion, kind }) => `${apiVersion} ${kind}`));

  it('lists the kind of every object destroy deletes, so none outlives a destroy', () => {
    for (const manifests of renders) {
      const deleted = manifests.filter((manifest) => !manifest.retained).map((manifest) => manifest.object);
      expect(deleted.length).toBeGreaterThan(0);
      for (const object of deleted) expect(destroyable).toContain(`${object.apiVersion} ${object.kind}`);
    }
  });

  it('labels every object with its tenant and with whether destroy keeps it', () => {
    for (const [index, manifests] of renders.entries()) {
      for (const { object, retained } of manifests) {
        expect(object.metadata?.labels?.[TENANT_LABEL]).toBe(index === 0 ? 'acme' : 'globex');
        expect(object.metadata?.labels?.[RETAIN_LABEL]).toBe(retained ? 'true' : 'false');
      }
    }
  });

  it('keeps the namespace, the JAR volume and the network policies', () => {
    const kept = renders[0]!.filter((manifest) => manifest.retained).map((m) => m.object.kind);
    expect([...new Set(kept)].sort()).toEqual(['Namespace', 'NetworkPolicy', 'PersistentVolumeClaim']);
  });
});
