import type { ManifestRenderer } from '../functions/core/control-plane.ts';
import { applyStages, buildTenantManifests, toKubeObject } from './index.ts';

/** The workflow's renderer: every object of the cluster, with the proxy identity, in apply stages. */
export function createManifestRenderer(options: { controlPlaneAclId?: string } = {}): ManifestRenderer {
  return (cluster, identity) =>
    applyStages(
      buildTenantManifests(cluster, {
        zookeeperIdentity: identity,
        ...(options.controlPlaneAclId ? { controlPlaneAclId: options.controlPlaneAclId } : {}),
      }),
    ).map((stage) => stage.map((manifest) => toKubeObject(manifest.object)));
}

/** The renderer without a control-plane grant, for callers that build a plane of their own (benchmarks, tests). */
export const renderManifestStages: ManifestRenderer = createManifestRenderer();
