import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawZooKeeperClient } from '../../zookeeper-proxy/raw-client.ts';
import { type Environment, snapshotOutside, startEnvironment, type TreeSnapshot } from './support/environment.ts';
import { type CuratorDriver, startCuratorDriver } from './support/java.ts';

// Apache Curator 5.4 (the library Flink's HA uses) through the proxy, against a real ZooKeeper 3.8.
describe('Curator through the tenant proxy', () => {
  let env: Environment;
  let curator: CuratorDriver;
  let before: TreeSnapshot;
  const root = '/flink/cluster-1';

  beforeAll(async () => {
    [env, curator] = await Promise.all([startEnvironment(['a']), startCuratorDriver()]);
    before = await snapshotOutside(env.admin, [env.tenants.a!.chroot]);
    const connectString = env.tenants.a!.proxy.connectString;
    await Promise.all([
      curator.ok('c1', 'open', connectString, '10000'),
      curator.ok('c2', 'open', connectString, '10000'),
    ]);
  });

  afterAll(async () => {
    await curator?.stop();
    if (env) {
      expect(await snapshotOutside(env.admin, [env.tenants.a!.chroot])).toEqual(before);
      await env.stop();
    }
  });

  const tenant = () => env.tenants.a!;

  /** A client straight to ZooKeeper with the tenant's identity, to see where nodes really are. */
  async function directAsTenant(): Promise<RawZooKeeperClient> {
    const client = await RawZooKeeperClient.connect({ host: env.zk.host, port: env.zk.port });
    await client.auth('digest', `${tenant().user}:${tenant().password}`);
    return client;
  }

  async function dropSession(client: string): Promise<void> {
    const { sessionId } = await curator.ok(client, 'sessionId');
    expect(tenant().proxy.dropConnections((connection) => connection.sessionId === sessionId)).toBe(1);
  }

  it('elects one LeaderLatch leader and keeps it across a dropped connection within the session', async () => {
    const since = curator.events.length;
    await curator.ok('c1', 'latchStart', `${root}/leader/latch`);
    await curator.ok('c2', 'latchStart', `${root}/leader/latch`);
    const elected = await curator.waitForEvent((e) => e.event === 'leader' && e.leader === 'true', since);
    const leader = elected.client!;
    const follower = leader === 'c1' ? 'c2' : 'c1';
    expect(await curator.ok(follower, 'latchState')).toMatchObject({ hasLeadership: 'false', leader });

    const latchNodes = (await curator.ok('c1', 'children', `${root}/leader/latch`)).children as string[];
    expect(latchNodes).toHaveLength(2);
    for (const node of latchNodes) expect(node).toMatch(/^_c_[0-9a-f-]+-latch-\d{10}$/);
    const direct = await directAsTenant();
    expect((await direct.getChildren(`${tenant().chroot}${root}/leader/latch`)).sort()).toEqual([...latchNodes].sort());
    await direct.close();

    // Curator 5.4 keeps its latch node when the session survives, so the same client leads again.
    const dropped = curator.events.length;
    await dropSession(leader);
    await curator.waitForEvent((e) => e.event === 'state' && e.client === leader && e.state === 'RECONNECTED', dropped);
    await curator.waitForEvent((e) => e.event === 'leader' && e.client === leader && e.leader === 'true', dropped);
    expect(await curator.ok(follower, 'latchState')).toMatchObject({ hasLeadership: 'false', leader });
  });

  it('re-elects the LeaderLatch follower when the leader loses its proxy and its session expires', async () => {
    // Each contender reaches ZooKeeper through its own proxy, as with a proxy per JobManager pod.
    const [proxy1, proxy2] = await Promise.all([env.startProxy(tenant()), env.startProxy(tenant())]);
    await curator.ok('l1', 'open', proxy1.connectString, '4000');
    await curator.ok('l2', 'open', proxy2.connectString, '4000');
    const since = curator.events.length;
    await curator.ok('l1', 'latchStart', `${root}/leader/failover`);
    await curator.waitForEvent((e) => e.event === 'leader' && e.client === 'l1' && e.leader === 'true', since);
    await curator.ok('l2', 'latchStart', `${root}/leader/failover`);
    expect(await curator.ok('l2', 'latchState')).toMatchObject({ hasLeadership: 'false', leader: 'l1' });

    const failover = curator.events.length;
    await proxy1.close();
    await curator.waitForEvent((e) => e.event === 'leader' && e.client === 'l1' && e.leader === 'false', failover);
    await curator.waitForEvent((e) => e.event === 'leader' && e.client === 'l2' && e.leader === 'true', failover);
    expect(await curator.ok('l2', 'latchState')).toMatchObject({ hasLeadership: 'true', leader: 'l2' });
  });

  it('shares a checkpoint counter through SharedCount', async () => {
    const path = `${root}/jobs/job-1/checkpoint_id_counter`;
    await curator.ok('c1', 'countStart', path, '1');
    await curator.ok('c2', 'countStart', path, '1');
    const since = curator.events.length;
    expect(await curator.ok('c1', 'countTrySet', '42')).toMatchObject({ set: 'true' });
    await curator.waitForEvent((e) => e.event === 'count' && e.client === 'c2' && e.value === '42', since);
    expect(await curator.ok('c2', 'countGet')).toMatchObject({ value: '42' });
  });

  it('mirrors a subtree with TreeCache under client paths', async () => {
    await curator.ok('c1', 'create', `${root}/jobgraphs`, '');
    const since = curator.events.length;
    await curator.ok('c1', 'treeStart', `${root}/jobgraphs`);
    await curator.waitForEvent((e) => e.event === 'tree' && e.type === 'INITIALIZED', since);
    await curator.ok('c2', 'create', `${root}/jobgraphs/job-1`, 'pointer');
    const added = await curator.waitForEvent((e) => e.event === 'tree' && e.type === 'NODE_ADDED', since);
    expect(added.path).toBe(`${root}/jobgraphs`);
    await curator.waitForEvent((e) => e.event === 'tree' && e.path === `${root}/jobgraphs/job-1`, since);
    expect(await curator.ok('c1', 'treeChildren', `${root}/jobgraphs`)).toMatchObject({ children: ['job-1'] });
  });

  it('commits a transaction of creates as the state handle store does', async () => {
    const reply = await curator.ok(
      'c1',
      'transaction',
      `${root}/checkpoints`,
      '',
      `${root}/checkpoints/0000000001`,
      'handle-1',
      `${root}/checkpoints/0000000001/locks`,
      '',
    );
    expect(reply.paths).toEqual([
      `${root}/checkpoints`,
      `${root}/checkpoints/0000000001`,
      `${root}/checkpoints/0000000001/locks`,
    ]);
    expect(await curator.ok('c2', 'getData', `${root}/checkpoints/0000000001`)).toMatchObject({ data: 'handle-1' });
  });

  it('returns ephemeral-sequential names without the chroot', async () => {
    const reply = await curator.ok('c1', 'createEphemeralSequential', `${root}/leader/rest/connection-`, 'addr');
    expect(reply.path).toMatch(new RegExp(`^${root}/leader/rest/connection-\\d{10}$`));
  });

  it('fires data watches with client paths', async () => {
    await curator.ok('c1', 'create', `${root}/watched`, 'v1');
    await curator.ok('c1', 'watchData', `${root}/watched`);
    const since = curator.events.length;
    await curator.ok('c2', 'setData', `${root}/watched`, 'v2');
    const fired = await curator.waitForEvent((e) => e.event === 'watch' && e.client === 'c1', since);
    expect(fired).toMatchObject({ type: 'NodeDataChanged', path: `${root}/watched` });
  });

  it('re-sends watches with setWatches after the proxy drops the connection', async () => {
    await curator.ok('c1', 'create', `${root}/rewatched`, 'v1');
    await curator.ok('c1', 'watchData', `${root}/rewatched`);
    const setWatchesBefore = setWatchesCount();
    const since = curator.events.length;
    await dropSession('c1');
    await curator.waitForEvent((e) => e.event === 'state' && e.client === 'c1' && e.state === 'RECONNECTED', since);
    // The client pipelines setWatches behind its handshake; the proxy reads it once its own auth is answered.
    await expect.poll(setWatchesCount).toBeGreaterThan(setWatchesBefore);
    await curator.ok('c2', 'setData', `${root}/rewatched`, 'v2');
    const fired = await curator.waitForEvent(
      (e) => e.event === 'watch' && e.client === 'c1' && e.type !== 'None',
      since,
    );
    expect(fired).toMatchObject({ type: 'NodeDataChanged', path: `${root}/rewatched` });
  });

  function setWatchesCount(): number {
    const requests = tenant().proxy.stats().requestsByOp;
    return (requests.setWatches ?? 0) + (requests.setWatches2 ?? 0);
  }
});
