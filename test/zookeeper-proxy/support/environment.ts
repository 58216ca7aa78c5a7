import { startZooKeeperServer, type ZooKeeperServer } from '../../../local/zookeeper-server.ts';
import { digestAclId, OpCode } from '../../../zookeeper-proxy/codec.ts';
import {
  type HostPort,
  type ProxyLogRecord,
  startZooKeeperProxy,
  type ZooKeeperProxy,
} from '../../../zookeeper-proxy/proxy.ts';
import {
  type Acl,
  OPEN_ACL,
  PERMS_ALL,
  type RawClientOptions,
  RawZooKeeperClient,
} from '../../../zookeeper-proxy/raw-client.ts';
import { startUpstreamTap, type UpstreamTap } from './upstream-tap.ts';

/** Where the control plane keeps tenant roots; mirrored here so tests look like production. */
export const TENANTS_ROOT = '/flinkplane/tenants';

export type Tenant = {
  name: string;
  chroot: string;
  user: string;
  password: string;
  proxy: ZooKeeperProxy & { address: HostPort; connectString: string };
  /** Log records the tenant's proxy wrote. */
  logs: ProxyLogRecord[];
};

export type Environment = {
  zk: ZooKeeperServer;
  /** A direct, unauthenticated client: it sees the tree as anyone outside the tenants would. */
  admin: RawZooKeeperClient;
  tenants: Record<string, Tenant>;
  /** The tap between the proxies and ZooKeeper, when asked for. */
  tap: UpstreamTap | undefined;
  /** Starts another proxy for a tenant, as a second pod would run; closed by `stop`. */
  startProxy(tenant: Tenant): Promise<ZooKeeperProxy & { address: HostPort; connectString: string }>;
  /** Closes the proxies and the admin client and stops ZooKeeper. */
  stop(): Promise<void>;
};

/** The platform's own identity, which the control plane also puts on every tenant root. */
export const PLATFORM_ACL_ID = digestAclId('platform', 'platform-secret');

/** The ACL of a tenant root as the control plane sets it: the tenant's identity and the platform's, nobody else. */
export function tenantAcl(user: string, password: string): Acl[] {
  return [
    { perms: PERMS_ALL, scheme: 'digest', id: digestAclId(user, password) },
    { perms: PERMS_ALL, scheme: 'digest', id: PLATFORM_ACL_ID },
  ];
}

/**
 * Starts ZooKeeper, lays out a tree with decoys beside the tenant roots (`ab` next to `a`, a world-writable
 * `/flinkplane/shared`), creates each tenant's root as the control plane would, and starts one proxy per tenant.
 */
export async function startEnvironment(
  tenantNames: readonly string[],
  options: { tap?: boolean } = {},
): Promise<Environment> {
  const zk = await startZooKeeperServer();
  const tap = options.tap ? await startUpstreamTap({ host: zk.host, port: zk.port }) : undefined;
  const admin = await RawZooKeeperClient.connect({ host: zk.host, port: zk.port });
  await admin.create('/flinkplane', Buffer.from('platform'));
  await admin.create('/flinkplane/shared', Buffer.from('world-writable decoy'), 0, OPEN_ACL);
  await admin.create(TENANTS_ROOT, null);
  const tenants: Record<string, Tenant> = {};
  for (const name of tenantNames) {
    const chroot = `${TENANTS_ROOT}/${name}`;
    const user = `tenant-${name}`;
    const password = `secret-${name}`;
    await admin.create(chroot, null, 0, tenantAcl(user, password));
    // A sibling whose name extends the tenant's: a prefix check without the "/" would let the tenant reach it.
    await admin.create(`${chroot}b`, Buffer.from('decoy'), 0, OPEN_ACL);
    await admin.create(`${chroot}b/inner`, Buffer.from('decoy'), 0, OPEN_ACL);
    const logs: ProxyLogRecord[] = [];
    const upstreams = [tap ?? { host: zk.host, port: zk.port }];
    const proxy = await startZooKeeperProxy({
      upstreams,
      chroot,
      auth: { user, password },
      logger: (record) => logs.push(record),
    });
    tenants[name] = { name, chroot, user, password, proxy, logs };
  }
  const extraProxies: ZooKeeperProxy[] = [];
  return {
    zk,
    admin,
    tenants,
    tap,
    startProxy: async (tenant) => {
      const proxy = await startZooKeeperProxy({
        upstreams: [{ host: zk.host, port: zk.port }],
        chroot: tenant.chroot,
        auth: { user: tenant.user, password: tenant.password },
        logger: (record) => tenant.logs.push(record),
      });
      extraProxies.push(proxy);
      return proxy;
    },
    stop: async () => {
      for (const proxy of extraProxies) await proxy.close();
      for (const tenant of Object.values(tenants)) await tenant.proxy.close();
      admin.destroy();
      await tap?.close();
      await zk.stop();
    },
  };
}

/** A node's data, children, ACL and Stat, as hex and strings, keyed by path. */
export type TreeSnapshot = Record<string, { data: string; stat: string; acl: string; children: string[] }>;

/** Reads every node outside the given chroots with a direct client, byte for byte (data, Stat, ACL, children). */
export async function snapshotOutside(client: RawZooKeeperClient, chroots: readonly string[]): Promise<TreeSnapshot> {
  const snapshot: TreeSnapshot = {};
  const visit = async (path: string) => {
    if (chroots.includes(path)) return;
    const data = await client.request(OpCode.getData, (w) => w.writeUString(path).writeBool(false));
    const acl = await client.request(OpCode.getACL, (w) => w.writeUString(path));
    const children = await client.getChildren(path);
    if (data.err !== 0 || acl.err !== 0) throw new Error(`cannot read ${path}: ${data.err}/${acl.err}`);
    const dataBody = data.body.buffer.subarray(data.body.offset);
    snapshot[path] = {
      data: dataBody.subarray(0, dataBody.length - 68).toString('hex'),
      stat: dataBody.subarray(dataBody.length - 68).toString('hex'),
      acl: acl.body.buffer.subarray(acl.body.offset).toString('hex'),
      children: children.sort(),
    };
    for (const child of children) await visit(path === '/' ? `/${child}` : `${path}/${child}`);
  };
  await visit('/');
  return snapshot;
}

/** Connects a raw client through a tenant's proxy. */
export function connectRaw(tenant: Tenant, options: RawClientOptions = {}): Promise<RawZooKeeperClient> {
  return RawZooKeeperClient.connect(tenant.proxy.address, options);
}
