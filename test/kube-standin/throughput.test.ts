import { AppsV1Api, type KubernetesObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

let standin: KubeStandin;

beforeAll(async () => {
  standin = await startKubeStandin({ readinessDelayMs: 20 });
});

afterAll(async () => {
  await standin.stop();
});

/** Fifteen objects, about what one tenant's Flink cluster needs. */
function tenant(i: number): KubernetesObject[] {
  const namespace = `tenant-${i}`;
  const labels = { 'app.kubernetes.io/part-of': 'flinkplane', 'flinkplane.io/tenant': `t${i}` };
  const meta = (name: string) => ({ name, namespace, labels });
  const workload = (name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name),
    spec: {
      replicas,
      selector: { matchLabels: { component: name } },
      template: {
        metadata: { labels: { ...labels, component: name } },
        spec: {
          serviceAccountName: 'flink',
          containers: [
            {
              name,
              image: 'flink:1.20',
              args: [name],
              ports: [{ containerPort: 6123, name: 'rpc' }],
              env: [{ name: 'FLINK_PROPERTIES', value: 'jobmanager.rpc.address: jobmanager' }],
              resources: { limits: { cpu: '1', memory: '2Gi' } },
              volumeMounts: [{ name: 'conf', mountPath: '/opt/flink/conf' }],
            },
          ],
          volumes: [{ name: 'conf', configMap: { name: 'flink-config' } }],
        },
      },
    },
  });
  const pdb = (name: string) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(name),
    spec: { maxUnavailable: 1, selector: { matchLabels: { component: name } } },
  });
  const rbac = 'rbac.authorization.k8s.io';
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('flink') },
    {
      apiVersion: `${rbac}/v1`,
      kind: 'Role',
      metadata: meta('flink'),
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: 'RoleBinding',
      metadata: meta('flink'),
      roleRef: { apiGroup: rbac, kind: 'Role', name: 'flink' },
      subjects: [{ kind: 'ServiceAccount', name: 'flink', namespace }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('flink-config'),
      data: { 'config.yaml': 'taskmanager.numberOfTaskSlots: 2\n' },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: meta('flink-secrets'), stringData: { token: `t${i}` } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('jobmanager'),
      spec: {
        selector: { component: 'jobmanager' },
        ports: [
          { name: 'rpc', port: 6123 },
          { name: 'rest', port: 8081 },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('jobmanager-headless'),
      spec: { clusterIP: 'None', selector: { component: 'jobmanager' }, ports: [{ name: 'rpc', port: 6123 }] },
    },
    workload('jobmanager', 1),
    workload('taskmanager', 2),
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta('checkpoints'),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('default-deny'),
      spec: { podSelector: {} },
    },
    pdb('jobmanager'),
    pdb('taskmanager'),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta('rest'),
      spec: { defaultBackend: { service: { name: 'jobmanager', port: { number: 8081 } } } },
    },
  ] as KubernetesObject[];
}

describe('kube stand-in throughput', () => {
  it('applies 60 tenants of 15 objects quickly and rolls all their Deployments out', async () => {
    const objects = KubernetesObjectApi.makeApiClient(standin.kubeConfig());
    const tenants = 60;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < tenants) {
          const i = next++;
          for (const obj of tenant(i)) {
            await objects.patch(obj, undefined, undefined, 'flinkplane', true, PatchStrategy.ServerSideApply);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    // Under 1 s on an idle two-core machine (1,000 tenants: 15-20 s, mostly inside the client); the bound leaves
    // room for a busy CI machine.
    expect(seconds).toBeLessThan(20);
    const apps = standin.kubeConfig().makeApiClient(AppsV1Api);
    await expect
      .poll(
        async () =>
          (
            await apps.listDeploymentForAllNamespaces({ labelSelector: 'app.kubernetes.io/part-of=flinkplane' })
          ).items.filter((d) => d.status?.availableReplicas === d.spec?.replicas).length,
        { timeout: 10_000 },
      )
      .toBe(2 * tenants);
    const stored = standin.objects().filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'flinkplane');
    expect(stored.filter((o) => o.kind !== 'Pod')).toHaveLength(15 * tenants);
    expect(stored.filter((o) => o.kind === 'Pod')).toHaveLength(3 * tenants);
  });
});
