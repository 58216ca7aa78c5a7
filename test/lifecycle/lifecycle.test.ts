import { GetObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTenantManifests } from '../../cluster-templates/index.ts';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { buildEffectiveCluster } from '../../functions/core/effective-cluster.ts';
import { tenantNames } from '../../functions/core/naming.ts';
import { namespaceObjects } from '../support/kube-objects.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';
import { connectZooKeeper, type TestZooKeeper } from '../support/zookeeper-client.ts';

// Integration: real dynalite, s3rver and ZooKeeper; Kubernetes is the in-process stand-in.
describe('cluster lifecycle through the HTTP API (Kubernetes stand-in)', () => {
  let api: LocalApi;
  let acmeToken: string;
  let zk: TestZooKeeper;
  const names = () => tenantNames('acme', api.local.platform);
  const cluster = (path = '/v1/tenants/acme/flink-cluster') => path;
  const objects = () => namespaceObjects(api.local.kube!.kubeConfig(), names().namespace);

  beforeAll(async () => {
    api = await startLocalApi();
    acmeToken = await api.registerTenant('acme');
    // The control plane's identity: it may read and write under every chroot, as the tenant's proxy may under one.
    zk = await connectZooKeeper(api.local.zookeeperServer!.connectString, api.local.zookeeperAdmin);
  });

  afterAll(async () => {
    zk?.close();
    await api?.stop();
  });

  it('deploys with the defaults and reaches RUNNING with every object of the tenant cluster', async () => {
    const response = await api.request('PUT', cluster(), { token: acmeToken, body: {} });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ tenant: 'acme', generation: 1, haClusterId: 'acme-ha1' });
    expect(['DEPLOYING', 'RUNNING']).toContain(response.body.state);

    const running = await waitForState(api, 'acme', 'RUNNING');
    expect(running.observed).toMatchObject({ jobManagerReady: true, taskManagersReady: 2, taskManagersDesired: 2 });

    const spec = validateClusterSpec({}, api.local.platform);
    if (!spec.ok) throw new Error('default spec invalid');
    const expected = buildTenantManifests(buildEffectiveCluster('acme', spec.spec, api.local.platform, 1), {
      zookeeperIdentity: { user: 'x', password: 'y' },
    }).map((manifest) => `${manifest.object.kind}/${manifest.object.metadata!.name}`);
    expect([...(await objects()).keys()].sort()).toEqual(expected.sort());
    expect(await api.local.buckets.bucketExists(names().bucket)).toBe(true);
    expect(await zk.exists(names().zookeeperChroot)).toBe(true);
    expect(await api.local.access.hasAccess('acme', names().namespace, names().serviceAccount)).toBe(true);
  });

  it('stores the NetworkPolicy peers as rendered, so the Flink UI admits only the ingress controller', async () => {
    // Read the wire form, not client-node's models: those rename `from`, and losing it would admit every source.
    const url = `${api.local.kube!.url}/apis/networking.k8s.io/v1/namespaces/tenant-acme/networkpolicies/flink-cluster-ui-from-ingress-controller`;
    const stored = (await (await fetch(url)).json()) as { spec: { ingress: { from: unknown[] }[] } };
    expect(stored.spec.ingress[0]!.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    ]);
  });

  it('shows the effective Flink configuration with the fixed settings marked and no credential', async () => {
    const response = await api.request('GET', cluster(), { token: acmeToken });
    expect(response.status).toBe(200);
    const restPort = response.body.flinkConfiguration.jobmanager.find(
      (entry: { key: string }) => entry.key === 'rest.port',
    );
    expect(restPort).toEqual({ key: 'rest.port', value: 8081, source: 'fixed', fixed: true });
    // The password the plane under test gives the tenant's proxy: its Secret carries it, the view must not.
    const { password } = api.local.secrets.zookeeperIdentity('acme');
    const secrets = [...(await objects()).values()].filter((object) => object.id.startsWith('Secret/'));
    const secretText = secrets
      .flatMap((secret) => Object.values((secret.object as { data?: Record<string, string> }).data ?? {}))
      .map((value) => Buffer.from(value, 'base64').toString('utf8'));
    expect(secretText).toContain(`tenant-acme:${password}`);
    expect(JSON.stringify(response.body)).not.toContain(password);
    expect(JSON.stringify(response.body)).not.toMatch(/password/i);
    expect(response.body.uiUrl).toBe('https://flink-cluster-ui-acme.flink.localhost');
    expect(response.body.zookeeperProxy).toBe('zookeeper-proxy.tenant-acme:7451');
  });

  it('changes only the TaskManager Deployment when the instances go from 2 to 3', async () => {
    const before = await objects();
    const response = await api.request('PUT', cluster(), { token: acmeToken, body: { taskManager: { instances: 3 } } });
    expect(response.status).toBe(202);
    await waitForState(api, 'acme', 'RUNNING');
    const after = await objects();
    const changed = [...after.values()]
      .filter((object) => before.get(object.id)?.resourceVersion !== object.resourceVersion)
      .map((object) => object.id);
    expect(changed).toEqual(['Deployment/flink-cluster-taskmanager']);
    const taskManagers = after.get('Deployment/flink-cluster-taskmanager')!;
    expect((taskManagers.object as { spec: { replicas: number } }).spec.replicas).toBe(3);
    expect(taskManagers.generation).toBe(before.get('Deployment/flink-cluster-taskmanager')!.generation! + 1);
  });

  it('destroys only what is not retained and keeps the bucket, the ZooKeeper state and the volume', async () => {
    const { bucket, zookeeperChroot } = names();
    await api.local.s3.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'acme-ha1/checkpoints/chk-7/_metadata', Body: 'checkpoint-7' }),
    );
    await zk.createTree(`${zookeeperChroot}/flink/acme-ha1/jobgraphs/job-1`, 'pointer-to-jobgraph');
    const before = await objects();

    const response = await api.request('DELETE', cluster(), { token: acmeToken });
    expect(response.status).toBe(202);
    expect(response.body.state).toBe('DESTROYED');
    expect(response.body.retained.map((resource: { kind: string }) => resource.kind).sort()).toEqual([
      'bucket',
      'ha-state',
      'volume',
      'zookeeper-namespace',
    ]);

    const after = await objects();
    const retainedIds = [...before.values()]
      .filter((object) => object.object.metadata?.labels?.['flinkplane.io/retain-on-destroy'] === 'true')
      .map((object) => object.id)
      .sort();
    expect([...after.keys()].sort()).toEqual(retainedIds);
    expect(retainedIds).toContain('PersistentVolumeClaim/faas-volume');
    expect(after.get('PersistentVolumeClaim/faas-volume')!.uid).toBe(
      before.get('PersistentVolumeClaim/faas-volume')!.uid,
    );
    const object = await api.local.s3.client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'acme-ha1/checkpoints/chk-7/_metadata' }),
    );
    expect(await object.Body!.transformToString()).toBe('checkpoint-7');
    expect(await zk.getData(`${zookeeperChroot}/flink/acme-ha1/jobgraphs/job-1`)).toBe('pointer-to-jobgraph');
    expect(await api.local.access.hasAccess('acme', names().namespace, names().serviceAccount)).toBe(false);
  });

  it('answers a second destroy with the same destroyed view', async () => {
    const response = await api.request('DELETE', cluster(), { token: acmeToken });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ state: 'DESTROYED', generation: 3 });
  });

  it('redeploys onto the same bucket, chroot, volume and HA cluster id', async () => {
    const pvcBefore = (await objects()).get('PersistentVolumeClaim/faas-volume')!.uid;
    const response = await api.request('PUT', cluster(), { token: acmeToken, body: { taskManager: { instances: 3 } } });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ haClusterId: 'acme-ha1', bucket: 'flinkplane-acme', generation: 4 });
    const running = await waitForState(api, 'acme', 'RUNNING');
    expect(running.zookeeperNamespace).toBe('/flinkplane/tenants/acme');
    expect((await objects()).get('PersistentVolumeClaim/faas-volume')!.uid).toBe(pvcBefore);
    expect(running.flinkConfiguration.jobmanager).toContainEqual(
      expect.objectContaining({ key: 'high-availability.cluster-id', value: 'acme-ha1' }),
    );
  });

  it('starts clean on a new HA cluster id and keeps the old state listed and untouched', async () => {
    const { bucket, zookeeperChroot } = names();
    const response = await api.request('PUT', cluster(), { token: acmeToken, body: { restore: 'clean' } });
    expect(response.status).toBe(202);
    expect(response.body.haClusterId).toBe('acme-ha2');
    expect(response.body.previousHaClusterIds).toEqual(['acme-ha1']);
    expect(response.body.retained).toContainEqual({ kind: 'ha-state', name: `${zookeeperChroot}/flink/acme-ha1` });
    expect(await zk.getData(`${zookeeperChroot}/flink/acme-ha1/jobgraphs/job-1`)).toBe('pointer-to-jobgraph');
    const object = await api.local.s3.client.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'acme-ha1/checkpoints/chk-7/_metadata' }),
    );
    expect(await object.Body!.transformToString()).toBe('checkpoint-7');
    await waitForState(api, 'acme', 'RUNNING');
  });

  it('keeps the HA cluster id on the next deploy after a clean start', async () => {
    const response = await api.request('PUT', cluster(), { token: acmeToken, body: {} });
    expect(response.body.haClusterId).toBe('acme-ha2');
  });

  it('purges only with the confirmation, only after destroy, and then removes everything', async () => {
    const { bucket, zookeeperChroot, namespace } = names();
    const noConfirm = await api.request('DELETE', '/v1/tenants/acme?purge=true');
    expect(noConfirm.status).toBe(400);
    expect(noConfirm.body.error.code).toBe('invalid_request');
    const wrongConfirm = await api.request('DELETE', '/v1/tenants/acme?purge=true&confirm=acne');
    expect(wrongConfirm.status).toBe(400);
    expect(wrongConfirm.body.error.details).toMatchObject({ field: 'confirm', value: 'acne' });
    const whileRunning = await api.request('DELETE', '/v1/tenants/acme?purge=true&confirm=acme');
    expect(whileRunning.status).toBe(409);
    const byTenant = await api.request('DELETE', '/v1/tenants/acme?purge=true&confirm=acme', { token: acmeToken });
    expect(byTenant.status).toBe(403);
    expect(await zk.exists(zookeeperChroot)).toBe(true);

    expect((await api.request('DELETE', cluster(), { token: acmeToken })).status).toBe(202);
    const purged = await api.request('DELETE', '/v1/tenants/acme?purge=true&confirm=acme');
    expect(purged.status).toBe(200);
    expect((await objects()).size).toBe(0);
    await expect(api.local.s3.client.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toThrow();
    expect(await zk.exists(zookeeperChroot)).toBe(false);
    expect((await api.request('GET', cluster())).status).toBe(404);
    expect((await api.request('GET', cluster(), { token: acmeToken })).status).toBe(401);
    expect(namespace).toBe('tenant-acme');
  });
});
