import { digestId } from '../../../functions/adapters/zookeeper-namespaces.ts';
import type { ZooKeeperIdentity } from '../../../functions/core/ports.ts';
import { OpCode } from '../../../zookeeper-proxy/codec.ts';
import { type Acl, PERMS_ALL, RawZooKeeperClient } from '../../../zookeeper-proxy/raw-client.ts';

/** One node as ZooKeeper keeps it: data and Stat (czxid, mzxid, versions…) byte for byte, its ACL and children. */
export interface NodeSnapshot {
  readonly dataAndStat: string;
  readonly acl: string;
  readonly children: readonly string[];
}

/** A direct session (no proxy) on the server, authenticated as `identity` when one is given. */
export async function connectDirect(
  address: { host: string; port: number },
  identity?: ZooKeeperIdentity,
): Promise<RawZooKeeperClient> {
  const client = await RawZooKeeperClient.connect(address, { sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
  if (identity) {
    const reply = await client.auth('digest', `${identity.user}:${identity.password}`);
    if (reply.err !== 0) throw new Error(`digest auth as ${identity.user} failed: ${reply.err}`);
  }
  return client;
}

/** Every node from `root` down but the subtree at `exclude`, read with `client`, which must be allowed to read them. */
export async function snapshotTree(
  client: RawZooKeeperClient,
  root: string,
  exclude?: string,
): Promise<Map<string, NodeSnapshot>> {
  const snapshot = new Map<string, NodeSnapshot>();
  const visit = async (path: string) => {
    if (path === exclude) return;
    const data = await client.request(OpCode.getData, (w) => w.writeUString(path).writeBool(false));
    const acl = await client.request(OpCode.getACL, (w) => w.writeUString(path));
    if (data.err !== 0 || acl.err !== 0) throw new Error(`cannot read ${path}: ${data.err}/${acl.err}`);
    const children = (await client.getChildren(path)).sort();
    snapshot.set(path, {
      dataAndStat: data.body.buffer.subarray(data.body.offset).toString('hex'),
      acl: acl.body.buffer.subarray(acl.body.offset).toString('hex'),
      children,
    });
    for (const child of children) await visit(path === '/' ? `/${child}` : `${path}/${child}`);
  };
  await visit(root);
  return snapshot;
}

/** The ACL a tenant's proxy gives the nodes it creates: the tenant's identity and the control plane's, nobody else. */
export function tenantNodeAcl(tenant: ZooKeeperIdentity, admin: ZooKeeperIdentity): Acl[] {
  return [
    { perms: PERMS_ALL, scheme: 'digest', id: digestId(tenant) },
    { perms: PERMS_ALL, scheme: 'digest', id: digestId(admin) },
  ];
}
