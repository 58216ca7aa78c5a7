import { CoreV1Api, type KubernetesObject, KubernetesObjectApi, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../local/kube-standin/resources.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

// The kube stand-in is the project's simulated Kubernetes API server; these tests reach it through the
// official client over HTTP, as the deploy workflow does.
let standin: KubeStandin;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  standin = await startKubeStandin();
  objects = KubernetesObjectApi.makeApiClient(standin.kubeConfig());
  await standin
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'disco' } } });
});

afterAll(async () => {
  await standin.stop();
});

const labels = { app: 'disco' };
const podSpec = { containers: [{ name: 'main', image: 'busybox:1.36' }] };

/** One valid manifest per served kind. */
const manifests: KubernetesObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'disco-extra' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'disco' } },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'disco' },
    data: { a: 'b' },
  } as KubernetesObject,
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'disco' },
    stringData: { a: 'b' },
  } as KubernetesObject,
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: 'disco' },
    spec: { selector: labels, ports: [{ port: 80 }] },
  } as KubernetesObject,
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'pvc', namespace: 'disco' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  } as KubernetesObject,
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod', namespace: 'disco' }, spec: podSpec } as KubernetesObject,
  { apiVersion: 'v1', kind: 'Node', metadata: { name: 'disco-node' } } as KubernetesObject,
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'ev', namespace: 'disco' },
    involvedObject: { kind: 'Pod', name: 'pod', namespace: 'disco' },
    reason: 'Tested',
    message: 'hello',
  } as KubernetesObject,
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dep', namespace: 'disco' },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  } as KubernetesObject,
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'sts', namespace: 'disco' },
    spec: { serviceName: 'svc', selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  } as KubernetesObject,
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'ing', namespace: 'disco' },
    spec: { defaultBackend: { service: { name: 'svc', port: { number: 80 } } } },
  } as KubernetesObject,
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'disco' },
    spec: { podSelector: {} },
  } as KubernetesObject,
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'pdb', namespace: 'disco' },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  } as KubernetesObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'disco:reader' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  } as KubernetesObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'disco:reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'disco:reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'disco' }],
  } as KubernetesObject,
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'disco-gp3' },
    provisioner: 'ebs.csi.aws.com',
    allowVolumeExpansion: true,
  } as KubernetesObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'reader', namespace: 'disco' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  } as KubernetesObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'reader', namespace: 'disco' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'disco' }],
  } as KubernetesObject,
];

describe('kube stand-in discovery', () => {
  it('covers every served kind with a test manifest', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(RESOURCES.map((r) => r.kind).sort());
  });

  it('lets KubernetesObjectApi create, read and list every kind it serves', async () => {
    for (const manifest of manifests) {
      const created = await objects.create(manifest);
      expect(created.metadata?.uid, manifest.kind).toBeTruthy();
      const read = await objects.read({
        apiVersion: manifest.apiVersion!,
        kind: manifest.kind!,
        metadata: { name: manifest.metadata!.name!, namespace: manifest.metadata!.namespace },
      });
      expect(read.metadata?.uid, manifest.kind).toBe(created.metadata?.uid);
      const list = await objects.list(manifest.apiVersion!, manifest.kind!, manifest.metadata!.namespace);
      expect(
        list.items.map((i) => i.metadata?.name),
        manifest.kind,
      ).toContain(manifest.metadata!.name);
    }
  });

  it('answers /api, /apis and /version like an API server and names itself a stand-in', async () => {
    const api = (await (await fetch(`${standin.url}/api`)).json()) as { kind: string; versions: string[] };
    expect(api).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const apis = (await (await fetch(`${standin.url}/apis`)).json()) as { groups: { name: string }[] };
    expect(apis.groups.map((g) => g.name)).toEqual([
      'apps',
      'networking.k8s.io',
      'policy',
      'storage.k8s.io',
      'rbac.authorization.k8s.io',
    ]);
    const version = await standin.kubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.31.0+kube-standin');
  });

  it('lists resources with kind, scope, verbs, short names and subresources', async () => {
    const list = (await (await fetch(`${standin.url}/apis/apps/v1`)).json()) as {
      groupVersion: string;
      resources: { name: string; kind: string; namespaced: boolean; verbs: string[]; shortNames?: string[] }[];
    };
    expect(list.groupVersion).toBe('apps/v1');
    expect(list.resources.map((r) => r.name)).toEqual([
      'deployments',
      'deployments/status',
      'deployments/scale',
      'statefulsets',
      'statefulsets/status',
      'statefulsets/scale',
    ]);
    expect(list.resources[0]).toMatchObject({
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      singularName: 'deployment',
    });
    expect(list.resources[0]!.verbs).toContain('patch');
    const core = (await (await fetch(`${standin.url}/api/v1`)).json()) as {
      resources: { name: string; namespaced: boolean }[];
    };
    expect(core.resources.find((r) => r.name === 'namespaces')?.namespaced).toBe(false);
  });

  it('answers an unknown resource with a 404 Status', async () => {
    const response = await fetch(`${standin.url}/apis/apps/v1/namespaces/disco/replicasets`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });
});
