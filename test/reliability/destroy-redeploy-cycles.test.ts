import { GetObjectCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { tenantNames } from '../../functions/core/naming.ts';
import type { RawZooKeeperClient } from '../../zookeeper-proxy/raw-client.ts';
import { namespaceObjects } from '../support/kube-objects.ts';
import { type LocalApi, startLocalApi, waitForState } from '../support/local-api.ts';
import { seededRandom, suiteSeed } from './support/seeded-random.ts';
import { expectedTenantObjects } from './support/tenant-objects.ts';
import { connectDirect, type NodeSnapshot, snapshotTree, tenantNodeAcl } from './support/zookeeper-tree.ts';

const SEED = suiteSeed(0xc7c1e);
const CYCLES = 100;
/** Every so many cycles the cluster is left to become RUNNING before it is destroyed again. */
const RUNNING_EVERY = 10;
const TENANT = 'cycler';

describe(`100 destroy and redeploy cycles of one tenant (real dynalite, s3rver and ZooKeeper; Kubernetes stand-in; seed ${SEED})`, () => {
  let api: LocalApi;
  let token: string;
  let zookeeper: RawZooKeeperClient;
  const names = () => tenantNames(TENANT, api.local.platform);
  const objects = () => namespaceObjects(api.local.kube!.kubeConfig(), names().namespace);
  const cluster = `/v1/tenants/${TENANT}/flink-cluster`;
  /** What the tenant wrote before the cycles, by key, byte for byte. */
  const written = new Map<string, Buffer>();
  let treeBefore: Map<string, NodeSnapshot>;
  let pvcUid: string;

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 2 });
    token = await api.registerTenant(TENANT);
    expect((await api.request('PUT', cluster, { token, body: {} })).status).toBe(202);
    await waitForState(api, TENANT, 'RUNNING', 30_000);
    pvcUid = (await objects()).get('PersistentVolumeClaim/faas-volume')!.uid;

    // The job's state as Flink would leave it: checkpoints and savepoints in the bucket, HA pointers in ZooKeeper.
    const random = seededRandom(SEED);
    const every = Buffer.from(Array.from({ length: 256 * 4 }, (_, index) => index % 256));
    const objectsToWrite: [string, Buffer][] = [
      [`${TENANT}-ha1/checkpoints/chk-41/_metadata`, random.bytes(4_096)],
      [`${TENANT}-ha1/checkpoints/chk-41/shared/state-0`, random.bytes(300_000)],
      [`${TENANT}-ha1/ha/submittedJobGraph-7f3a`, every],
      [`${TENANT}-ha1/ha/empty-marker`, Buffer.alloc(0)],
      ['savepoints/savepoint-7f3a-1/_metadata', Buffer.from('savepoint metadata \u00fc\u2603\n', 'utf8')],
      ['savepoints/sp ü 😀/data', random.bytes(1_000)],
    ];
    for (const [key, body] of objectsToWrite) {
      await api.local.s3.client.send(new PutObjectCommand({ Bucket: names().bucket, Key: key, Body: body }));
      written.set(key, body);
    }

    const identity = api.local.secrets.zookeeperIdentity(TENANT);
    zookeeper = await connectDirect(api.local.zookeeperServer!, identity);
    const acl = tenantNodeAcl(identity, api.local.zookeeperAdmin);
    const root = `${names().zookeeperChroot}/flink`;
    const nodes: [string, Buffer | null][] = [
      [root, null],
      [`${root}/${TENANT}-ha1`, Buffer.alloc(0)],
      [`${root}/${TENANT}-ha1/jobgraphs`, null],
      [`${root}/${TENANT}-ha1/jobgraphs/7f3a`, random.bytes(2_000)],
      [`${root}/${TENANT}-ha1/checkpoints`, null],
      [`${root}/${TENANT}-ha1/checkpoints/7f3a`, Buffer.from([0, 0, 0, 41, 0xff, 0x00, 0xfe])],
      [`${root}/${TENANT}-ha1/checkpoint-counter`, Buffer.from([0, 0, 0, 0, 0, 0, 0, 42])],
      [`${root}/${TENANT}-ha1/leader`, every.subarray(0, 512)],
    ];
    for (const [path, data] of nodes) await zookeeper.create(path, data, 0, acl);
    treeBefore = await snapshotTree(zookeeper, names().zookeeperChroot);
  }, 120_000);

  afterAll(async () => {
    zookeeper?.destroy();
    await api?.stop();
  });

  it('keeps the bucket objects and ZooKeeper nodes byte for byte, the volume and the HA cluster id, and ends RUNNING', async () => {
    const random = seededRandom(SEED).fork('specs');
    let generation = 1;
    for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
      const label = `cycle ${cycle} (seed ${SEED})`;
      const destroyed = await api.request('DELETE', cluster, { token });
      generation += 1;
      expect(destroyed.status, `${label}: ${JSON.stringify(destroyed.body)}`).toBe(202);
      expect(destroyed.body, label).toMatchObject({ state: 'DESTROYED', generation, haClusterId: `${TENANT}-ha1` });

      const body = { taskManager: { instances: random.int(1, 3) } };
      const deployed = await api.request('PUT', cluster, { token, body });
      generation += 1;
      expect(deployed.status, `${label}: ${JSON.stringify(deployed.body)}`).toBe(202);
      expect(deployed.body, label).toMatchObject({
        generation,
        haClusterId: `${TENANT}-ha1`,
        previousHaClusterIds: [],
        spec: { taskManager: body.taskManager },
      });
      if (cycle % RUNNING_EVERY === 0 || cycle === CYCLES) {
        await waitForState(api, TENANT, 'RUNNING', 30_000);
        expect((await objects()).get('PersistentVolumeClaim/faas-volume')?.uid, label).toBe(pvcUid);
      }
    }

    const running = await waitForState(api, TENANT, 'RUNNING', 30_000);
    expect(running).toMatchObject({ generation: 1 + 2 * CYCLES, haClusterId: `${TENANT}-ha1`, lastError: null });
    expect(running.flinkConfiguration.jobmanager).toContainEqual(
      expect.objectContaining({ key: 'high-availability.cluster-id', value: `${TENANT}-ha1` }),
    );

    // The bucket holds exactly what was written, byte for byte.
    const listed = await api.local.s3.client.send(new ListObjectsCommand({ Bucket: names().bucket }));
    expect((listed.Contents ?? []).map((entry) => entry.Key).sort()).toEqual([...written.keys()].sort());
    for (const [key, body] of written) {
      const object = await api.local.s3.client.send(new GetObjectCommand({ Bucket: names().bucket, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      expect(bytes.equals(body), `${key}: ${bytes.length} bytes read, ${body.length} written`).toBe(true);
    }

    // Every node under the chroot (the chroot too) has the same data, Stat and ACL: none was rewritten or re-created.
    expect(await snapshotTree(zookeeper, names().zookeeperChroot)).toEqual(treeBefore);

    // The volume is the one first created, and the namespace holds exactly the rendered cluster.
    const live = await objects();
    expect(live.get('PersistentVolumeClaim/faas-volume')?.uid).toBe(pvcUid);
    const spec = validateClusterSpec(running.spec, api.local.platform);
    if (!spec.ok) throw new Error('the running spec does not validate');
    const expected = expectedTenantObjects({
      tenant: TENANT,
      spec: spec.spec,
      platform: api.local.platform,
      haEpoch: 1,
      identity: api.local.secrets.zookeeperIdentity(TENANT),
      state: 'RUNNING',
    });
    expect([...live.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(await api.local.access.hasAccess(TENANT, names().namespace, names().serviceAccount)).toBe(true);
  }, 240_000);
});
