import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildTenantManifests,
  buildZooKeeperIngressPolicy,
  type TenantObject,
  toYamlDocuments,
} from '../../cluster-templates/index.ts';
import { FLINK_VERSIONS } from '../../functions/core/catalog.ts';
import { ALB_PLATFORM, key, NGINX_PLATFORM, PROFILE_NAMES, PROFILES, profileCluster } from './fixtures.ts';

/** The kubernetes-models class of each kind, keyed like `apiVersion kind`; their `validate()` checks the OpenAPI schema. */
const MODELS = new Map<string, new (data: never) => { validate(): void }>(
  [
    Namespace,
    ServiceAccount,
    Secret,
    ConfigMap,
    PersistentVolumeClaim,
    Service,
    Deployment,
    NetworkPolicy,
    PodDisruptionBudget,
    Ingress,
  ].map((model) => [
    `${model.apiVersion} ${model.kind}`,
    model as unknown as new (data: never) => { validate(): void },
  ]),
);

function validate(object: TenantObject | object): void {
  const { apiVersion, kind, ...rest } = object as { apiVersion: string; kind: string };
  const Model = MODELS.get(`${apiVersion} ${kind}`);
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  new Model(rest as never).validate();
}

const CASES = PROFILE_NAMES.flatMap((profile) =>
  FLINK_VERSIONS.map((version) => ({ profile, version: version.version })),
);

describe('schema validation against the Kubernetes OpenAPI schemas', () => {
  it.each(CASES)('builds only valid objects for the $profile profile on Flink $version', ({ profile, version }) => {
    const fixture = PROFILES[profile];
    const objects = buildTenantManifests(profileCluster(fixture, { flinkVersion: version }), fixture.options).map(
      (manifest) => manifest.object,
    );
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) expect(() => validate(object), key(object)).not.toThrow();
  });

  it('builds the proxy Secret as a valid object', () => {
    const fixture = PROFILES['default-1.20-nginx'];
    const objects = buildTenantManifests(profileCluster(fixture), { zookeeperIdentity: { user: 'u', password: 'p' } });
    const secret = objects.find((manifest) => manifest.object.kind === 'Secret');
    expect(secret).toBeDefined();
    expect(() => validate(secret!.object)).not.toThrow();
  });

  it.each([NGINX_PLATFORM, ALB_PLATFORM])('builds a valid policy for the ZooKeeper namespace', (platform) => {
    expect(() => validate(buildZooKeeperIngressPolicy(platform))).not.toThrow();
  });

  it('rejects a mutated object, so the validation above can fail', () => {
    const fixture = PROFILES['default-1.20-nginx'];
    const deployment = buildTenantManifests(profileCluster(fixture)).find(
      (manifest) => manifest.object.kind === 'Deployment',
    )!;
    const broken = structuredClone(deployment.object) as { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => validate(broken)).toThrow(/replicas/);
  });
});

describe("round trip through @kubernetes/client-node's models", () => {
  // client-node's serializer keeps only the fields its models know, under their wire names (NetworkPolicy's `from` is
  // `_from` in the model). Loading the rendered YAML and serializing it back must give every object unchanged: no
  // misspelt or unknown field, and the YAML path is a safe way for an applier to get models.
  it.each(PROFILE_NAMES)('keeps every field of the %s profile', (name) => {
    const fixture = PROFILES[name];
    const objects = buildTenantManifests(profileCluster(fixture), fixture.options).map((manifest) => manifest.object);
    const models = loadAllYaml(toYamlDocuments(objects));
    expect(models.map((model) => parse(dumpYaml(model)))).toEqual(JSON.parse(JSON.stringify(objects)));
  });
});
