// @ts-expect-error node-zookeeper-client ships no type declarations; the part used here is typed below.
import nodeZookeeperClient from 'node-zookeeper-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ZooKeeper from 'zookeeper';
import { digestAclId } from '../../zookeeper-proxy/codec.ts';
import { RawZooKeeperClient } from '../../zookeeper-proxy/raw-client.ts';
import { type Environment, snapshotOutside, startEnvironment, type TreeSnapshot } from './support/environment.ts';
import { runZooKeeperCli } from './support/java.ts';

type Callback<T> = (error: (Error & { code?: number }) | null, result: T) => void;
type NzcClient = {
  connect(): void;
  close(): void;
  once(event: 'connected', listener: () => void): void;
  getChildren(path: string, callback: Callback<string[]>): void;
  transaction(): NzcTransaction;
};
type NzcTransaction = {
  create(path: string, data?: Buffer): NzcTransaction;
  setData(path: string, data: Buffer, version?: number): NzcTransaction;
  check(path: string, version: number): NzcTransaction;
  remove(path: string, version?: number): NzcTransaction;
  commit(callback: Callback<Array<{ type: number; path?: string }>>): void;
};
const nzc = nodeZookeeperClient as { createClient(connectString: string, options: object): NzcClient };

type CAcl = { perms: number; scheme: string; auth: string };
type CStat = { version: number };

// Real clients through the proxy against ZooKeeper 3.8; a tap between the proxy and ZooKeeper records every path.
describe('real ZooKeeper clients through the tenant proxy', () => {
  let env: Environment;
  let before: TreeSnapshot;
  const tenant = () => env.tenants.a!;

  beforeAll(async () => {
    env = await startEnvironment(['a'], { tap: true });
    before = await snapshotOutside(env.admin, [tenant().chroot]);
  });

  afterAll(async () => {
    if (!env) return;
    expect(env.tap!.undecodable).toEqual([]);
    const outside = env.tap!.paths.filter(
      (path) => path !== tenant().chroot && !path.startsWith(`${tenant().chroot}/`),
    );
    expect(outside).toEqual([]);
    expect(await snapshotOutside(env.admin, [tenant().chroot])).toEqual(before);
    await env.stop();
  });

  async function directAsTenant(): Promise<RawZooKeeperClient> {
    const client = await RawZooKeeperClient.connect({ host: env.zk.host, port: env.zk.port });
    await client.auth('digest', `${tenant().user}:${tenant().password}`);
    return client;
  }

  describe('npm zookeeper (the C client)', () => {
    let zk: ZooKeeper;

    beforeAll(async () => {
      zk = new ZooKeeper({
        connect: tenant().proxy.connectString,
        timeout: 10_000,
        debug_level: ZooKeeper.constants.ZOO_LOG_LEVEL_ERROR,
        host_order_deterministic: true,
      });
      await new Promise<void>((resolve) => {
        zk.once('connect', () => resolve());
        zk.init({});
      });
    });

    afterAll(async () => {
      await zk?.close();
    });

    it('creates, reads, updates and lists nodes under client paths', async () => {
      expect(await zk.create('/c-client', 'v1', ZooKeeper.constants.ZOO_PERSISTENT)).toBe('/c-client');
      await zk.set('/c-client', 'v2', -1);
      const [stat, data] = (await zk.get('/c-client', false)) as [CStat, Buffer];
      expect(data.toString()).toBe('v2');
      expect(stat.version).toBe(1);
      expect(await zk.get_children('/', false)).toContain('c-client');
      const direct = await directAsTenant();
      expect((await direct.getData(`${tenant().chroot}/c-client`)).toString()).toBe('v2');
      await direct.close();
      await zk.delete_('/c-client', -1);
      await expect(zk.exists('/c-client', false)).rejects.toThrow(/-101/);
    });

    it('stores the tenant identity where the client asked for world:anyone, and shows world:anyone back', async () => {
      await zk.create('/acl', '', ZooKeeper.constants.ZOO_PERSISTENT);
      const [created] = (await zk.get_acl('/acl')) as unknown as [CAcl[]];
      expect(created).toEqual([{ perms: 31, scheme: 'world', auth: 'anyone' }]);
      await zk.set_acl('/acl', -1, [
        { perms: 31, scheme: 'world', auth: 'anyone' },
        { perms: 1, scheme: 'digest', auth: 'operator:hash' },
      ]);
      const [updated] = (await zk.get_acl('/acl')) as unknown as [CAcl[]];
      expect(updated).toEqual([
        { perms: 31, scheme: 'world', auth: 'anyone' },
        { perms: 1, scheme: 'digest', auth: 'operator:x' },
      ]);
      const direct = await directAsTenant();
      expect(await direct.getACL(`${tenant().chroot}/acl`)).toEqual([
        { perms: 31, scheme: 'digest', id: digestAclId(tenant().user, tenant().password) },
        { perms: 1, scheme: 'digest', id: 'operator:hash' },
      ]);
      await direct.close();
      // A client straight to ZooKeeper without the tenant's identity cannot read what the tenant opened to the world.
      await expect(env.admin.getData(`${tenant().chroot}/acl`)).rejects.toMatchObject({ code: -102 });
    });

    it('creates TTL nodes, sequential ones with stripped names, and ZooKeeper expires them', async () => {
      expect(await zk.create('/ttl', 'x', ZooKeeper.constants.ZOO_PERSISTENT_WITH_TTL, 500)).toBe('/ttl');
      const name = await zk.create('/ttl-', 'x', ZooKeeper.constants.ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 60_000);
      expect(name).toMatch(/^\/ttl-\d{10}$/);
      // The test server reaps TTL nodes every second.
      await expect
        .poll(
          () =>
            zk.exists('/ttl', false).then(
              () => 'exists',
              (error: Error) => error.message,
            ),
          { timeout: 10_000 },
        )
        .toMatch(/-101/);
      expect(await zk.get_children('/', false)).toContain(name.slice(1));
    });

    it('refuses reconfig with reconfig disabled and keeps the session usable', async () => {
      await expect(zk.reconfig(null, 'server.1', null, -1)).rejects.toThrow(/-123/);
      await expect(zk.get('/zookeeper/config', false)).rejects.toThrow(/-101/);
      expect(await zk.get_children('/', false)).toContain('acl');
      expect(tenant().proxy.stats().refusalsByReason.reconfig).toBeGreaterThanOrEqual(1);
    });
  });

  describe('node-zookeeper-client (pure JS)', () => {
    let client: NzcClient;
    let handshakesBefore: number;

    beforeAll(async () => {
      handshakesBefore = env.tap!.handshakes.length;
      client = nzc.createClient(tenant().proxy.connectString, { sessionTimeout: 10_000, retries: 0 });
      await new Promise<void>((resolve) => {
        client.once('connected', () => resolve());
        client.connect();
      });
    });

    afterAll(() => client?.close());

    it('connects with the old handshake that has no readOnly byte', async () => {
      expect(env.tap!.handshakes.slice(handshakesBefore)).toEqual([{ readOnlyByte: false }]);
      const children = await new Promise<string[]>((resolve, reject) =>
        client.getChildren('/', (error, result) => (error ? reject(error) : resolve(result))),
      );
      expect(Array.isArray(children)).toBe(true);
    });

    it('commits a multi through transaction() with client paths', async () => {
      const results = await new Promise<Array<{ type: number; path?: string }>>((resolve, reject) =>
        client
          .transaction()
          .create('/tx')
          .create('/tx/child', Buffer.from('c'))
          .setData('/tx', Buffer.from('p'))
          .check('/tx/child', 0)
          .commit((error, result) => (error ? reject(error) : resolve(result))),
      );
      expect(results.map((result) => [result.type, result.path])).toEqual([
        [1, '/tx'],
        [1, '/tx/child'],
        [5, undefined],
        [13, undefined],
      ]);
    });
  });

  describe("ZooKeeper's Java CLI", () => {
    it('runs getEphemerals, whoami, a persistent recursive watch, sync and getAllChildrenNumber', async () => {
      const { stdout } = await runZooKeeperCli(tenant().proxy.connectString, [
        'create /cli',
        'addWatch -m PERSISTENT_RECURSIVE /cli',
        'create /cli/a x',
        'create /cli/a/b y',
        'create -e /cli/session-node e',
        'getEphemerals /cli',
        'whoami',
        'sync /cli',
        'getAllChildrenNumber /cli',
        'quit',
      ]);
      expect(stdout).toContain('type:NodeCreated path:/cli/a\n');
      expect(stdout).toContain('type:NodeCreated path:/cli/a/b\n');
      expect(stdout).toContain('[/cli/session-node]');
      expect(stdout).toMatch(/^digest: tenant-a$/m);
      expect(stdout).toContain('Sync is OK');
      expect(stdout).toMatch(/^3$/m);
      expect(stdout).not.toContain(tenant().chroot);
    });

    it('reports bad arguments for delete / and setAcl /', async () => {
      const { stderr } = await runZooKeeperCli(tenant().proxy.connectString, ['delete /', 'setAcl / world:anyone:r']);
      expect(stderr.match(/Arguments are not valid : \//g)).toHaveLength(2);
      expect(tenant().proxy.stats().refusalsByReason).toMatchObject({ delete_root: 1, set_acl_root: 1 });
    });
  });
});
