import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, startKubeStandin } from '../../local/kube-standin/server.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-standin-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'jm', namespace: 'kept' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'jm' } },
    template: { metadata: { labels: { app: 'jm' } }, spec: { containers: [{ name: 'jm', image: 'flink:1.20' }] } },
  },
};

describe('kube stand-in persistence', () => {
  it('keeps every object, its managed fields and the resourceVersion sequence across a restart', async () => {
    const dataFile = join(dir, 'restart', 'kube.json');
    const first = await startKubeStandin({ dataFile, readinessDelayMs: 0 });
    const core = first.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'kept' } } });
    await core.createNamespacedSecret({
      namespace: 'kept',
      body: { metadata: { name: 'creds' }, stringData: { a: 'b' } },
    });
    const objects = KubernetesObjectApi.makeApiClient(first.kubeConfig());
    await objects.patch(deployment, undefined, undefined, 'flinkplane', true, PatchStrategy.ServerSideApply);
    await expect
      .poll(
        async () =>
          (
            await first
              .kubeConfig()
              .makeApiClient(AppsV1Api)
              .readNamespacedDeployment({ name: 'jm', namespace: 'kept' })
          ).status?.readyReplicas,
      )
      .toBe(1);
    const before = first.objects();
    await first.stop();
    expect(JSON.parse(await readFile(dataFile, 'utf8'))).toMatchObject({ format: 'flinkplane-kube-standin/v1' });

    const second = await startKubeStandin({ dataFile, readinessDelayMs: 0 });
    try {
      // The node restarts its Pods (their status and events change); every other object is as it was.
      const settled = (objects: KubeObject[]) => objects.filter((o) => !['Pod', 'Event', 'Node'].includes(o.kind));
      expect(settled(second.objects())).toEqual(settled(before));
      expect(
        second
          .objects()
          .filter((o) => o.kind === 'Pod')
          .map((o) => o.metadata.uid),
      ).toEqual(before.filter((o) => o.kind === 'Pod').map((o) => o.metadata.uid));
      const apps = second.kubeConfig().makeApiClient(AppsV1Api);
      const reread = await apps.readNamespacedDeployment({ name: 'jm', namespace: 'kept' });
      const highest = Math.max(...before.map((o) => Number(o.metadata.resourceVersion)));
      const scaled = await apps.patchNamespacedDeployment({
        name: 'jm',
        namespace: 'kept',
        body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
      });
      expect(Number(scaled.metadata?.resourceVersion)).toBeGreaterThan(highest);
      expect(scaled.metadata?.uid).toBe(reread.metadata?.uid);
      const reapplied = await KubernetesObjectApi.makeApiClient(second.kubeConfig())
        .patch(deployment, undefined, undefined, 'flinkplane', undefined, PatchStrategy.ServerSideApply)
        .catch((error: { code?: number }) => error);
      expect((reapplied as { code?: number }).code).toBe(409);
    } finally {
      await second.stop();
    }
  });

  it('starts the Pods of persisted Deployments again, as a rebooted node does', async () => {
    const dataFile = join(dir, 'reboot.json');
    const first = await startKubeStandin({ dataFile, readinessDelayMs: 0 });
    await first
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'kept' } } });
    await KubernetesObjectApi.makeApiClient(first.kubeConfig()).patch(
      deployment,
      undefined,
      undefined,
      'flinkplane',
      true,
      PatchStrategy.ServerSideApply,
    );
    const apps = (standin: typeof first) => standin.kubeConfig().makeApiClient(AppsV1Api);
    await expect
      .poll(
        async () =>
          (await apps(first).readNamespacedDeployment({ name: 'jm', namespace: 'kept' })).status?.readyReplicas,
      )
      .toBe(1);
    const pod = first.objects().find((o) => o.kind === 'Pod')!;
    await first.stop();

    const second = await startKubeStandin({ dataFile, readinessDelayMs: 400 });
    try {
      // The same Pod, started again: not ready until the runtime says so, then ready.
      const restarted = () => second.objects().find((o) => o.kind === 'Pod');
      expect(restarted()?.metadata.uid).toBe(pod.metadata.uid);
      expect(JSON.stringify(restarted()?.status)).toContain('ContainerCreating');
      await expect
        .poll(
          async () =>
            (await apps(second).readNamespacedDeployment({ name: 'jm', namespace: 'kept' })).status?.readyReplicas,
        )
        .toBeUndefined();
      await expect
        .poll(
          async () =>
            (await apps(second).readNamespacedDeployment({ name: 'jm', namespace: 'kept' })).status?.readyReplicas,
          { timeout: 3_000 },
        )
        .toBe(1);
      expect(
        second
          .objects()
          .filter((o) => o.kind === 'Pod')
          .map((o) => o.metadata.uid),
      ).toEqual([pod.metadata.uid]);
    } finally {
      await second.stop();
    }
  });

  it('finishes deleting a namespace that was Terminating when it stopped', async () => {
    const dataFile = join(dir, 'terminating.json');
    const first = await startKubeStandin({ dataFile, namespaceDeletionDelayMs: 60_000 });
    const core = first.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'leaving' } } });
    await core.createNamespacedConfigMap({ namespace: 'leaving', body: { metadata: { name: 'conf' } } });
    await core.deleteNamespace({ name: 'leaving' });
    await first.stop();

    const second = await startKubeStandin({ dataFile, namespaceDeletionDelayMs: 10 });
    try {
      expect(second.objects().find((o) => o.metadata.name === 'leaving')?.status).toEqual({ phase: 'Terminating' });
      await expect
        .poll(() => second.objects().filter((o) => o.metadata.name === 'leaving' || o.metadata.namespace === 'leaving'))
        .toEqual([]);
    } finally {
      await second.stop();
    }
  });

  it('writes changes to the data file shortly after they happen', async () => {
    const dataFile = join(dir, 'live.json');
    const standin = await startKubeStandin({ dataFile, persistIntervalMs: 20 });
    try {
      await standin
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: 'written' } } });
      await expect
        .poll(async () => {
          const data = JSON.parse(await readFile(dataFile, 'utf8')) as { objects: { metadata: { name: string } }[] };
          return data.objects.map((o) => o.metadata.name);
        })
        .toContain('written');
    } finally {
      await standin.stop();
    }
  });
});
