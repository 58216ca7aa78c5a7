import type { ManifestRenderer } from '../functions/core/control-plane.ts';
import { applyStages, buildTenantManifests, toKubeObject } from './index.ts';

/** The workflow's renderer: every object of the cluster, with the proxy identity, in apply stages. */
export const renderManifestStages: ManifestRenderer = (cluster, identity) =>
  applyStages(buildTenantManifests(cluster, { zookeeperIdentity: identity })).map((stage) =>
    stage.map((manifest) => toKubeObject(manifest.object)),
  );
