import type { V1Deployment, V1Ingress, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  APPLY_STAGES,
  applyStages,
  buildTenantManifests,
  deleteOnDestroySelector,
  destroyStages,
  isRetained,
  RETAIN_LABEL,
  retainedSelector,
  TENANT_LABEL,
  type TenantObject,
  tenantSelector,
  toKubeObject,
  toYamlDocuments,
} from '../../cluster-templates/index.ts';
import { LABELS } from '../../cluster-templates/labels.ts';
import { acmeObjects, clusterOf, find, IDENTITY, key, NGINX_PLATFORM } from './fixtures.ts';

const RETAINED = ['Namespace/tenant-acme', 'PersistentVolumeClaim/faas-volume'];

function podTemplates(objects: readonly TenantObject[]) {
  return objects
    .filter((object): object is V1Deployment => object.kind === 'Deployment')
    .map((deployment) => ({ name: deployment.metadata!.name!, template: deployment.spec!.template }));
}

/** Documents keyed by `Kind/name`, as YAML, so two renders can be compared object by object. */
function byKey(objects: readonly TenantObject[]): Map<string, string> {
  return new Map(objects.map((object) => [key(object), toYamlDocuments([object])]));
}

function changedKeys(before: readonly TenantObject[], after: readonly TenantObject[]): string[] {
  const a = byKey(before);
  const b = byKey(after);
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((name) => a.get(name) !== b.get(name)).sort();
}

describe('labels', () => {
  it('labels every object and pod template with the tenant and the standard app labels', () => {
    const objects = acmeObjects();
    const labelled = [
      ...objects.map((object) => ({ what: key(object), labels: object.metadata?.labels ?? {} })),
      ...podTemplates(objects).map(({ name, template }) => ({
        what: `pod of ${name}`,
        labels: template.metadata?.labels ?? {},
      })),
    ];
    for (const { what, labels } of labelled) {
      expect(labels[TENANT_LABEL], what).toBe('acme');
      expect(labels[LABELS.partOf], what).toBe('flinkplane');
      expect(labels[LABELS.managedBy], what).toBe('flinkplane');
      expect(labels[LABELS.instance], what).toBe('tenant-acme');
      for (const label of [LABELS.name, LABELS.component, LABELS.version])
        expect(labels[label], `${what} ${label}`).toBeTruthy();
    }
  });

  it('marks only the Namespace, the JAR volume and the network policies as retained', () => {
    for (const object of acmeObjects()) {
      const expected = RETAINED.includes(key(object)) || object.kind === 'NetworkPolicy' ? 'true' : 'false';
      expect(object.metadata?.labels?.[RETAIN_LABEL], key(object)).toBe(expected);
    }
  });

  it('reports retention in the manifest as the label says', () => {
    const manifests = buildTenantManifests(clusterOf('acme'), { zookeeperIdentity: IDENTITY });
    expect(manifests.filter((manifest) => manifest.retained).map((manifest) => manifest.object.kind)).toEqual([
      'Namespace',
      'PersistentVolumeClaim',
      ...Array(7).fill('NetworkPolicy'),
    ]);
    for (const manifest of manifests) expect(manifest.retained).toBe(isRetained(manifest.object));
  });

  it('labels the Flink version on the Flink objects and the proxy tag on the proxy objects', () => {
    const objects = acmeObjects({ flinkVersion: '2.1' });
    expect(find(objects, 'Deployment', 'flink-cluster-jobmanager').metadata?.labels?.[LABELS.version]).toBe('2.1.3');
    expect(find(objects, 'Deployment', 'zookeeper-proxy').metadata?.labels?.[LABELS.version]).toBe('0.3.2');
  });

  it('sets the tenant namespace on every namespaced object', () => {
    for (const object of acmeObjects()) {
      if (object.kind === 'Namespace') expect(object.metadata?.namespace).toBeUndefined();
      else expect(object.metadata?.namespace, key(object)).toBe('tenant-acme');
    }
  });

  it('selects pods with labels their own template carries', () => {
    const objects = acmeObjects();
    for (const deployment of objects.filter((object): object is V1Deployment => object.kind === 'Deployment')) {
      expect(deployment.spec?.template.metadata?.labels).toMatchObject(deployment.spec!.selector.matchLabels!);
    }
    const jobManagerPods = find<V1Deployment>(objects, 'Deployment', 'flink-cluster-jobmanager').spec!.template
      .metadata!.labels!;
    const proxyPods = find<V1Deployment>(objects, 'Deployment', 'zookeeper-proxy').spec!.template.metadata!.labels!;
    expect(jobManagerPods).toMatchObject(
      find<V1Service>(objects, 'Service', 'flink-cluster-jobmanager').spec!.selector!,
    );
    expect(proxyPods).toMatchObject(find<V1Service>(objects, 'Service', 'zookeeper-proxy').spec!.selector!);
  });

  it('enforces the restricted Pod Security Standard on the namespace', () => {
    const namespace = find(acmeObjects(), 'Namespace', 'tenant-acme');
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('label selectors for the applier', () => {
  it('selects what destroy deletes and what it keeps by tenant and retain label', () => {
    expect(tenantSelector('acme')).toBe('flinkplane.io/tenant=acme');
    expect(deleteOnDestroySelector('acme')).toBe('flinkplane.io/tenant=acme,flinkplane.io/retain-on-destroy=false');
    expect(retainedSelector('acme')).toBe('flinkplane.io/tenant=acme,flinkplane.io/retain-on-destroy=true');
  });
});

describe('order and stages', () => {
  it('lists the objects in dependency order', () => {
    expect(acmeObjects().map(key)).toEqual([
      'Namespace/tenant-acme',
      'ServiceAccount/flink-cluster',
      'Secret/zookeeper-proxy-identity',
      'ConfigMap/flink-cluster-config',
      'PersistentVolumeClaim/faas-volume',
      'NetworkPolicy/default-deny',
      'NetworkPolicy/flink-cluster-internal',
      'NetworkPolicy/flink-cluster-ui-from-ingress-controller',
      'NetworkPolicy/metrics-from-monitoring',
      'NetworkPolicy/zookeeper-proxy-from-flink',
      'NetworkPolicy/flink-cluster-egress',
      'NetworkPolicy/zookeeper-proxy-egress',
      'Service/flink-cluster-jobmanager',
      'Service/zookeeper-proxy',
      'Deployment/zookeeper-proxy',
      'Deployment/flink-cluster-jobmanager',
      'Deployment/flink-cluster-taskmanager',
      'PodDisruptionBudget/flink-cluster-taskmanager',
      'Ingress/flink-cluster-ui',
    ]);
  });

  it('never puts an object in an earlier stage than the one before it', () => {
    const stages = buildTenantManifests(clusterOf('acme')).map((manifest) => manifest.stage);
    expect(stages).toEqual([...stages].sort((a, b) => a - b));
  });

  it('groups the objects into stages: the namespace alone first, isolation before any pod, the vhost last', () => {
    const groups = applyStages(buildTenantManifests(clusterOf('acme'), { zookeeperIdentity: IDENTITY })).map((group) =>
      group.map((manifest) => key(manifest.object)),
    );
    expect(groups).toHaveLength(Object.keys(APPLY_STAGES).length);
    expect(groups[0]).toEqual(['Namespace/tenant-acme']);
    const stageOf = (name: string) => groups.findIndex((group) => group.includes(name));
    for (const policy of groups.flat().filter((name) => name.startsWith('NetworkPolicy/'))) {
      expect(stageOf(policy)).toBeLessThan(stageOf('Deployment/zookeeper-proxy'));
    }
    expect(stageOf('Secret/zookeeper-proxy-identity')).toBeLessThan(stageOf('Deployment/zookeeper-proxy'));
    expect(stageOf('Deployment/zookeeper-proxy')).toBeLessThan(stageOf('Deployment/flink-cluster-jobmanager'));
    expect(groups.at(-1)).toEqual(['Ingress/flink-cluster-ui']);
  });

  it('destroys only what is not retained, the vhost first', () => {
    const groups = destroyStages(buildTenantManifests(clusterOf('acme'))).map((group) =>
      group.map((manifest) => key(manifest.object)),
    );
    expect(groups[0]).toEqual(['Ingress/flink-cluster-ui']);
    const deleted = groups.flat();
    expect(deleted).not.toContain('Namespace/tenant-acme');
    expect(deleted).not.toContain('PersistentVolumeClaim/faas-volume');
    expect(deleted.filter((name) => name.startsWith('NetworkPolicy/'))).toEqual([]);
    expect(deleted).toContain('Deployment/flink-cluster-jobmanager');
  });
});

describe('toYamlDocuments', () => {
  it('writes one document per object that parses back to the object', () => {
    const objects = acmeObjects();
    const documents = parseAllDocuments(toYamlDocuments(objects));
    expect(documents.map((document) => document.toJS())).toEqual(JSON.parse(JSON.stringify(objects)));
  });

  it('writes the same text whatever order the keys were built in', () => {
    const object = find(acmeObjects(), 'Deployment', 'flink-cluster-jobmanager');
    const reversed = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reversed)
        : value && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([name, item]) => [name, reversed(item)]),
            )
          : value;
    const text = toYamlDocuments([object]);
    expect(toYamlDocuments([reversed(object) as object])).toBe(text);
    expect(
      text.startsWith('---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: flink-cluster-jobmanager\n'),
    ).toBe(true);
  });
});

describe('what a change touches', () => {
  it('changes only the TaskManager Deployment when only the instances change', () => {
    expect(changedKeys(acmeObjects(), acmeObjects({ taskManager: { instances: 5 } }))).toEqual([
      'Deployment/flink-cluster-taskmanager',
    ]);
  });

  it('changes the config checksum of both roles when the tenant changes a Flink key', () => {
    const checksums = (objects: readonly TenantObject[]) =>
      podTemplates(objects)
        .filter(({ name }) => name.startsWith('flink-cluster-'))
        .map(({ template }) => template.metadata?.annotations?.['flinkplane.io/config-checksum']);
    const before = checksums(acmeObjects());
    const after = checksums(acmeObjects({ flinkConfiguration: { 'pipeline.max-parallelism': 64 } }));
    expect(before).toHaveLength(2);
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
  });

  it('leaves the JobManager running when only the TaskManager memory changes', () => {
    expect(changedKeys(acmeObjects(), acmeObjects({ taskManager: { memoryMB: 4096 } }))).toEqual([
      'ConfigMap/flink-cluster-config',
      'Deployment/flink-cluster-taskmanager',
    ]);
  });
});

describe('two tenants', () => {
  it('share no namespace and no name outside their namespace', () => {
    const acme = acmeObjects();
    const globex = buildTenantManifests(clusterOf('globex'), { zookeeperIdentity: IDENTITY }).map((m) => m.object);
    const namespaces = (objects: readonly TenantObject[]) =>
      new Set(objects.map((object) => object.metadata?.namespace).filter(Boolean));
    expect(namespaces(acme)).toEqual(new Set(['tenant-acme']));
    expect(namespaces(globex)).toEqual(new Set(['tenant-globex']));
    const clusterScoped = (objects: readonly TenantObject[]) =>
      objects.filter((object) => !object.metadata?.namespace).map(key);
    expect(clusterScoped(acme)).toEqual(['Namespace/tenant-acme']);
    expect(clusterScoped(globex)).toEqual(['Namespace/tenant-globex']);
    const hosts = (objects: readonly TenantObject[]) =>
      find<V1Ingress>(objects, 'Ingress', 'flink-cluster-ui').spec?.rules?.map((rule) => rule.host);
    expect(hosts(acme)).toEqual(['flink-cluster-ui-acme.flink.example.com']);
    expect(hosts(globex)).toEqual(['flink-cluster-ui-globex.flink.example.com']);
  });

  it('confines each proxy to its own tenant chroot', () => {
    const chroot = (tenant: string) => {
      const objects = buildTenantManifests(clusterOf(tenant, {}, NGINX_PLATFORM)).map((m) => m.object);
      const args = find<V1Deployment>(objects, 'Deployment', 'zookeeper-proxy').spec!.template.spec!.containers[0]!
        .args!;
      return args[args.indexOf('--chroot') + 1];
    };
    expect(chroot('acme')).toBe('/flinkplane/tenants/acme');
    expect(chroot('globex')).toBe('/flinkplane/tenants/globex');
  });
});

describe('toKubeObject', () => {
  it('hands every built object to the core as plain data', () => {
    for (const object of acmeObjects()) expect(toKubeObject(object)).toBe(object);
  });

  it('refuses an object without a name', () => {
    expect(() => toKubeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toThrow(/name/);
  });
});
