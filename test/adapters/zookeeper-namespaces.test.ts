import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ZooKeeper from 'zookeeper';
import {
  type ClosableZooKeeperNamespaces,
  createZooKeeperNamespaces,
} from '../../functions/adapters/zookeeper-namespaces.ts';
import { FlinkplaneError } from '../../functions/core/errors.ts';
import type { ZooKeeperIdentity } from '../../functions/core/ports.ts';
import { freePort } from '../../local/net.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../../local/zookeeper-server.ts';

const ADMIN: ZooKeeperIdentity = { user: 'flinkplane-admin', password: 'admin-secret-password' };
const ACME: ZooKeeperIdentity = { user: 'tenant-acme', password: 'acme-secret-password' };
const GLOBEX: ZooKeeperIdentity = { user: 'tenant-globex', password: 'globex-secret-password' };
const { constants } = ZooKeeper;

/** The digest id, computed here independently of the adapter. */
const digest = (identity: ZooKeeperIdentity) =>
  `${identity.user}:${createHash('sha1').update(`${identity.user}:${identity.password}`).digest('base64')}`;

type NativeAcl = { perms: number; scheme: string; auth: string };

let server: ZooKeeperServer;
let namespaces: ClosableZooKeeperNamespaces;
const natives: ZooKeeper[] = [];

/** A native (C) client, independent of the adapter's pure-JS one, optionally authenticated with a digest identity. */
async function nativeClient(identity?: ZooKeeperIdentity): Promise<ZooKeeper> {
  const client = new ZooKeeper({
    connect: server.connectString,
    timeout: 10_000,
    debug_level: constants.ZOO_LOG_LEVEL_ERROR,
    host_order_deterministic: false,
  });
  natives.push(client);
  await new Promise<void>((resolve) => {
    client.once('connect', () => resolve());
    client.init({});
  });
  if (identity) {
    await new Promise<void>((resolve, reject) => {
      client.add_auth('digest', `${identity.user}:${identity.password}`, (rc: number, error: number) =>
        rc === 0 ? resolve() : reject(new Error(`add_auth failed: ${rc} ${error}`)),
      );
    });
  }
  return client;
}

async function aclOf(path: string): Promise<NativeAcl[]> {
  const admin = await nativeClient(ADMIN);
  const [acl] = (await admin.get_acl(path)) as unknown as [NativeAcl[]];
  return acl;
}

/** Resolves with the ZooKeeper return code of a create: 0 when created. */
async function tryCreate(client: ZooKeeper, path: string): Promise<number> {
  return new Promise((resolve) => {
    client.a_create(path, '', constants.ZOO_PERSISTENT, (rc: number) => resolve(rc));
  });
}

beforeAll(async () => {
  server = await startZooKeeperServer();
  namespaces = createZooKeeperNamespaces({ connectString: server.connectString, adminIdentity: ADMIN });
});

afterAll(async () => {
  for (const client of natives) client.close();
  await namespaces?.close();
  await server?.stop();
});

describe('ensureNamespace', () => {
  it('creates the chroot with ALL for the tenant and the admin digest only', async () => {
    await namespaces.ensureNamespace('/flinkplane/tenants/acme', ACME);
    expect(await namespaces.namespaceExists('/flinkplane/tenants/acme')).toBe(true);
    const acl = await aclOf('/flinkplane/tenants/acme');
    expect(acl).toHaveLength(2);
    expect(acl).toEqual(
      expect.arrayContaining([
        { perms: constants.ZOO_PERM_ALL, scheme: 'digest', auth: digest(ACME) },
        { perms: constants.ZOO_PERM_ALL, scheme: 'digest', auth: digest(ADMIN) },
      ]),
    );
  });

  it('creates the parents readable by the admin digest only', async () => {
    await namespaces.ensureNamespace('/flinkplane/tenants/acme', ACME);
    for (const parent of ['/flinkplane', '/flinkplane/tenants']) {
      expect(await aclOf(parent)).toEqual([{ perms: constants.ZOO_PERM_ALL, scheme: 'digest', auth: digest(ADMIN) }]);
    }
    const anonymous = await nativeClient();
    await expect(anonymous.get_children('/flinkplane/tenants', false)).rejects.toThrow();
  });

  it('lets a client with the tenant identity create under the chroot and nobody else', async () => {
    await namespaces.ensureNamespace('/flinkplane/tenants/acme', ACME);
    await namespaces.ensureNamespace('/flinkplane/tenants/globex', GLOBEX);
    const anonymous = await nativeClient();
    const otherTenant = await nativeClient(GLOBEX);
    const wrongPassword = await nativeClient({ user: ACME.user, password: 'guessed' });
    const tenant = await nativeClient(ACME);
    expect(await tryCreate(anonymous, '/flinkplane/tenants/acme/anonymous')).toBe(constants.ZNOAUTH);
    expect(await tryCreate(otherTenant, '/flinkplane/tenants/acme/globex')).toBe(constants.ZNOAUTH);
    expect(await tryCreate(wrongPassword, '/flinkplane/tenants/acme/guess')).toBe(constants.ZNOAUTH);
    expect(await tryCreate(tenant, '/flinkplane/tenants/acme/flink')).toBe(0);
    expect(await tenant.get_children('/flinkplane/tenants/acme', false)).toEqual(['flink']);
  });

  it('succeeds a second time and keeps what is inside the chroot', async () => {
    await namespaces.ensureNamespace('/flinkplane/tenants/initech', { user: 'tenant-initech', password: 'p1' });
    const tenant = await nativeClient({ user: 'tenant-initech', password: 'p1' });
    expect(await tryCreate(tenant, '/flinkplane/tenants/initech/flink')).toBe(0);
    await namespaces.ensureNamespace('/flinkplane/tenants/initech', { user: 'tenant-initech', password: 'p1' });
    expect(await tenant.get_children('/flinkplane/tenants/initech', false)).toEqual(['flink']);
  });

  it('repairs the chroot ACL when it differs, e.g. after the platform key changed', async () => {
    const old: ZooKeeperIdentity = { user: 'tenant-hooli', password: 'old-password' };
    const rotated: ZooKeeperIdentity = { user: 'tenant-hooli', password: 'new-password' };
    await namespaces.ensureNamespace('/flinkplane/tenants/hooli', old);
    await namespaces.ensureNamespace('/flinkplane/tenants/hooli', rotated);
    expect(await aclOf('/flinkplane/tenants/hooli')).toEqual(
      expect.arrayContaining([{ perms: constants.ZOO_PERM_ALL, scheme: 'digest', auth: digest(rotated) }]),
    );
    expect(await tryCreate(await nativeClient(old), '/flinkplane/tenants/hooli/x')).toBe(constants.ZNOAUTH);
    expect(await tryCreate(await nativeClient(rotated), '/flinkplane/tenants/hooli/x')).toBe(0);
  });

  it('refuses / and paths with empty or relative segments', async () => {
    for (const chroot of ['/', '', 'flinkplane/tenants/x', '/flinkplane//x', '/flinkplane/../x', '/zookeeper/x']) {
      await expect(namespaces.ensureNamespace(chroot, ACME)).rejects.toBeInstanceOf(FlinkplaneError);
    }
  });
});

describe('deleteNamespace', () => {
  it('removes a deep tree the tenant wrote, and again without error', async () => {
    const chroot = '/flinkplane/tenants/umbrella';
    const identity = { user: 'tenant-umbrella', password: 'umbrella-password' };
    await namespaces.ensureNamespace(chroot, identity);
    const tenant = await nativeClient(identity);
    for (const path of ['/flink', '/flink/umbrella-ha0', '/flink/umbrella-ha0/leader', '/flink/umbrella-ha0/jobs']) {
      expect(await tryCreate(tenant, `${chroot}${path}`)).toBe(0);
    }
    for (let index = 0; index < 20; index++) {
      expect(await tryCreate(tenant, `${chroot}/flink/umbrella-ha0/jobs/job-${index}`)).toBe(0);
    }
    await namespaces.deleteNamespace(chroot);
    expect(await namespaces.namespaceExists(chroot)).toBe(false);
    await expect(namespaces.deleteNamespace(chroot)).resolves.toBeUndefined();
    // Its parent stays for the other tenants.
    expect(await namespaces.namespaceExists('/flinkplane/tenants')).toBe(true);
  });
});

describe('connection', () => {
  it('fails with dependency_unavailable, without the password, when ZooKeeper does not answer', async () => {
    const port = await freePort();
    const unreachable = createZooKeeperNamespaces({
      connectString: `127.0.0.1:${port}`,
      adminIdentity: ADMIN,
      connectTimeoutMs: 500,
    });
    const error = await unreachable.namespaceExists('/flinkplane/tenants/acme').catch((caught: unknown) => caught);
    await unreachable.close();
    expect(error).toBeInstanceOf(FlinkplaneError);
    expect((error as FlinkplaneError).code).toBe('dependency_unavailable');
    expect(
      JSON.stringify({ message: (error as Error).message, details: (error as FlinkplaneError).details }),
    ).not.toContain(ADMIN.password);
  });

  it('opens a new session after close', async () => {
    const own = createZooKeeperNamespaces({ connectString: server.connectString, adminIdentity: ADMIN });
    await own.ensureNamespace('/flinkplane/tenants/reopen', ACME);
    await own.close();
    expect(await own.namespaceExists('/flinkplane/tenants/reopen')).toBe(true);
    await own.close();
  });
});
