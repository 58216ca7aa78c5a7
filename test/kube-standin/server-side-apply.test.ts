import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type V1ConfigMap,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { failure } from '../support/kube-failure.ts';

let standin: KubeStandin;
let objects: KubernetesObjectApi;
let apps: AppsV1Api;
const namespace = 'ssa';

beforeAll(async () => {
  // A long Terminating phase keeps the terminating-namespace case deterministic.
  standin = await startKubeStandin({ namespaceDeletionDelayMs: 2_000 });
  const kc = standin.kubeConfig();
  objects = KubernetesObjectApi.makeApiClient(kc);
  apps = kc.makeApiClient(AppsV1Api);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await standin.stop();
});

function apply<T extends { apiVersion?: string; kind?: string }>(obj: T, manager = 'flinkplane', force?: boolean) {
  return objects.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
}

function taskManagers(
  name: string,
  replicas: number,
  extra: { labels?: Record<string, string>; image?: string } = {},
): V1Deployment {
  const selector = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { ...selector, ...extra.labels } },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: selector },
        spec: { containers: [{ name: 'taskmanager', image: extra.image ?? 'flink:1.20' }] },
      },
    },
  };
}

describe('kube stand-in server-side apply', () => {
  it('creates a missing object and records the manager as owner of the applied fields', async () => {
    const created = await apply(taskManagers('create', 2));
    expect(created.metadata?.uid).toBeTruthy();
    const entries = created.metadata?.managedFields ?? [];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      manager: 'flinkplane',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
    });
    const fields = entries[0]!.fieldsV1 as Record<string, Record<string, unknown>>;
    expect(fields['f:spec']).toHaveProperty('f:replicas');
    expect(fields['f:spec']!['f:template']).toMatchObject({
      'f:spec': { 'f:containers': { 'k:{"name":"taskmanager"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
    });
    expect(fields['f:spec']).not.toHaveProperty('f:revisionHistoryLimit');
  });

  it('answers 201 on the create and 200 on a later apply', async () => {
    const path = `/apis/apps/v1/namespaces/${namespace}/deployments/status-codes?fieldManager=flinkplane`;
    const send = () =>
      fetch(`${standin.url}${path}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/apply-patch+yaml' },
        body: JSON.stringify(taskManagers('status-codes', 1)),
      });
    expect((await send()).status).toBe(201);
    expect((await send()).status).toBe(200);
  });

  it('accepts an apply configuration written as YAML', async () => {
    const yaml = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: from-yaml',
      'data:',
      '  flink-conf.yaml: "taskmanager.numberOfTaskSlots: 2"',
    ].join('\n');
    const response = await fetch(
      `${standin.url}/api/v1/namespaces/${namespace}/configmaps/from-yaml?fieldManager=kubectl`,
      {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/apply-patch+yaml' },
        body: yaml,
      },
    );
    expect(response.status).toBe(201);
    expect(((await response.json()) as V1ConfigMap).data).toEqual({
      'flink-conf.yaml': 'taskmanager.numberOfTaskSlots: 2',
    });
  });

  it('answers an apply without fieldManager with 422 like the real server', async () => {
    const { code, body } = await failure(
      objects.patch(
        taskManagers('no-manager', 1),
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.ServerSideApply,
      ),
    );
    expect(code).toBe(422);
    expect(body).toMatchObject({
      reason: 'Invalid',
      message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    });
  });

  it('removes a field the same manager applied before and leaves out now', async () => {
    await apply(taskManagers('prune', 1, { labels: { tier: 'flink', 'flinkplane.io/tenant': 't1' } }));
    const reapplied = await apply(taskManagers('prune', 1, { labels: { tier: 'flink' } }));
    expect(reapplied.metadata?.labels).toEqual({ app: 'prune', tier: 'flink' });
  });

  it('keeps the resourceVersion when the same configuration is applied again', async () => {
    const config: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'idempotent', namespace },
      data: { a: '1' },
    };
    const first = await apply(config);
    const again = await apply(config);
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  it('answers a field owned by another manager with another value with 409 Conflict listing the fields', async () => {
    await apply(taskManagers('contested', 2));
    const { code, body } = await failure(apply(taskManagers('contested', 5, { image: 'flink:1.19' }), 'autoscaler'));
    expect(code).toBe(409);
    expect(body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      message:
        'Apply failed with 2 conflicts: conflicts with "flinkplane":\n- .spec.replicas\n- .spec.template.spec.containers[name="taskmanager"].image',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "flinkplane"', field: '.spec.replicas' },
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "flinkplane"',
            field: '.spec.template.spec.containers[name="taskmanager"].image',
          },
        ],
      },
    });
    const live = await apps.readNamespacedDeployment({ name: 'contested', namespace });
    expect(live.spec?.replicas).toBe(2);
  });

  it('shares a field applied with the same value by two managers', async () => {
    await apply(taskManagers('shared', 3));
    const second = await apply(taskManagers('shared', 3), 'autoscaler');
    const owners = (second.metadata?.managedFields ?? []).filter((e) =>
      Object.hasOwn((e.fieldsV1 as Record<string, Record<string, unknown>>)['f:spec'] ?? {}, 'f:replicas'),
    );
    expect(owners.map((e) => e.manager).sort()).toEqual(['autoscaler', 'flinkplane']);
    const { replicas: _dropped, ...specWithoutReplicas } = taskManagers('shared', 3).spec!;
    const released = await apply({ ...taskManagers('shared', 3), spec: specWithoutReplicas as V1Deployment['spec'] });
    expect(released.spec?.replicas).toBe(3);
  });

  it('takes ownership of conflicting fields with force, after which the old owner conflicts', async () => {
    await apply(taskManagers('forced', 2));
    const forced = await apply(taskManagers('forced', 6), 'autoscaler', true);
    expect(forced.spec?.replicas).toBe(6);
    const flinkplane = forced.metadata?.managedFields?.find((e) => e.manager === 'flinkplane');
    expect(flinkplane?.fieldsV1).toBeDefined();
    expect((flinkplane!.fieldsV1 as Record<string, Record<string, unknown>>)['f:spec']).not.toHaveProperty(
      'f:replicas',
    );
    const { code, body } = await failure(apply(taskManagers('forced', 2)));
    expect(code).toBe(409);
    expect(body.message).toBe('Apply failed with 1 conflict: conflict with "autoscaler": .spec.replicas');
  });

  it('names an Update manager with its API version in a conflict', async () => {
    await apply(taskManagers('edited', 2));
    await apps.patchNamespacedDeployment({
      name: 'edited',
      namespace,
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
      fieldManager: 'kubectl-edit',
    });
    const { body } = await failure(apply(taskManagers('edited', 2)));
    expect(body.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    );
  });

  it('ignores status in an apply to the main resource', async () => {
    const applied = await apply({ ...taskManagers('no-status', 0), status: { replicas: 99 } });
    expect(applied.status?.replicas).toBeUndefined();
  });

  it('answers an apply to a terminating namespace with 403 Forbidden', async () => {
    const core = standin.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'ssa-doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'ssa-doomed', body: { metadata: { name: 'keep' } } });
    await core.deleteNamespace({ name: 'ssa-doomed' });
    const { code, body } = await failure(
      apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'ssa-doomed' } }),
    );
    expect(code).toBe(403);
    expect(body.message).toBe(
      'configmaps "late" is forbidden: unable to create new content in namespace ssa-doomed because it is being terminated',
    );
  });
});

describe('kube stand-in server-side apply list keys', () => {
  type Fields = Record<string, Record<string, Record<string, unknown>>>;
  const fieldsOf = (obj: unknown, manager: string) =>
    (obj as V1Deployment).metadata?.managedFields?.find((e) => e.manager === manager)?.fieldsV1 as Fields | undefined;

  function dnsService(manager: string, protocol: 'TCP' | 'UDP') {
    return apply(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dns', namespace },
        spec: { selector: { app: 'dns' }, ports: [{ name: `dns-${protocol.toLowerCase()}`, port: 53, protocol }] },
      },
      manager,
    );
  }

  it('keys Service ports by port and protocol, so two managers own 53/TCP and 53/UDP side by side', async () => {
    await dnsService('tcp-owner', 'TCP');
    const both = await dnsService('udp-owner', 'UDP');
    expect(both.spec?.ports?.map((p) => `${p.port}/${p.protocol}`)).toEqual(['53/TCP', '53/UDP']);
    expect(fieldsOf(both, 'tcp-owner')?.['f:spec']?.['f:ports']).toHaveProperty(['k:{"port":53,"protocol":"TCP"}']);
    expect(fieldsOf(both, 'udp-owner')?.['f:spec']?.['f:ports']).toHaveProperty(['k:{"port":53,"protocol":"UDP"}']);
    const { code } = await failure(
      apply(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'dns', namespace },
          spec: { ports: [{ name: 'renamed', port: 53, protocol: 'UDP' }] },
        },
        'tcp-owner',
      ),
    );
    expect(code).toBe(409);
  });

  it('keys container ports by containerPort and protocol, defaulting the protocol to TCP', async () => {
    const deployment = taskManagers('ports', 1);
    deployment.spec!.template.spec!.containers[0]!.ports = [
      { containerPort: 6123, name: 'rpc' },
      { containerPort: 6123, protocol: 'UDP', name: 'rpc-udp' },
    ];
    const applied = await apply(deployment);
    const container = applied.spec?.template.spec?.containers[0];
    expect(container?.ports?.map((p) => `${p.containerPort}/${p.protocol}`)).toEqual(['6123/TCP', '6123/UDP']);
    const template = fieldsOf(applied, 'flinkplane')?.['f:spec']?.['f:template'] as Fields | undefined;
    const containers = template?.['f:spec']?.['f:containers'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(containers['k:{"name":"taskmanager"}']?.['f:ports'] ?? {}).sort()).toEqual([
      'k:{"containerPort":6123,"protocol":"TCP"}',
      'k:{"containerPort":6123,"protocol":"UDP"}',
    ]);
  });

  it('merges metadata.finalizers as a set: each manager owns and removes only its own values', async () => {
    const config = (finalizers: string[]) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'finalized', namespace, finalizers },
    });
    await apply(config(['example.com/a']), 'a');
    const both = await apply(config(['example.com/b']), 'b');
    expect(both.metadata?.finalizers).toEqual(['example.com/a', 'example.com/b']);
    expect(fieldsOf(both, 'b')?.['f:metadata']?.['f:finalizers']).toEqual({ 'v:"example.com/b"': {} });
    const released = await apply(config([]), 'a');
    expect(released.metadata?.finalizers).toEqual(['example.com/b']);
    const emptied = await apply(config([]), 'b');
    expect(emptied.metadata?.finalizers ?? []).toEqual([]);
  });
});
