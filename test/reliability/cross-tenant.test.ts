import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestId } from '../../functions/adapters/zookeeper-namespaces.ts';
import { tenantNames } from '../../functions/core/naming.ts';
import type { ZooKeeperIdentity } from '../../functions/core/ports.ts';
import { type Access, MERGE_PATCH_CONTENT_TYPE, ROUTES as ROUTE_TABLE, routeKey } from '../../functions/http/routes.ts';
import { CONTROL_PLANE_ROUTES } from '../../infra/constructs/control-plane-api.ts';
import { ErrorCode, OpCode } from '../../zookeeper-proxy/codec.ts';
import type { JuteWriter } from '../../zookeeper-proxy/jute.ts';
import { type HostPort, startZooKeeperProxy, type ZooKeeperProxy } from '../../zookeeper-proxy/proxy.ts';
import {
  type Acl,
  OPEN_ACL,
  type RawReply,
  RawZooKeeperClient,
  type WatcherEvent,
  writeCreate,
} from '../../zookeeper-proxy/raw-client.ts';
import { namespaceObjects } from '../support/kube-objects.ts';
import { type LocalApi, type RequestOptions, startLocalApi, waitForState } from '../support/local-api.ts';
import { sleep } from './support/api-client.ts';
import { seededRandom, suiteSeed } from './support/seeded-random.ts';
import { connectDirect, type NodeSnapshot, snapshotTree } from './support/zookeeper-tree.ts';

const SEED = suiteSeed(0xc2055);
const OWNER = 'acme';
const INTRUDER = 'beta';
const MISSING = 'ghost';

/** A body each writing route accepts from its own tenant. */
const BODIES: Record<string, unknown> = {
  'PUT /v1/tenants/{tenant}/flink-cluster': {},
  'PATCH /v1/tenants/{tenant}/flink-cluster': {},
  'POST /v1/tenants': { name: 'newcomer' },
};

/** Every route of the router, with who may use it: the one route table (the README's API table is built from it). */
const ROUTES: readonly { method: string; path: string; access: Access; body?: unknown; contentType: string }[] =
  ROUTE_TABLE.map((route) => ({
    method: route.method,
    path: route.path,
    access: route.access,
    contentType:
      ('request' in route && 'contentTypes' in route.request && route.request.contentTypes[0]) || 'application/json',
    ...(BODIES[routeKey(route)] === undefined ? {} : { body: BODIES[routeKey(route)] }),
  }));

/** The request a route gets for a target tenant: in the path, or in the query for the Flink UI check. */
function target(route: (typeof ROUTES)[number], tenant: string): string {
  if (route.path === '/v1/auth/flink-ui') return `${route.path}?tenant=${tenant}`;
  if (route.path === '/v1/tenants/{tenant}') return `/v1/tenants/${tenant}?purge=true&confirm=${tenant}`;
  return route.path.replace('{tenant}', tenant);
}

describe(`cross-tenant isolation: API routes and ZooKeeper proxies (seed ${SEED})`, () => {
  let api: LocalApi;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    api = await startLocalApi({ readinessDelayMs: 5 });
    for (const tenant of [OWNER, INTRUDER]) {
      tokens[tenant] = await api.registerTenant(tenant);
      const deployed = await api.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
        token: tokens[tenant],
        body: {},
      });
      expect(deployed.status).toBe(202);
      await waitForState(api, tenant, 'RUNNING', 30_000);
    }
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  });

  describe('API routes', () => {
    it('has a row for every route the router serves, the OpenAPI document lists and API Gateway routes', async () => {
      const table = ROUTES.map((route) => `${route.method} ${route.path}`).sort();
      const openapi = await api.request('GET', '/openapi.json', { token: null });
      const documented = Object.entries(openapi.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, item]) =>
          Object.keys(item)
            .filter((key) => ['get', 'put', 'post', 'delete', 'patch'].includes(key))
            .map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual(table);
      expect(table).toEqual(expect.arrayContaining(CONTROL_PLANE_ROUTES.map((r) => `${r.method} ${r.path}`)));
      // The router names its methods per path in Allow: no route hides behind a path in the table.
      for (const path of new Set(ROUTES.map((route) => route.path))) {
        const allowed = ROUTES.filter((route) => route.path === path).map((route) => route.method);
        const other = ['PATCH', 'PUT', 'POST', 'DELETE', 'GET'].find((method) => !allowed.includes(method))!;
        const answer = await api.request(other, path.replace('{tenant}', OWNER), { token: api.adminToken });
        expect(answer.status, path).toBe(405);
        expect(answer.headers.get('allow')?.split(', ').sort(), path).toEqual(allowed.sort());
      }
    });

    const guarded = ROUTES.filter((route) => route.access === 'tenant' || route.access === 'operator');
    const bodies: [string, RequestOptions][] = [
      ['a valid body', {}],
      ['an invalid spec', { body: { taskManager: { memoryMB: 1 } } }],
      ['a body that is not JSON', { rawBody: '{"taskManager":', headers: { 'content-type': 'application/json' } }],
      ['a text body', { rawBody: 'x', headers: { 'content-type': 'text/plain' } }],
    ];
    const cases = guarded.flatMap((route) =>
      route.method === 'PUT' || route.method === 'POST' || route.method === 'PATCH'
        ? bodies.map(([name, options]) => ({
            route,
            name,
            options:
              name === 'a valid body' || name === 'an invalid spec'
                ? {
                    body: name === 'a valid body' ? route.body : options.body,
                    headers: { 'content-type': route.contentType },
                  }
                : options,
          }))
        : [{ route, name: 'no body', options: {} as RequestOptions }],
    );

    it.each(cases)(
      'refuses $route.method $route.path with $name for another tenant with 403, the same for an existing and a missing one',
      async ({ route, options }) => {
        const before = await api.request('GET', `/v1/tenants/${OWNER}/flink-cluster`);
        const answers = [];
        for (const tenant of [OWNER, MISSING]) {
          const answer = await api.request(route.method, target(route, tenant), {
            ...options,
            token: tokens[INTRUDER],
          });
          expect(answer.status, `${tenant}: ${JSON.stringify(answer.body)}`).toBe(403);
          expect(answer.body.error.code).toBe('forbidden');
          answers.push(JSON.stringify(answer.body).replaceAll(tenant, '<tenant>'));
          expect(JSON.stringify(answer.body)).not.toContain(tokens[OWNER]);
        }
        expect(answers[0]).toBe(answers[1]);
        const after = await api.request('GET', `/v1/tenants/${OWNER}/flink-cluster`);
        expect(after.body).toEqual(before.body);
      },
    );

    it.each([
      ['percent-encoded', `/v1/tenants/%61cme/flink-cluster`],
      ['upper-case', '/v1/tenants/ACME/flink-cluster'],
      ['with a dot segment through its own name', `/v1/tenants/${INTRUDER}/../${OWNER}/flink-cluster`],
      ['with an encoded dot segment', `/v1/tenants/${INTRUDER}/%2e%2e/${OWNER}/flink-cluster`],
      ['with a trailing slash', `/v1/tenants/${OWNER}/flink-cluster/`],
      ['with an encoded slash', `/v1/tenants/${INTRUDER}%2F..%2F${OWNER}/flink-cluster`],
      ['with a second tenant query parameter', `/v1/auth/flink-ui?tenant=${OWNER}&tenant=${OWNER}`],
      ['with a query parameter of its own name first', `/v1/auth/flink-ui?tenant=${INTRUDER}&tenant=${OWNER}`],
    ])('refuses another tenant addressed %s', async (_name, path) => {
      for (const method of path.startsWith('/v1/auth') ? ['GET'] : ['GET', 'PUT', 'PATCH', 'DELETE']) {
        const answer = await api.request(method, path, {
          token: tokens[INTRUDER],
          ...(method === 'PUT' ? { body: {} } : {}),
          ...(method === 'PATCH'
            ? { body: { taskManager: { instances: 1 } }, headers: { 'content-type': MERGE_PATCH_CONTENT_TYPE } }
            : {}),
        });
        expect([403, 404], `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`).toContain(
          answer.status,
        );
        expect(answer.body.error.code, `${method} ${path}`).not.toBe('cluster_not_found');
      }
      const owner = await api.request('GET', `/v1/tenants/${OWNER}/flink-cluster`);
      expect(owner.body).toMatchObject({ state: 'RUNNING', generation: 1 });
    });

    it("lets each tenant reach its own routes, and leaves the other tenant's cluster and objects as they were", async () => {
      const objects = async () =>
        [...(await namespaceObjects(api.local.kube!.kubeConfig(), `tenant-${OWNER}`)).values()]
          .map((object) => `${object.id}@${object.resourceVersion}`)
          .sort();
      const before = await objects();
      expect(
        (await api.request('GET', `/v1/auth/flink-ui?tenant=${INTRUDER}`, { token: tokens[INTRUDER] })).status,
      ).toBe(204);
      const own = await api.request('GET', `/v1/tenants/${INTRUDER}/flink-cluster`, { token: tokens[INTRUDER] });
      expect(own.status).toBe(200);
      expect(JSON.stringify(own.body)).not.toContain(OWNER);
      const versions = await api.request('GET', '/v1/flink-versions', { token: tokens[INTRUDER] });
      expect(versions.status).toBe(200);
      expect(JSON.stringify(versions.body)).not.toContain(OWNER);
      expect(await objects()).toEqual(before);
      expect((await api.request('GET', `/v1/tenants/${OWNER}/flink-cluster`)).body.generation).toBe(1);
      expect((await api.request('GET', '/v1/tenants')).body.items.map((item: { name: string }) => item.name)).toEqual(
        expect.arrayContaining([OWNER, INTRUDER]),
      );
    });
  });

  describe('ZooKeeper proxies of two tenants on one ZooKeeper', () => {
    const random = seededRandom(SEED).fork('zookeeper');
    const marker = `B-SECRET-${randomBytes(8).toString('hex')}`;
    const bNode = `acme-job-${randomBytes(4).toString('hex')}`;
    /** A node of the victim's whose name the intruder never sends: only a listing of the victim could reveal it. */
    const hidden = `hidden-${randomBytes(6).toString('hex')}`;
    let server: HostPort;
    let owner: { identity: ZooKeeperIdentity; chroot: string; proxy: ZooKeeperProxy & { address: HostPort } };
    let intruder: { identity: ZooKeeperIdentity; chroot: string; proxy: ZooKeeperProxy & { address: HostPort } };
    let ownerClient: RawZooKeeperClient;
    let admin: RawZooKeeperClient;
    let ownerTreeBefore: Map<string, NodeSnapshot>;
    let outsideBefore: Map<string, NodeSnapshot>;

    // The intruder is tenant `beta` acting through its own proxy; the victim is `acme`, whose data it must not reach.
    beforeAll(async () => {
      server = { host: api.local.zookeeperServer!.host, port: api.local.zookeeperServer!.port };
      const grants = [{ scheme: 'digest', id: digestId(api.local.zookeeperAdmin) }];
      const start = async (tenant: string) => {
        // The chroot exists already: the deploys above created it through createZooKeeperNamespaces.
        const identity = api.local.secrets.zookeeperIdentity(tenant);
        const chroot = tenantNames(tenant, api.local.platform).zookeeperChroot;
        const proxy = await startZooKeeperProxy({
          upstreams: [server],
          chroot,
          auth: identity,
          openAclGrants: grants,
          logger: () => undefined,
        });
        return { identity, chroot, proxy };
      };
      owner = await start(OWNER);
      intruder = await start(INTRUDER);

      // The victim's state, written through its own proxy as its JobManager would.
      ownerClient = await RawZooKeeperClient.connect(owner.proxy.address);
      await ownerClient.create('/flink', null);
      await ownerClient.create(`/flink/${bNode}`, Buffer.from(marker));
      await ownerClient.create(`/flink/${bNode}/leader`, Buffer.from(`${marker}-leader`));
      await ownerClient.create(`/flink/${bNode}/lock`, Buffer.from(marker), 1);
      await ownerClient.create(`/flink/${hidden}`, Buffer.from(marker));
      await ownerClient.create(`/${hidden}`, null, 1);
      admin = await connectDirect(server, api.local.zookeeperAdmin);
      ownerTreeBefore = await snapshotTree(admin, owner.chroot);
      outsideBefore = await snapshotTree(admin, '/', intruder.chroot);
    }, 60_000);

    afterAll(async () => {
      ownerClient?.destroy();
      admin?.destroy();
      await owner?.proxy.close();
      await intruder?.proxy.close();
    });

    /** Path tricks aimed at the victim's chroot from inside the intruder's. */
    const tricks = (): string[] => {
      const victim = `/flinkplane/tenants/${OWNER}`;
      const fixed = [
        '/..',
        '/../..',
        `/../${OWNER}`,
        `/../${OWNER}/flink/${bNode}`,
        `/../../tenants/${OWNER}/flink`,
        `/../../../flinkplane/tenants/${OWNER}`,
        `/./../${OWNER}`,
        `/x/../../${OWNER}`,
        `//${OWNER}`,
        `/${OWNER}`,
        OWNER,
        `../${OWNER}`,
        '',
        '/',
        '/.',
        `/..\u0000/${OWNER}`,
        `/\u0000../${OWNER}`,
        `/%2e%2e/${OWNER}`,
        `/\uff0e\uff0e/${OWNER}`,
        `/\u2024\u2024/${OWNER}`,
        `/../${OWNER}\u0000`,
        `/..\\${OWNER}`,
        victim,
        `${victim}/flink/${bNode}`,
        `${'/..'.repeat(20)}${victim}`,
        `/../${INTRUDER}/../${OWNER}`,
        `/../${OWNER}b`,
        `/${'x'.repeat(5_000)}/../${OWNER}`,
        '/zookeeper',
        '/../../../zookeeper/config',
        `/flink/${bNode}`,
      ];
      const segments = [
        '..',
        '.',
        '',
        '%2e%2e',
        '\uff0e\uff0e',
        OWNER,
        'flink',
        bNode,
        'tenants',
        'flinkplane',
        '\u0000',
      ];
      const generated = Array.from(
        { length: 40 },
        () => `/${Array.from({ length: random.int(1, 6) }, () => random.pick(segments)).join('/')}`,
      );
      return [...fixed, ...generated];
    };

    const OPERATIONS: [string, number, (w: JuteWriter, path: string) => void][] = [
      ['getData', OpCode.getData, (w, p) => w.writeUString(p).writeBool(true)],
      ['exists', OpCode.exists, (w, p) => w.writeUString(p).writeBool(true)],
      ['getChildren', OpCode.getChildren, (w, p) => w.writeUString(p).writeBool(true)],
      ['getChildren2', OpCode.getChildren2, (w, p) => w.writeUString(p).writeBool(false)],
      ['getAllChildrenNumber', OpCode.getAllChildrenNumber, (w, p) => w.writeUString(p)],
      ['getACL', OpCode.getACL, (w, p) => w.writeUString(p)],
      ['getEphemerals', OpCode.getEphemerals, (w, p) => w.writeUString(p)],
      ['setData', OpCode.setData, (w, p) => w.writeUString(p).writeBuffer(Buffer.from('owned')).writeInt(-1)],
      ['delete', OpCode.delete, (w, p) => w.writeUString(p).writeInt(-1)],
      ['create', OpCode.create, (w, p) => writeCreate(w, `${p}/planted`, Buffer.from('x'), OPEN_ACL, 0)],
      ['create2', OpCode.create2, (w, p) => writeCreate(w, p, Buffer.from('x'), OPEN_ACL, 0)],
      ['createContainer', OpCode.createContainer, (w, p) => writeCreate(w, `${p}/c`, null, OPEN_ACL, 4)],
      ['createTTL', OpCode.createTTL, (w, p) => writeCreate(w, `${p}/t`, null, OPEN_ACL, 5).writeLong(60_000n)],
      [
        'setACL',
        OpCode.setACL,
        (w, p) => w.writeUString(p).writeInt(1).writeInt(31).writeUString('world').writeUString('anyone').writeInt(-1),
      ],
      ['sync', OpCode.sync, (w, p) => w.writeUString(p)],
      ['addWatch', OpCode.addWatch, (w, p) => w.writeUString(p).writeInt(1)],
      ['checkWatches', OpCode.checkWatches, (w, p) => w.writeUString(p).writeInt(3)],
      [
        'multi',
        OpCode.multi,
        (w, p) => {
          w.writeInt(OpCode.check).writeBool(false).writeInt(-1).writeUString(p).writeInt(-1);
          w.writeInt(OpCode.setData).writeBool(false).writeInt(-1).writeUString(p).writeBuffer(null).writeInt(-1);
          w.writeInt(OpCode.delete).writeBool(false).writeInt(-1).writeUString(`${p}/leader`).writeInt(-1);
          w.writeInt(-1).writeBool(true).writeInt(-1);
        },
      ],
      [
        'multiRead',
        OpCode.multiRead,
        (w, p) => {
          w.writeInt(OpCode.getChildren).writeBool(false).writeInt(-1).writeUString(p).writeBool(false);
          w.writeInt(OpCode.getData).writeBool(false).writeInt(-1).writeUString(p).writeBool(false);
          w.writeInt(-1).writeBool(true).writeInt(-1);
        },
      ],
    ];

    it("gives the intruder's client no read, list, write or delete of the victim's nodes by any path trick", async () => {
      const events: WatcherEvent[] = [];
      const replies: RawReply[] = [];
      const connect = () =>
        RawZooKeeperClient.connect(intruder.proxy.address, { onEvent: (event) => events.push(event) });
      const sessions: RawZooKeeperClient[] = [];
      let client = await connect();
      sessions.push(client);
      // Its own credentials for the victim would not help either: the proxy answers auth packets itself.
      const { user, password } = owner.identity;
      expect((await client.auth('digest', `${user}:${password}`)).err).toBe(ErrorCode.ok);
      let attempts = 0;
      for (const path of tricks()) {
        for (const [, op, body] of OPERATIONS) {
          if (client.closed) {
            client = await connect();
            sessions.push(client);
          }
          replies.push(await client.request(op, (w) => body(w, path)));
          attempts += 1;
        }
      }
      expect(attempts).toBeGreaterThan(1_000);
      // Both kinds of answer happened: work inside its own chroot, and refusals of the tricks.
      const answered = (err: number) => replies.filter((reply) => reply.err === err).length;
      expect(answered(ErrorCode.ok), 'requests served inside its own chroot').toBeGreaterThan(50);
      expect(answered(ErrorCode.badArguments), 'requests refused as escaping paths').toBeGreaterThan(100);

      // The victim's nodes are as they were (data, Stat, ACL, children), and nothing outside the intruder's chroot moved.
      expect(await snapshotTree(admin, owner.chroot)).toEqual(ownerTreeBefore);
      expect(await snapshotTree(admin, '/', intruder.chroot)).toEqual(outsideBefore);

      // The victim changes nodes: a watch the intruder got set on them (say, recursively on the victim's root) would
      // now fire with the hidden name in its path.
      await ownerClient.setData(`/flink/${hidden}`, Buffer.from(`${marker}-2`));
      await ownerClient.create(`/flink/${hidden}/new`, Buffer.from(marker));
      await ownerClient.delete(`/flink/${hidden}/new`);
      await ownerClient.setData(`/flink/${bNode}`, Buffer.from(`${marker}-2`));
      await sleep(500);
      for (const session of sessions) session.destroy();

      const secrets = [
        marker,
        hidden,
        owner.identity.password,
        intruder.identity.password,
        digestId(owner.identity).split(':')[1]!,
        digestId(intruder.identity).split(':')[1]!,
        digestId(api.local.zookeeperAdmin).split(':')[1]!,
      ];
      const leaked = replies.filter((reply) => secrets.some((secret) => reply.body.buffer.includes(secret)));
      expect(leaked.map((reply) => `${reply.xid}: ${reply.body.buffer.toString('latin1').slice(0, 120)}`)).toEqual([]);
      expect(events.filter((event) => secrets.some((secret) => event.path.includes(secret)))).toEqual([]);
    }, 120_000);

    it("denies a client that bypasses the proxies every read under both chroots, and the intruder's identity the victim's", async () => {
      const anonymous = await connectDirect(server);
      const withIntruderIdentity = await connectDirect(server, intruder.identity);
      try {
        const paths = [
          '/flinkplane',
          '/flinkplane/tenants',
          owner.chroot,
          `${owner.chroot}/flink`,
          `${owner.chroot}/flink/${bNode}`,
          intruder.chroot,
        ];
        for (const path of paths) {
          for (const [name, op] of [
            ['getData', OpCode.getData],
            ['getChildren', OpCode.getChildren],
          ] as const) {
            const reply = await anonymous.request(op, (w) => w.writeUString(path).writeBool(false));
            expect(reply.err, `anonymous ${name} ${path}`).toBe(-102);
          }
        }
        for (const path of ['/flinkplane/tenants', owner.chroot, `${owner.chroot}/flink/${bNode}`]) {
          const data = await withIntruderIdentity.request(OpCode.getData, (w) => w.writeUString(path).writeBool(false));
          const children = await withIntruderIdentity.request(OpCode.getChildren, (w) =>
            w.writeUString(path).writeBool(false),
          );
          expect([data.err, children.err], `${INTRUDER}'s identity on ${path}`).toEqual([-102, -102]);
        }
        const acl = await withIntruderIdentity.request(OpCode.getACL, (w) => w.writeUString(owner.chroot));
        expect(acl.err, `${INTRUDER}'s identity reading the ACL of ${owner.chroot}`).toBe(-102);
        const actual: Acl[] = await admin.getACL(owner.chroot);
        expect(actual.map((entry) => entry.id).sort()).toEqual(
          [digestId(owner.identity), digestId(api.local.zookeeperAdmin)].sort(),
        );
      } finally {
        anonymous.destroy();
        withIntruderIdentity.destroy();
      }
    });
  });
});
