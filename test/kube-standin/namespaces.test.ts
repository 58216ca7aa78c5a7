import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { failure } from '../support/kube-failure.ts';

let standin: KubeStandin;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  standin = await startKubeStandin({ namespaceDeletionDelayMs: 150, readinessDelayMs: 0 });
  core = standin.kubeConfig().makeApiClient(CoreV1Api);
  apps = standin.kubeConfig().makeApiClient(AppsV1Api);
});

afterAll(async () => {
  await standin.stop();
});

function deployment(namespace: string, name: string, replicas: number): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'flink:1.20' }] } },
    },
  };
}

const podsIn = async (namespace: string) => (await core.listNamespacedPod({ namespace })).items;

describe('kube stand-in namespace lifecycle', () => {
  it('terminates a namespace, refuses new content, deletes its objects, then the namespace', async () => {
    await core.createNamespace({ body: { metadata: { name: 'tenant-x', labels: { tenant: 'x' } } } });
    await core.createNamespacedConfigMap({ namespace: 'tenant-x', body: { metadata: { name: 'conf' } } });
    await apps.createNamespacedDeployment({ namespace: 'tenant-x', body: deployment('tenant-x', 'jm', 1) });
    await expect.poll(async () => (await podsIn('tenant-x')).length).toBe(1);

    const terminating = await core.deleteNamespace({ name: 'tenant-x' });
    expect((terminating as unknown as { status: { phase: string } }).status.phase).toBe('Terminating');
    const read = await core.readNamespace({ name: 'tenant-x' });
    expect(read.status?.phase).toBe('Terminating');
    expect(read.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(read.metadata?.labels).toMatchObject({ tenant: 'x', 'kubernetes.io/metadata.name': 'tenant-x' });

    const refused = await failure(
      core.createNamespacedSecret({ namespace: 'tenant-x', body: { metadata: { name: 's' } } }),
    );
    expect(refused.code).toBe(403);
    expect(refused.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'secrets "s" is forbidden: unable to create new content in namespace tenant-x because it is being terminated',
      details: {
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: 'namespace tenant-x is being terminated',
            field: 'metadata.namespace',
          },
        ],
      },
    });
    const again = await failure(core.createNamespace({ body: { metadata: { name: 'tenant-x' } } }));
    expect(again.body.message).toBe('object is being deleted: namespaces "tenant-x" already exists');

    await expect
      .poll(async () => (await failure(core.readNamespace({ name: 'tenant-x' }))).code, { timeout: 3_000 })
      .toBe(404);
    expect(standin.objects().filter((o) => o.metadata.namespace === 'tenant-x')).toEqual([]);
    const recreated = await core.createNamespace({ body: { metadata: { name: 'tenant-x' } } });
    expect(recreated.status?.phase).toBe('Active');
  });

  it('refuses to delete the default namespace', async () => {
    const { code, body } = await failure(core.deleteNamespace({ name: 'default' }));
    expect(code).toBe(403);
    expect(body.message).toBe('namespaces "default" is forbidden: this namespace may not be deleted');
  });

  it('deletes the Pods of a deleted Deployment', async () => {
    await core.createNamespace({ body: { metadata: { name: 'gc' } } });
    await apps.createNamespacedDeployment({ namespace: 'gc', body: deployment('gc', 'tm', 3) });
    await expect.poll(async () => (await podsIn('gc')).length).toBe(3);
    await apps.deleteNamespacedDeployment({ name: 'tm', namespace: 'gc' });
    await expect.poll(async () => await podsIn('gc')).toEqual([]);
  });

  it('leaves the Pods of a Deployment deleted with propagationPolicy Orphan, without owner', async () => {
    await core.createNamespace({ body: { metadata: { name: 'orphans' } } });
    await apps.createNamespacedDeployment({ namespace: 'orphans', body: deployment('orphans', 'tm', 2) });
    await expect.poll(async () => (await podsIn('orphans')).length).toBe(2);
    await apps.deleteNamespacedDeployment({ name: 'tm', namespace: 'orphans', propagationPolicy: 'Orphan' });
    const pods = await podsIn('orphans');
    expect(pods).toHaveLength(2);
    expect(pods.map((p) => p.metadata?.ownerReferences)).toEqual([undefined, undefined]);
  });

  it('recreates a Pod deleted from under its Deployment', async () => {
    await core.createNamespace({ body: { metadata: { name: 'heal' } } });
    await apps.createNamespacedDeployment({ namespace: 'heal', body: deployment('heal', 'tm', 1) });
    await expect.poll(async () => (await podsIn('heal')).length).toBe(1);
    const [first] = await podsIn('heal');
    await core.deleteNamespacedPod({ name: first!.metadata!.name!, namespace: 'heal' });
    await expect.poll(async () => (await podsIn('heal')).map((p) => p.metadata?.uid)).not.toEqual([]);
    const [second] = await podsIn('heal');
    expect(second!.metadata?.uid).not.toBe(first!.metadata?.uid);
  });
});
