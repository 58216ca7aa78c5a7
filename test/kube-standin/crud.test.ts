import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1Deployment,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { failure } from '../support/kube-failure.ts';

let standin: KubeStandin;
let core: CoreV1Api;
let apps: AppsV1Api;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  standin = await startKubeStandin();
  const kc = standin.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
  for (const name of ['crud-a', 'crud-b']) await core.createNamespace({ body: { metadata: { name } } });
});

afterAll(async () => {
  await standin.stop();
});

function configMap(namespace: string, name: string, labels: Record<string, string> = {}): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { key: 'value' } };
}

function deployment(namespace: string, name: string, replicas = 1): V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'flink:1.20' }] } },
    },
  };
}

describe('kube stand-in create, read and list', () => {
  beforeAll(async () => {
    const specs: [string, string, Record<string, string>][] = [
      ['crud-a', 'jm', { role: 'jobmanager', tier: 'flink' }],
      ['crud-a', 'tm', { role: 'taskmanager', tier: 'flink' }],
      ['crud-a', 'zk', { role: 'zookeeper' }],
      ['crud-b', 'jm', { role: 'jobmanager', tier: 'flink' }],
      ['crud-b', 'plain', {}],
    ];
    for (const [namespace, name, labels] of specs) {
      await core.createNamespacedConfigMap({ namespace, body: configMap(namespace, name, labels) });
    }
  });

  const names = async (labelSelector: string, namespace?: string) => {
    const list = namespace
      ? await core.listNamespacedConfigMap({ namespace, labelSelector })
      : await core.listConfigMapForAllNamespaces({ labelSelector });
    return list.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`);
  };

  it('gets an object it created with server-set metadata', async () => {
    const read = await core.readNamespacedConfigMap({ name: 'jm', namespace: 'crud-a' });
    expect(read.data).toEqual({ key: 'value' });
    expect(read.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(read.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(read.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(read.metadata?.labels).toEqual({ role: 'jobmanager', tier: 'flink' });
  });

  it('filters lists with equality, set-based and existence label selectors', async () => {
    expect(await names('role=jobmanager')).toEqual(['crud-a/jm', 'crud-b/jm']);
    expect(await names('role==jobmanager', 'crud-a')).toEqual(['crud-a/jm']);
    expect(await names('tier!=flink', 'crud-a')).toEqual(['crud-a/zk']);
    expect(await names('role in (taskmanager, zookeeper)')).toEqual(['crud-a/tm', 'crud-a/zk']);
    expect(await names('role notin (jobmanager),tier')).toEqual(['crud-a/tm']);
    expect(await names('!role')).toEqual(['crud-b/plain']);
  });

  it('filters lists by metadata.name and metadata.namespace field selectors', async () => {
    const list = await core.listConfigMapForAllNamespaces({
      fieldSelector: 'metadata.name=jm,metadata.namespace!=crud-a',
    });
    expect(list.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`)).toEqual(['crud-b/jm']);
  });

  it('answers an unsupported field selector with 400 BadRequest', async () => {
    const { code, body } = await failure(
      core.listNamespacedConfigMap({ namespace: 'crud-a', fieldSelector: 'data.key=x' }),
    );
    expect(code).toBe(400);
    expect(body).toMatchObject({ reason: 'BadRequest', message: 'field label not supported: data.key' });
  });

  it('pages a list with limit and continue', async () => {
    const first = await core.listNamespacedConfigMap({ namespace: 'crud-a', limit: 2 });
    expect(first.items.map((i) => i.metadata?.name)).toEqual(['jm', 'tm']);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const second = await core.listNamespacedConfigMap({
      namespace: 'crud-a',
      limit: 2,
      _continue: first.metadata?._continue,
    });
    expect(second.items.map((i) => i.metadata?.name)).toEqual(['zk']);
    expect(second.metadata?._continue).toBeUndefined();
  });
});

describe('kube stand-in errors', () => {
  it('answers a second create of the same name with 409 AlreadyExists', async () => {
    await apps.createNamespacedDeployment({ namespace: 'crud-a', body: deployment('crud-a', 'twice') });
    const { code, body } = await failure(
      apps.createNamespacedDeployment({ namespace: 'crud-a', body: deployment('crud-a', 'twice') }),
    );
    expect(code).toBe(409);
    expect(body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "twice" already exists',
      reason: 'AlreadyExists',
      details: { name: 'twice', group: 'apps', kind: 'deployments' },
      code: 409,
    });
  });

  it('answers a stale resourceVersion with 409 Conflict', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'crud-a', body: configMap('crud-a', 'stale') });
    await core.replaceNamespacedConfigMap({
      name: 'stale',
      namespace: 'crud-a',
      body: { ...created, data: { key: 'first' } },
    });
    const { code, body } = await failure(
      core.replaceNamespacedConfigMap({
        name: 'stale',
        namespace: 'crud-a',
        body: { ...created, data: { key: 'second' } },
      }),
    );
    expect(code).toBe(409);
    expect(body).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect((await core.readNamespacedConfigMap({ name: 'stale', namespace: 'crud-a' })).data).toEqual({ key: 'first' });
  });

  it('replaces without a resourceVersion unconditionally', async () => {
    await core.createNamespacedConfigMap({ namespace: 'crud-a', body: configMap('crud-a', 'blind') });
    const replaced = await core.replaceNamespacedConfigMap({
      name: 'blind',
      namespace: 'crud-a',
      body: { metadata: { name: 'blind' }, data: { key: 'new' } },
    });
    expect(replaced.data).toEqual({ key: 'new' });
  });

  it('answers a missing object with a 404 Status naming the resource and group', async () => {
    const apps404 = await failure(apps.readNamespacedDeployment({ name: 'ghost', namespace: 'crud-a' }));
    expect(apps404.code).toBe(404);
    expect(apps404.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      message: 'deployments.apps "ghost" not found',
      details: { name: 'ghost', group: 'apps', kind: 'deployments' },
    });
    const core404 = await failure(core.readNamespacedSecret({ name: 'ghost', namespace: 'crud-a' }));
    expect(core404.body).toMatchObject({
      message: 'secrets "ghost" not found',
      details: { name: 'ghost', kind: 'secrets' },
    });
  });

  it('answers a create in a missing namespace with 404 for the namespace', async () => {
    const { code, body } = await failure(
      core.createNamespacedConfigMap({ namespace: 'nowhere', body: configMap('nowhere', 'x') }),
    );
    expect(code).toBe(404);
    expect(body).toMatchObject({
      message: 'namespaces "nowhere" not found',
      details: { name: 'nowhere', kind: 'namespaces' },
    });
  });

  it('answers an invalid name with 422 Invalid and the DNS-1123 message', async () => {
    const { code, body } = await failure(
      apps.createNamespacedDeployment({ namespace: 'crud-a', body: deployment('crud-a', 'Bad_Name') }),
    );
    expect(code).toBe(422);
    expect(body.reason).toBe('Invalid');
    expect(body.message).toMatch(
      /^Deployment\.apps "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/,
    );
    expect(body.details).toMatchObject({ name: 'Bad_Name', group: 'apps', kind: 'Deployment' });
  });

  it('answers a missing name with 422 Invalid', async () => {
    const { code, body } = await failure(core.createNamespacedConfigMap({ namespace: 'crud-a', body: { data: {} } }));
    expect(code).toBe(422);
    expect(body.message).toBe(
      'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
    );
  });

  it('answers a selector that does not match the template labels with 422 Invalid', async () => {
    const bad = deployment('crud-a', 'mismatch');
    bad.spec!.template.metadata!.labels = { app: 'other' };
    const { code, body } = await failure(apps.createNamespacedDeployment({ namespace: 'crud-a', body: bad }));
    expect(code).toBe(422);
    expect(body.message).toContain('spec.template.metadata.labels: Invalid value');
    expect(body.message).toContain('`selector` does not match template `labels`');
  });

  it('answers a body namespace that differs from the URL with 400 BadRequest', async () => {
    const { code, body } = await failure(
      core.createNamespacedConfigMap({ namespace: 'crud-a', body: configMap('crud-b', 'x') }),
    );
    expect(code).toBe(400);
    expect(body.message).toBe('the namespace of the provided object does not match the namespace sent on the request');
  });

  it('answers a kind that does not belong to the URL with 400 BadRequest', async () => {
    const response = await fetch(`${standin.url}/apis/apps/v1/namespaces/crud-a/deployments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(configMap('crud-a', 'wrong-kind')),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      reason: 'BadRequest',
      message: 'the API version in the data (v1) does not match the expected API version (apps/v1)',
    });
  });

  it('answers an undecodable body with 400 BadRequest', async () => {
    const response = await fetch(`${standin.url}/api/v1/namespaces/crud-a/configmaps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"metadata": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });

  it('answers an unsupported verb with 405 MethodNotAllowed', async () => {
    const response = await fetch(`${standin.url}/api/v1/namespaces/crud-a/configmaps/jm`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(405);
    expect(await response.json()).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
  });
});

describe('kube stand-in patches and deletes', () => {
  it('applies a merge patch, removing fields set to null', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'crud-b',
      body: { ...configMap('crud-b', 'merge'), data: { a: '1', b: '2' } },
    });
    const patched = await objects.patch(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'merge', namespace: 'crud-b' },
        data: { a: null, c: '3' },
      } as never,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect((patched as V1ConfigMap).data).toEqual({ b: '2', c: '3' });
  });

  it('applies a JSON patch, which typed clients send by default', async () => {
    await apps.createNamespacedDeployment({ namespace: 'crud-b', body: deployment('crud-b', 'jsonpatch', 1) });
    const patched = await apps.patchNamespacedDeployment({
      name: 'jsonpatch',
      namespace: 'crud-b',
      body: [{ op: 'replace', path: '/spec/replicas', value: 4 }],
    });
    expect(patched.spec?.replicas).toBe(4);
  });

  it('answers a merge patch carrying a stale resourceVersion with 409 Conflict', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'crud-b', body: configMap('crud-b', 'guarded') });
    await core.patchNamespacedConfigMap({
      name: 'guarded',
      namespace: 'crud-b',
      body: [{ op: 'add', path: '/data/x', value: '1' }],
    });
    const { code } = await failure(
      core.patchNamespacedConfigMap(
        {
          name: 'guarded',
          namespace: 'crud-b',
          body: { metadata: { resourceVersion: created.metadata?.resourceVersion }, data: { x: '2' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(code).toBe(409);
  });

  it('answers a failing JSON patch test operation with 422', async () => {
    const { code } = await failure(
      apps.patchNamespacedDeployment({
        name: 'jsonpatch',
        namespace: 'crud-b',
        body: [{ op: 'test', path: '/spec/replicas', value: 99 }],
      }),
    );
    expect(code).toBe(422);
  });

  it('merges containers by name in a strategic merge patch', async () => {
    await apps.createNamespacedDeployment({ namespace: 'crud-b', body: deployment('crud-b', 'strategic') });
    const patched = await apps.patchNamespacedDeployment(
      {
        name: 'strategic',
        namespace: 'crud-b',
        body: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'envoy:1' }] } } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(patched.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['main', 'sidecar']);
  });

  it('answers the delete of a Deployment with a Success Status and of a Pod with the Pod', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: 'crud-b', body: deployment('crud-b', 'gone') });
    const status = await apps.deleteNamespacedDeployment({ name: 'gone', namespace: 'crud-b' });
    expect(status).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'gone', group: 'apps', kind: 'deployments', uid: created.metadata?.uid },
    });
    await core.createNamespacedPod({
      namespace: 'crud-b',
      body: { metadata: { name: 'lone' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const pod = (await core.deleteNamespacedPod({ name: 'lone', namespace: 'crud-b' })) as unknown as { kind: string };
    expect(pod.kind).toBe('Pod');
    // A Pod on a node goes once the node has stopped it (graceful deletion).
    await expect
      .poll(async () => (await failure(core.readNamespacedPod({ name: 'lone', namespace: 'crud-b' }))).code)
      .toBe(404);
  });

  it('keeps an object with finalizers until the last finalizer is removed', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'crud-b',
      body: { ...configMap('crud-b', 'held'), metadata: { name: 'held', finalizers: ['flinkplane.io/cleanup'] } },
    });
    await core.deleteNamespacedConfigMap({ name: 'held', namespace: 'crud-b' });
    const marked = await core.readNamespacedConfigMap({ name: 'held', namespace: 'crud-b' });
    expect(marked.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await core.patchNamespacedConfigMap({
      name: 'held',
      namespace: 'crud-b',
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    expect((await failure(core.readNamespacedConfigMap({ name: 'held', namespace: 'crud-b' }))).code).toBe(404);
  });

  it('stores nothing on a dry run', async () => {
    const dry = await core.createNamespacedConfigMap({
      namespace: 'crud-b',
      body: configMap('crud-b', 'dry'),
      dryRun: 'All',
    });
    expect(dry.metadata?.name).toBe('dry');
    expect((await failure(core.readNamespacedConfigMap({ name: 'dry', namespace: 'crud-b' }))).code).toBe(404);
  });
});

describe('kube stand-in metadata semantics', () => {
  it('bumps generation on spec changes only, and resourceVersion on every change', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace: 'crud-a',
      body: deployment('crud-a', 'gen', 1),
    });
    expect(created.metadata?.generation).toBe(1);
    const labelled = await apps.patchNamespacedDeployment({
      name: 'gen',
      namespace: 'crud-a',
      body: [{ op: 'add', path: '/metadata/labels/extra', value: 'yes' }],
    });
    expect(labelled.metadata?.generation).toBe(1);
    expect(Number(labelled.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    const scaled = await apps.patchNamespacedDeployment({
      name: 'gen',
      namespace: 'crud-a',
      body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
    });
    expect(scaled.metadata?.generation).toBe(2);
  });

  it('ignores status on the main resource and writes it through the status subresource', async () => {
    const body = deployment('crud-a', 'status', 0);
    const created = await apps.createNamespacedDeployment({
      namespace: 'crud-a',
      body: { ...body, status: { replicas: 42 } },
    });
    expect(created.status?.replicas).toBeUndefined();
    const current = await apps.readNamespacedDeploymentStatus({ name: 'status', namespace: 'crud-a' });
    const written = await apps.replaceNamespacedDeploymentStatus({
      name: 'status',
      namespace: 'crud-a',
      body: {
        ...current,
        metadata: { ...current.metadata, resourceVersion: undefined },
        spec: { ...current.spec!, replicas: 9 },
        status: { ...current.status, replicas: 42 },
      },
    });
    expect(written.status?.replicas).toBe(42);
    expect(written.spec?.replicas).toBe(0);
    expect(written.metadata?.generation).toBe(created.metadata?.generation);
  });

  it('keeps the resourceVersion when a write changes nothing', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'crud-a', body: configMap('crud-a', 'noop') });
    const same = await core.replaceNamespacedConfigMap({
      name: 'noop',
      namespace: 'crud-a',
      body: configMap('crud-a', 'noop'),
    });
    expect(same.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  it('fills the defaults the API server sets', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace: 'crud-a',
      body: {
        ...deployment('crud-a', 'defaults'),
        spec: { ...deployment('crud-a', 'defaults').spec!, replicas: undefined },
      },
    });
    expect(created.spec?.replicas).toBe(1);
    expect(created.spec?.strategy?.type).toBe('RollingUpdate');
    expect(created.spec?.template.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
    const svc = await core.createNamespacedService({
      namespace: 'crud-a',
      body: { metadata: { name: 'defaults' }, spec: { selector: { app: 'x' }, ports: [{ port: 8081 }] } },
    });
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(svc.spec?.ports?.[0]).toMatchObject({ protocol: 'TCP', targetPort: 8081 });
  });

  it('folds Secret stringData into base64 data', async () => {
    const secret = await core.createNamespacedSecret({
      namespace: 'crud-a',
      body: { metadata: { name: 'creds' }, stringData: { password: 'hunter2' } },
    });
    expect(secret.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
    expect(secret.stringData).toBeUndefined();
    expect(secret.type).toBe('Opaque');
  });
});

describe('kube stand-in watch', () => {
  it('streams ADDED, MODIFIED and DELETED events to a client-node Watch', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'crud-b' });
    const events: string[] = [];
    const watch = new Watch(standin.kubeConfig());
    const controller = await watch.watch(
      '/api/v1/namespaces/crud-b/configmaps',
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'watched=yes' },
      (phase, obj: V1ConfigMap) => events.push(`${phase} ${obj.metadata?.name} ${obj.data?.key}`),
      () => {},
    );
    await core.createNamespacedConfigMap({ namespace: 'crud-b', body: configMap('crud-b', 'w', { watched: 'yes' }) });
    await core.patchNamespacedConfigMap({
      name: 'w',
      namespace: 'crud-b',
      body: [{ op: 'replace', path: '/data/key', value: 'v2' }],
    });
    await core.createNamespacedConfigMap({ namespace: 'crud-b', body: configMap('crud-b', 'unwatched') });
    await core.deleteNamespacedConfigMap({ name: 'w', namespace: 'crud-b' });
    await expect.poll(() => events.length).toBe(3);
    controller.abort();
    expect(events).toEqual(['ADDED w value', 'MODIFIED w v2', 'DELETED w v2']);
  });
});
