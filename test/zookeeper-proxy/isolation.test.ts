import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, OpCode } from '../../zookeeper-proxy/codec.ts';
import { JuteWriter } from '../../zookeeper-proxy/jute.ts';
import { CONNECTION_LOSS, OPEN_ACL, type RawZooKeeperClient, writeCreate } from '../../zookeeper-proxy/raw-client.ts';
import {
  connectRaw,
  type Environment,
  snapshotOutside,
  startEnvironment,
  type Tenant,
  type TreeSnapshot,
} from './support/environment.ts';
import { connectRequestFrame, dribble, exchange } from './support/raw-socket.ts';

const ESCAPES = [
  '/..',
  '/../b',
  '/../ab/inner',
  '/x/../../b',
  '//',
  '//x',
  '/./',
  '/.',
  '/x/./y',
  '/x/',
  '/x\u0000y',
  '/x\u0001y',
  '/x\u007fy',
  '/x\ud800y',
  'b',
  '',
  `/${'x'.repeat(5000)}`,
];

// Two tenants behind two proxies on one ZooKeeper; a tap between proxies and ZooKeeper records every upstream path.
describe('tenant isolation and escape attempts', () => {
  let env: Environment;
  let before: TreeSnapshot;
  let a: Tenant;
  let b: Tenant;
  let clientA: RawZooKeeperClient;
  let clientB: RawZooKeeperClient;
  const chroots = () => [a.chroot, b.chroot];

  beforeAll(async () => {
    env = await startEnvironment(['a', 'b'], { tap: true });
    a = env.tenants.a!;
    b = env.tenants.b!;
    before = await snapshotOutside(env.admin, chroots());
    [clientA, clientB] = await Promise.all([connectRaw(a), connectRaw(b)]);
  });

  afterAll(async () => {
    if (!env) return;
    clientA?.destroy();
    clientB?.destroy();
    const tap = env.tap!;
    expect(tap.undecodable).toEqual([]);
    const outside = tap.paths.filter((path) => !chroots().some((c) => path === c || path.startsWith(`${c}/`)));
    expect(outside).toEqual([]);
    expect(await snapshotOutside(env.admin, chroots())).toEqual(before);
    await env.stop();
  });

  /** A raw request on a fresh connection through a tenant's proxy. */
  async function once(tenant: Tenant, op: number, body: (w: JuteWriter) => void) {
    const client = await connectRaw(tenant);
    try {
      return await client.request(op, body);
    } finally {
      client.destroy();
    }
  }

  it('keeps two tenants apart', async () => {
    await clientA.create('/same-name', Buffer.from('A'));
    await clientB.create('/same-name', Buffer.from('B'));
    await clientA.create('/only-a', Buffer.from('A'));
    await clientA.create('/eph-a', null, 1);
    await clientB.create('/eph-b', null, 1);
    expect((await clientA.getData('/same-name')).toString()).toBe('A');
    expect((await clientB.getData('/same-name')).toString()).toBe('B');
    expect(await clientB.getChildren('/')).not.toContain('only-a');
    await expect(clientB.getData('/only-a')).rejects.toMatchObject({ code: ErrorCode.noNode });
    const ephemerals = await clientB.request(OpCode.getEphemerals, (w) => w.writeUString('/'));
    expect(ephemerals.body.readInt()).toBe(1);
    expect(ephemerals.body.readUString()).toBe('/eph-b');
  });

  it.each([
    ['create', OpCode.create, (w: JuteWriter, path: string) => writeCreate(w, path, null, OPEN_ACL, 0)],
    ['create2', OpCode.create2, (w: JuteWriter, path: string) => writeCreate(w, path, null, OPEN_ACL, 0)],
    ['getData', OpCode.getData, (w: JuteWriter, path: string) => w.writeUString(path).writeBool(true)],
    ['setData', OpCode.setData, (w: JuteWriter, path: string) => w.writeUString(path).writeBuffer(null).writeInt(-1)],
    ['delete', OpCode.delete, (w: JuteWriter, path: string) => w.writeUString(path).writeInt(-1)],
    ['getChildren2', OpCode.getChildren2, (w: JuteWriter, path: string) => w.writeUString(path).writeBool(false)],
    ['getACL', OpCode.getACL, (w: JuteWriter, path: string) => w.writeUString(path)],
    ['sync', OpCode.sync, (w: JuteWriter, path: string) => w.writeUString(path)],
    ['getEphemerals', OpCode.getEphemerals, (w: JuteWriter, path: string) => w.writeUString(path)],
    ['addWatch', OpCode.addWatch, (w: JuteWriter, path: string) => w.writeUString(path).writeInt(1)],
  ])('answers bad arguments to %s with an escaping path and stays usable', async (_name, op, body) => {
    for (const path of ESCAPES) {
      const reply = await clientA.request(op, (w) => body(w, path));
      expect({ path, err: reply.err }).toEqual({ path, err: ErrorCode.badArguments });
    }
    expect((await clientA.getData('/same-name')).toString()).toBe('A');
  });

  it('refuses a multi with one escaping path and creates nothing', async () => {
    const reply = await clientA.request(OpCode.multi, (w) => {
      w.writeInt(OpCode.create).writeBool(false).writeInt(-1);
      writeCreate(w, '/multi-ok', null, OPEN_ACL, 0);
      w.writeInt(OpCode.create).writeBool(false).writeInt(-1);
      writeCreate(w, '/../b/planted', null, OPEN_ACL, 0);
      w.writeInt(-1).writeBool(true).writeInt(-1);
    });
    expect(reply.err).toBe(ErrorCode.ok);
    expect([reply.body.readInt(), reply.body.readBool(), reply.body.readInt()]).toEqual([-1, false, 0]);
    reply.body.readInt();
    expect([reply.body.readInt(), reply.body.readBool(), reply.body.readInt()]).toEqual([-1, false, -8]);
    await expect(clientA.getData('/multi-ok')).rejects.toMatchObject({ code: ErrorCode.noNode });
  });

  it('refuses setWatches and setWatches2 with an escaping path in any list', async () => {
    for (const op of [OpCode.setWatches, OpCode.setWatches2]) {
      for (let list = 0; list < (op === OpCode.setWatches ? 3 : 5); list++) {
        const frame = new JuteWriter().writeInt(-8).writeInt(op).writeLong(0n);
        for (let i = 0; i < (op === OpCode.setWatches ? 3 : 5); i++) {
          if (i === list) frame.writeInt(2).writeUString('/same-name').writeUString('/../b/same-name');
          else frame.writeInt(0);
        }
        const reply = await clientA.sendFrame(frame.toFrame(), -8, op);
        expect(reply.err).toBe(ErrorCode.badArguments);
      }
    }
  });

  it('refuses delete / and setACL / and leaves the chroot in place', async () => {
    expect((await clientA.request(OpCode.delete, (w) => w.writeUString('/').writeInt(-1))).err).toBe(-8);
    const setAcl = await clientA.request(OpCode.setACL, (w) =>
      w.writeUString('/').writeInt(1).writeInt(31).writeUString('world').writeUString('anyone').writeInt(-1),
    );
    expect(setAcl.err).toBe(ErrorCode.badArguments);
    const multiDelete = await clientA.request(OpCode.multi, (w) => {
      w.writeInt(OpCode.delete).writeBool(false).writeInt(-1).writeUString('/').writeInt(-1);
      w.writeInt(-1).writeBool(true).writeInt(-1);
    });
    expect([multiDelete.body.readInt(), multiDelete.body.readBool(), multiDelete.body.readInt()]).toEqual([
      -1,
      false,
      -8,
    ]);
    expect(await clientA.getChildren('/')).toContain('same-name');
  });

  it('shows the root ACL without the tenant identity or any digest hash', async () => {
    expect(await clientA.getACL('/')).toEqual([
      { perms: 31, scheme: 'world', id: 'anyone' },
      { perms: 31, scheme: 'digest', id: 'platform:x' },
    ]);
  });

  it('answers reconfig with reconfig disabled', async () => {
    const reply = await clientA.request(OpCode.reconfig, (w) =>
      w.writeUString(null).writeUString('server.1').writeUString(null).writeLong(-1n),
    );
    expect(reply.err).toBe(ErrorCode.reconfigDisabled);
  });

  it('answers the tenant auth itself and never forwards it', async () => {
    const opcodesBefore = env.tap!.opcodes.length;
    const client = await connectRaw(a);
    expect((await client.auth('digest', 'super:guess')).err).toBe(ErrorCode.ok);
    expect((await client.auth('sasl', 'anything')).err).toBe(ErrorCode.ok);
    expect(await client.getChildren('/')).toContain('same-name');
    client.destroy();
    // The one auth upstream is the proxy's own, sent right after the handshake.
    expect(env.tap!.opcodes.slice(opcodesBefore).filter((op) => op === OpCode.auth)).toHaveLength(1);
  });

  it.each([
    ['deleteContainer', OpCode.deleteContainer, (w: JuteWriter) => w.writeUString('/same-name')],
    ['createSession', OpCode.createSession, () => undefined],
    ['sasl', OpCode.sasl, (w: JuteWriter) => w.writeBuffer(Buffer.from('token'))],
    ['opcode 10', 10, (w: JuteWriter) => w.writeUString('/same-name')],
    ['opcode 23', 23, (w: JuteWriter) => w.writeUString('/same-name')],
    ['opcode 9999', 9999, () => undefined],
  ])('closes the connection on %s', async (_name, op, body) => {
    const reply = await once(a, op, body);
    expect(reply.err).toBe(CONNECTION_LOSS);
  });

  it.each([
    [
      'a body cut short',
      new JuteWriter().writeInt(5).writeInt(OpCode.getData).writeInt(50).writeUString('/x').toFrame(),
    ],
    ['trailing bytes', new JuteWriter().writeInt(5).writeInt(OpCode.sync).writeUString('/x').writeInt(0).toFrame()],
    [
      'a bad boolean',
      new JuteWriter()
        .writeInt(5)
        .writeInt(OpCode.exists)
        .writeUString('/x')
        .writeBytes(Buffer.from([7]))
        .toFrame(),
    ],
    ['an oversize frame', Buffer.from('00100000', 'hex')],
    ['a negative length', Buffer.from('ffffffff', 'hex')],
    ['an empty frame', Buffer.from('00000000', 'hex')],
    ['a header cut short', Buffer.from('0000000200aa', 'hex')],
    [
      'a request on the notification xid',
      new JuteWriter().writeInt(-1).writeInt(OpCode.getData).writeUString('/x').writeBool(false).toFrame(),
    ],
  ])('closes the connection on %s', async (_name, frame) => {
    const client = await connectRaw(a);
    client.writeRaw(frame);
    await client.whenClosed();
    expect(client.closed).toBe(true);
  });

  it.each([
    ['garbage', Buffer.from('00000008deadbeefcafebabe', 'hex')],
    ['protocol version 1', connectRequestFrame({ version: 1 })],
    ['an oversize handshake', Buffer.concat([Buffer.from('00010000', 'hex'), Buffer.alloc(100)])],
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: zk\r\n\r\n')],
    ['TLS', Buffer.from('16030100a5010000a10303', 'hex')],
  ])('closes a connection whose first frame is %s without reaching ZooKeeper', async (_name, bytes) => {
    const connections = env.tap!.connections;
    const { data, closed } = await exchange(a.proxy.address, bytes);
    expect({ closed, data: data.toString('hex') }).toEqual({ closed: true, data: '' });
    expect(env.tap!.connections).toBe(connections);
  });

  it('answers ruok locally with imok', async () => {
    expect((await exchange(a.proxy.address, Buffer.from('ruok'))).data.toString()).toBe('imok');
  });

  it.each([
    'srvr',
    'stat',
    'cons',
    'dump',
    'wchc',
    'wchp',
    'wchs',
    'mntr',
    'envi',
    'conf',
    'crst',
    'srst',
    'gtmk',
    'stmk',
    'isro',
  ])('closes on the four-letter word %s without forwarding it', async (word) => {
    const connections = env.tap!.connections;
    const { data, closed } = await exchange(a.proxy.address, Buffer.from(word));
    expect({ closed, data: data.toString() }).toEqual({ closed: true, data: '' });
    expect(env.tap!.connections).toBe(connections);
  });

  it('accepts a handshake and a request split into single bytes', async () => {
    const request = new JuteWriter().writeInt(1).writeInt(OpCode.getChildren).writeUString('/').writeBool(false);
    const [, reply] = await dribble(a.proxy.address, Buffer.concat([connectRequestFrame(), request.toFrame()]), 2);
    expect(reply!.readInt32BE(0)).toBe(1);
    expect(reply!.readInt32BE(12)).toBe(ErrorCode.ok);
  });

  it('stays up and serves new clients after all of the above', async () => {
    expect((await once(b, OpCode.getData, (w) => w.writeUString('/same-name').writeBool(false))).err).toBe(0);
    const refusals = a.proxy.stats().refusalsByReason;
    expect(refusals).toMatchObject({ invalid_path: expect.any(Number), four_letter_word: 15, bad_handshake: 5 });
  });
});
