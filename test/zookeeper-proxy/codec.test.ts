import { describe, expect, it } from 'vitest';
import {
  type CodecContext,
  createCodecContext,
  ErrorCode,
  OpCode,
  parseConnectRequest,
  parseConnectResponse,
  type RequestVerdict,
  rewriteReply,
  rewriteRequest,
  rewriteWatcherEvent,
} from '../../zookeeper-proxy/codec.ts';
import { JuteReader, JuteWriter } from '../../zookeeper-proxy/jute.ts';
import { type Acl, OPEN_ACL, writeCreate } from '../../zookeeper-proxy/raw-client.ts';

const CHROOT = '/t/a';
const context = createCodecContext({ chroot: CHROOT });
const STAT = Buffer.alloc(68, 0xab);

/** A request payload (no frame length): header, then the body. */
function request(op: number, body: (w: JuteWriter) => void = () => undefined, xid = 7): Buffer {
  const writer = new JuteWriter().writeInt(xid).writeInt(op);
  body(writer);
  return Buffer.from(writer.toBuffer());
}

/** A reply payload: ReplyHeader, then the body. */
function reply(body: (w: JuteWriter) => void = () => undefined, err = 0, xid = 7): Buffer {
  const writer = new JuteWriter().writeInt(xid).writeLong(99n).writeInt(err);
  body(writer);
  return Buffer.from(writer.toBuffer());
}

/** The payload of a forwarded verdict, after checking the frame's length prefix. */
function forwarded(verdict: RequestVerdict): Buffer {
  if (verdict.action !== 'forward') throw new Error(`expected forward, got ${JSON.stringify(verdict)}`);
  expect(verdict.frame.readInt32BE(0)).toBe(verdict.frame.length - 4);
  return verdict.frame.subarray(4);
}

function answered(verdict: RequestVerdict): { err: number; body: JuteReader } {
  if (verdict.action !== 'answer') throw new Error(`expected answer, got ${JSON.stringify(verdict)}`);
  const reader = new JuteReader(verdict.frame.subarray(4));
  expect(reader.readInt()).toBe(verdict.xid);
  reader.readLong();
  return { err: reader.readInt(), body: reader };
}

const create = (path: string, flags = 0, acl: readonly Acl[] = OPEN_ACL) =>
  request(OpCode.create, (w) => writeCreate(w, path, Buffer.from('data'), acl, flags));

describe('rewriteRequest', () => {
  it('adds the chroot to a create path and keeps every other byte', () => {
    expect(forwarded(rewriteRequest(create('/flink/x'), context))).toEqual(create(`${CHROOT}/flink/x`));
  });

  it('maps client / to the chroot itself', () => {
    const getData = (path: string) => request(OpCode.getData, (w) => w.writeUString(path).writeBool(true));
    expect(forwarded(rewriteRequest(getData('/'), context))).toEqual(getData(CHROOT));
  });

  it('keeps a sequential create on / below the chroot', () => {
    expect(forwarded(rewriteRequest(create('/', 2), context))).toEqual(create(`${CHROOT}/`, 2));
  });

  it('accepts a sequential create ending in / and refuses the same path without the sequential flag', () => {
    expect(forwarded(rewriteRequest(create('/latch/', 3), context))).toEqual(create(`${CHROOT}/latch/`, 3));
    expect(answered(rewriteRequest(create('/latch/', 0), context)).err).toBe(ErrorCode.badArguments);
  });

  it.each(['/..', '/flink/../../b', '//flink', '/./flink', '/flink/', 'flink', '', '/a\u0000b', '/a\u0007b'])(
    'answers bad arguments for create %j without forwarding',
    (path) => {
      const verdict = rewriteRequest(create(path), context);
      expect(answered(verdict).err).toBe(ErrorCode.badArguments);
      expect(verdict).toMatchObject({ reason: 'invalid_path' });
    },
  );

  it('refuses a path that is not valid UTF-8', () => {
    const body = request(OpCode.exists, (w) => w.writeBuffer(Buffer.from([0x2f, 0xc3, 0x28])).writeBool(false));
    expect(rewriteRequest(body, context)).toMatchObject({ action: 'answer', reason: 'invalid_path' });
  });

  it('refuses a null path', () => {
    const body = request(OpCode.exists, (w) => w.writeUString(null).writeBool(false));
    expect(rewriteRequest(body, context)).toMatchObject({ action: 'answer', reason: 'invalid_path' });
  });

  it('refuses a path longer than the limit once chrooted', () => {
    const limited = createCodecContext({ chroot: CHROOT, maxPathBytes: 64 });
    expect(forwarded(rewriteRequest(create(`/${'x'.repeat(59)}`), limited)).length).toBeGreaterThan(0);
    expect(rewriteRequest(create(`/${'x'.repeat(60)}`), limited)).toMatchObject({ reason: 'path_too_long' });
  });

  it('refuses unknown create flags', () => {
    expect(rewriteRequest(create('/x', 7), context)).toMatchObject({ action: 'answer', reason: 'bad_create_flags' });
  });

  it('chroots a createTTL request', () => {
    const ttl = (path: string) =>
      request(OpCode.createTTL, (w) => writeCreate(w, path, null, OPEN_ACL, 5).writeLong(60_000n));
    expect(forwarded(rewriteRequest(ttl('/ttl'), context))).toEqual(ttl(`${CHROOT}/ttl`));
  });

  it('answers delete / with bad arguments', () => {
    const verdict = rewriteRequest(
      request(OpCode.delete, (w) => w.writeUString('/').writeInt(-1)),
      context,
    );
    expect(answered(verdict).err).toBe(ErrorCode.badArguments);
    expect(verdict).toMatchObject({ reason: 'delete_root' });
  });

  it('answers setACL on / with bad arguments and allows it below', () => {
    const setAcl = (path: string) =>
      request(OpCode.setACL, (w) =>
        w.writeUString(path).writeInt(1).writeInt(1).writeUString('world').writeUString('anyone').writeInt(-1),
      );
    expect(rewriteRequest(setAcl('/'), context)).toMatchObject({ action: 'answer', reason: 'set_acl_root' });
    expect(forwarded(rewriteRequest(setAcl('/x'), context))).toEqual(setAcl(`${CHROOT}/x`));
  });

  it('chroots every path of every setWatches list', () => {
    const setWatches = (prefix: string) =>
      request(
        OpCode.setWatches,
        (w) => {
          w.writeLong(42n);
          for (const list of [['/d1', '/d2'], ['/e1'], []]) {
            w.writeInt(list.length);
            for (const path of list) w.writeUString(prefix + path);
          }
        },
        -8,
      );
    expect(forwarded(rewriteRequest(setWatches(''), context))).toEqual(setWatches(CHROOT));
  });

  it('answers bad arguments for one bad path inside a setWatches2 list', () => {
    const setWatches2 = request(
      OpCode.setWatches2,
      (w) => {
        w.writeLong(42n);
        for (const list of [['/ok'], [], [], [], ['/ok', '/../escape']]) {
          w.writeInt(list.length);
          for (const path of list) w.writeUString(path);
        }
      },
      -8,
    );
    expect(answered(rewriteRequest(setWatches2, context)).err).toBe(ErrorCode.badArguments);
  });

  it('chroots every sub-request of a multi', () => {
    const multi = (prefix: string) =>
      request(OpCode.multi, (w) => {
        w.writeInt(OpCode.create).writeBool(false).writeInt(-1);
        writeCreate(w, `${prefix}/a`, null, OPEN_ACL, 0);
        w.writeInt(OpCode.setData)
          .writeBool(false)
          .writeInt(-1)
          .writeUString(`${prefix}/a`)
          .writeBuffer(null)
          .writeInt(-1);
        w.writeInt(OpCode.check).writeBool(false).writeInt(-1).writeUString(`${prefix}/a`).writeInt(0);
        w.writeInt(OpCode.delete).writeBool(false).writeInt(-1).writeUString(`${prefix}/a`).writeInt(-1);
        w.writeInt(-1).writeBool(true).writeInt(-1);
      });
    expect(forwarded(rewriteRequest(multi(''), context))).toEqual(multi(CHROOT));
  });

  it('answers a multi holding delete / with per-operation results, as ZooKeeper does', () => {
    const multi = request(OpCode.multi, (w) => {
      w.writeInt(OpCode.create).writeBool(false).writeInt(-1);
      writeCreate(w, '/a', null, OPEN_ACL, 0);
      w.writeInt(OpCode.delete).writeBool(false).writeInt(-1).writeUString('/').writeInt(-1);
      w.writeInt(OpCode.check).writeBool(false).writeInt(-1).writeUString('/a').writeInt(0);
      w.writeInt(-1).writeBool(true).writeInt(-1);
    });
    const { err, body } = answered(rewriteRequest(multi, context));
    expect(err).toBe(ErrorCode.ok);
    const results: number[] = [];
    for (;;) {
      const type = body.readInt();
      const done = body.readBool();
      const headerErr = body.readInt();
      if (done) break;
      expect(type).toBe(OpCode.error);
      expect(body.readInt()).toBe(headerErr);
      results.push(headerErr);
    }
    expect(results).toEqual([ErrorCode.ok, ErrorCode.badArguments, ErrorCode.runtimeInconsistency]);
  });

  it('closes on a multi with a sub-request it cannot rewrite', () => {
    const multi = request(OpCode.multi, (w) => {
      w.writeInt(OpCode.getACL).writeBool(false).writeInt(-1).writeUString('/a');
      w.writeInt(-1).writeBool(true).writeInt(-1);
    });
    expect(rewriteRequest(multi, context)).toMatchObject({ action: 'close', reason: 'unknown_opcode' });
  });

  it('closes on a multi without its end header', () => {
    const multi = request(OpCode.multi, (w) => {
      w.writeInt(OpCode.check).writeBool(false).writeInt(-1).writeUString('/a').writeInt(0);
    });
    expect(rewriteRequest(multi, context)).toMatchObject({ action: 'close', reason: 'undecodable' });
  });

  it('chroots a multiRead and closes on a write inside it', () => {
    const multiRead = (prefix: string, op: number = OpCode.getData) =>
      request(OpCode.multiRead, (w) => {
        w.writeInt(OpCode.getChildren).writeBool(false).writeInt(-1).writeUString(`${prefix}/a`).writeBool(false);
        w.writeInt(op).writeBool(false).writeInt(-1).writeUString(`${prefix}/b`).writeBool(false);
        w.writeInt(-1).writeBool(true).writeInt(-1);
      });
    expect(forwarded(rewriteRequest(multiRead(''), context))).toEqual(multiRead(CHROOT));
    expect(rewriteRequest(multiRead('', OpCode.exists), context)).toMatchObject({ action: 'close' });
  });

  it('answers the tenant auth locally with success and never forwards it', () => {
    const auth = request(OpCode.auth, (w) => w.writeInt(0).writeUString('digest').writeBuffer(Buffer.from('u:p')), -4);
    const verdict = rewriteRequest(auth, context);
    expect(answered(verdict).err).toBe(ErrorCode.ok);
    expect(verdict).toMatchObject({ reason: undefined, xid: -4 });
  });

  it('answers reconfig with reconfig disabled', () => {
    const reconfig = request(OpCode.reconfig, (w) =>
      w.writeUString('').writeUString('server.1').writeUString(null).writeLong(-1n),
    );
    expect(answered(rewriteRequest(reconfig, context)).err).toBe(ErrorCode.reconfigDisabled);
  });

  it.each([
    [OpCode.deleteContainer, 'forbidden_opcode'],
    [OpCode.createSession, 'forbidden_opcode'],
    [OpCode.sasl, 'forbidden_opcode'],
    [10, 'unknown_opcode'],
    [OpCode.notification, 'unknown_opcode'],
    [999, 'unknown_opcode'],
  ])('closes the connection on opcode %i', (op, reason) => {
    expect(
      rewriteRequest(
        request(op, (w) => w.writeUString('/x')),
        context,
      ),
    ).toMatchObject({ action: 'close', reason });
  });

  it('closes on a request under the notification xid', () => {
    const getData = request(OpCode.getData, (w) => w.writeUString('/x').writeBool(false), -1);
    expect(rewriteRequest(getData, context)).toMatchObject({ action: 'close', reason: 'reserved_xid' });
  });

  it('closes on trailing bytes after a body', () => {
    const exists = request(OpCode.exists, (w) => w.writeUString('/x').writeBool(false).writeInt(0));
    expect(rewriteRequest(exists, context)).toMatchObject({ action: 'close', reason: 'undecodable' });
  });

  it('closes on a body cut short', () => {
    const exists = request(OpCode.exists, (w) => w.writeUString('/x').writeBool(false));
    expect(rewriteRequest(exists.subarray(0, exists.length - 1), context)).toMatchObject({ action: 'close' });
  });

  it('forwards ping, whoAmI and closeSession unchanged', () => {
    for (const [op, xid] of [
      [OpCode.ping, -2],
      [OpCode.whoAmI, 3],
      [OpCode.closeSession, 4],
    ] as const) {
      expect(forwarded(rewriteRequest(request(op, undefined, xid), context))).toEqual(request(op, undefined, xid));
    }
  });

  describe('with the open-ACL rewrite', () => {
    const owner = { scheme: 'digest', id: 'tenant-a:hash' };
    const admin = { scheme: 'digest', id: 'admin:hash' };

    it('gives world:anyone permissions to the tenant identity', () => {
      const rewriting = createCodecContext({ chroot: CHROOT, openAclOwner: owner });
      const acl = [{ perms: 17, scheme: 'world', id: 'anyone' }];
      expect(forwarded(rewriteRequest(create('/x', 0, acl), rewriting))).toEqual(
        create(`${CHROOT}/x`, 0, [{ perms: 17, ...owner }]),
      );
    });

    it('adds the granted identities after the rewritten entry and counts them', () => {
      const rewriting = createCodecContext({ chroot: CHROOT, openAclOwner: owner, openAclGrants: [admin] });
      const acl = [
        { perms: 1, scheme: 'ip', id: '10.0.0.1' },
        { perms: 31, scheme: 'world', id: 'anyone' },
      ];
      expect(forwarded(rewriteRequest(create('/x', 0, acl), rewriting))).toEqual(
        create(`${CHROOT}/x`, 0, [acl[0]!, { perms: 31, ...owner }, { perms: 31, ...admin }]),
      );
    });

    it('leaves ACLs without world:anyone unchanged', () => {
      const rewriting = createCodecContext({ chroot: CHROOT, openAclOwner: owner, openAclGrants: [admin] });
      const acl = [{ perms: 31, scheme: 'digest', id: 'someone:hash' }];
      expect(forwarded(rewriteRequest(create('/x', 0, acl), rewriting))).toEqual(create(`${CHROOT}/x`, 0, acl));
    });
  });
});

describe('rewriteReply', () => {
  const pathReply = (path: string, stat?: Buffer) =>
    reply((w) => {
      w.writeUString(path);
      if (stat) w.writeBytes(stat);
    });

  function rewritten(op: number, payload: Buffer, codec: CodecContext = context): Buffer {
    const verdict = rewriteReply(op, payload, codec);
    if (verdict.action !== 'forward') throw new Error(`expected forward, got ${JSON.stringify(verdict)}`);
    return verdict.frame ? verdict.frame.subarray(4) : payload;
  }

  it('strips the chroot from a create reply', () => {
    expect(rewritten(OpCode.create, pathReply(`${CHROOT}/latch-0000000001`))).toEqual(pathReply('/latch-0000000001'));
  });

  it('strips the chroot from a create2 reply and keeps the Stat', () => {
    expect(rewritten(OpCode.create2, pathReply(`${CHROOT}/x`, STAT))).toEqual(pathReply('/x', STAT));
  });

  it('strips the chroot from createContainer and createTTL replies', () => {
    expect(rewritten(OpCode.createContainer, pathReply(`${CHROOT}/c`, STAT))).toEqual(pathReply('/c', STAT));
    expect(rewritten(OpCode.createTTL, pathReply(`${CHROOT}/t`, STAT))).toEqual(pathReply('/t', STAT));
  });

  it('maps the chroot itself to / in a sync reply', () => {
    expect(rewritten(OpCode.sync, pathReply(CHROOT))).toEqual(pathReply('/'));
  });

  it.each([`${CHROOT}b/x`, '/t', '/zookeeper/config'])('closes when a create reply names %j', (path) => {
    expect(rewriteReply(OpCode.create, pathReply(path), context)).toMatchObject({
      action: 'close',
      reason: 'server_path_outside_chroot',
    });
  });

  it('passes an error reply untouched', () => {
    expect(rewriteReply(OpCode.create, reply(undefined, ErrorCode.noNode), context)).toEqual({
      action: 'forward',
      frame: undefined,
    });
  });

  it('passes replies without paths untouched', () => {
    const getData = reply((w) => w.writeBuffer(Buffer.from(`${CHROOT}b`)).writeBytes(STAT));
    expect(rewriteReply(OpCode.getData, getData, context)).toEqual({ action: 'forward', frame: undefined });
  });

  it('strips create results in a multi reply and keeps the others', () => {
    const multi = (prefix: string) =>
      reply((w) => {
        w.writeInt(OpCode.create).writeBool(false).writeInt(0).writeUString(`${prefix}/a`);
        w.writeInt(OpCode.create2).writeBool(false).writeInt(0).writeUString(`${prefix}/b`).writeBytes(STAT);
        w.writeInt(OpCode.setData).writeBool(false).writeInt(0).writeBytes(STAT);
        w.writeInt(OpCode.delete).writeBool(false).writeInt(0);
        w.writeInt(OpCode.error).writeBool(false).writeInt(-101).writeInt(-101);
        w.writeInt(-1).writeBool(true).writeInt(-1);
      });
    expect(rewritten(OpCode.multi, multi(CHROOT))).toEqual(multi(''));
  });

  it('drops getEphemerals entries outside the chroot and fixes the count', () => {
    const ephemerals = (paths: string[]) =>
      reply((w) => {
        w.writeInt(paths.length);
        for (const path of paths) w.writeUString(path);
      });
    expect(rewritten(OpCode.getEphemerals, ephemerals([`${CHROOT}/e1`, `${CHROOT}b/e`, CHROOT]))).toEqual(
      ephemerals(['/e1', '/']),
    );
  });
});

describe('rewriteReply for getACL', () => {
  const owner = { scheme: 'digest', id: 'tenant-a:hash=' };
  const platform = { scheme: 'digest', id: 'platform:hash=' };
  const rewriting = createCodecContext({ chroot: CHROOT, openAclOwner: owner, openAclGrants: [platform] });
  const aclReply = (acl: Array<{ perms: number; scheme: string; id: string }>) =>
    reply((w) => {
      w.writeInt(acl.length);
      for (const entry of acl) w.writeInt(entry.perms).writeUString(entry.scheme).writeUString(entry.id);
      w.writeBytes(STAT);
    });

  function shown(payload: Buffer, codec: CodecContext): Buffer {
    const verdict = rewriteReply(OpCode.getACL, payload, codec);
    if (verdict.action !== 'forward') throw new Error(JSON.stringify(verdict));
    return verdict.frame ? verdict.frame.subarray(4) : payload;
  }

  it('shows the tenant identity as world:anyone and leaves out the granted identities', () => {
    const stored = aclReply([
      { perms: 31, ...owner },
      { perms: 31, ...platform },
    ]);
    expect(shown(stored, rewriting)).toEqual(aclReply([{ perms: 31, scheme: 'world', id: 'anyone' }]));
  });

  it('recognises the identities in the masked form ZooKeeper shows callers without ADMIN', () => {
    const stored = aclReply([
      { perms: 1, scheme: 'digest', id: 'tenant-a:x' },
      { perms: 1, scheme: 'digest', id: 'platform:x' },
    ]);
    expect(shown(stored, rewriting)).toEqual(aclReply([{ perms: 1, scheme: 'world', id: 'anyone' }]));
  });

  it('masks every other digest hash as ZooKeeper does for non-admins', () => {
    const stored = aclReply([
      { perms: 1, scheme: 'digest', id: 'operator:secret-hash=' },
      { perms: 1, scheme: 'ip', id: '10.0.0.1' },
    ]);
    const masked = aclReply([
      { perms: 1, scheme: 'digest', id: 'operator:x' },
      { perms: 1, scheme: 'ip', id: '10.0.0.1' },
    ]);
    expect(shown(stored, rewriting)).toEqual(masked);
    expect(shown(stored, context)).toEqual(masked);
  });
});

describe('rewriteWatcherEvent', () => {
  const event = (type: number, path: string | null) =>
    reply((w) => w.writeInt(type).writeInt(3).writeUString(path), 0, -1);

  it('strips the chroot from a notification', () => {
    const verdict = rewriteWatcherEvent(event(3, `${CHROOT}/flink/leader`), context);
    expect(verdict.action === 'forward' && verdict.frame?.subarray(4)).toEqual(event(3, '/flink/leader'));
  });

  it('closes on a notification outside the chroot', () => {
    expect(rewriteWatcherEvent(event(1, `${CHROOT}b`), context)).toMatchObject({
      action: 'close',
      reason: 'server_path_outside_chroot',
    });
  });

  it('passes a session event without a path', () => {
    expect(rewriteWatcherEvent(event(-1, null), context)).toEqual({ action: 'forward', frame: undefined });
  });
});

describe('handshake', () => {
  /** `readOnly: null` leaves the byte out, as old clients do. */
  const connectRequest = (passwordLength = 16, readOnly: boolean | null = false, version = 0) => {
    const writer = new JuteWriter().writeInt(version).writeLong(5n).writeInt(30_000).writeLong(0x1234n);
    writer.writeBuffer(Buffer.alloc(passwordLength));
    if (readOnly !== null) writer.writeBool(readOnly);
    return Buffer.from(writer.toBuffer());
  };

  it('parses a ConnectRequest with the readOnly byte', () => {
    expect(parseConnectRequest(connectRequest())).toMatchObject({
      sessionId: 0x1234n,
      passwordLength: 16,
      readOnly: false,
    });
  });

  it('parses an old ConnectRequest without the readOnly byte', () => {
    expect(parseConnectRequest(connectRequest(16, null))).toMatchObject({ readOnly: undefined });
  });

  it('reads the password length instead of assuming 16', () => {
    expect(parseConnectRequest(connectRequest(0, true))).toMatchObject({ passwordLength: 0, readOnly: true });
  });

  it('refuses another protocol version', () => {
    expect(() => parseConnectRequest(connectRequest(16, false, 1))).toThrow(/protocol version/);
  });

  it('refuses bytes after the readOnly byte', () => {
    expect(() => parseConnectRequest(Buffer.concat([connectRequest(), Buffer.from([0])]))).toThrow(/trailing/);
  });

  it('parses a ConnectResponse', () => {
    const response = new JuteWriter().writeInt(0).writeInt(10_000).writeLong(77n).writeBuffer(Buffer.alloc(16));
    expect(parseConnectResponse(Buffer.from(response.toBuffer()))).toEqual({
      protocolVersion: 0,
      timeOut: 10_000,
      sessionId: 77n,
    });
  });
});
