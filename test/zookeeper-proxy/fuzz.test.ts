import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../local/seeded-random.ts';
import { fourLetterWord } from '../../local/zookeeper-server.ts';
import { OpCode } from '../../zookeeper-proxy/codec.ts';
import { JuteWriter } from '../../zookeeper-proxy/jute.ts';
import { OPEN_ACL, RawZooKeeperClient, writeCreate } from '../../zookeeper-proxy/raw-client.ts';
import { type Environment, snapshotOutside, startEnvironment, type TreeSnapshot } from './support/environment.ts';
import { connectRequestFrame, exchange } from './support/raw-socket.ts';

/** Bounded by count and by time, whichever comes first; the seed makes a failure replayable (FUZZ_SEED=…). */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const MAX_SESSIONS = 3000;
const FRAMES_PER_SESSION = 12;
const TIME_BUDGET_MS = 12_000;
const PARALLEL = 8;

const VALID_PATHS = ['/', '/f', '/f/g', '/a-', '/f/seq-', '/f/g/h'];
const ESCAPING_PATHS = ['/..', '/../b', '//', '/./x', '/f/', '/x\u0000', 'x', '', '/\ud83d', '/f/../../..'];
/** Opcodes the proxy forwards, and the rarer ones it refuses by closing (which ends a session's run of frames). */
const OPS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 100, 101, 103, 104, 105, 106, 107];
const CLOSING_OPS = [0, 10, 20, 23, 102, -10, 999];

const random = mulberry32;

type Random = ReturnType<typeof random>;
const pick = <T>(rand: Random, values: readonly T[]): T => values[Math.floor(rand() * values.length)]!;

/** A well-formed request for a random opcode, with a path from a pool that includes escapes. */
function validRequest(rand: Random, xid: number): Buffer {
  const op = rand() < 0.03 ? pick(rand, CLOSING_OPS) : pick(rand, OPS);
  const w = new JuteWriter().writeInt(op === 100 ? -4 : op === 101 || op === 105 ? -8 : xid).writeInt(op);
  const path = () => pick(rand, rand() < 0.7 ? VALID_PATHS : ESCAPING_PATHS);
  const sub = (type: number) => {
    w.writeInt(type).writeBool(false).writeInt(-1);
    if (type === 1) writeCreate(w, path(), Buffer.from('d'), OPEN_ACL, Math.floor(rand() * 8));
    else if (type === 2 || type === 13) w.writeUString(path()).writeInt(-1);
    else if (type === 5) w.writeUString(path()).writeBuffer(null).writeInt(-1);
    else w.writeUString(path()).writeBool(false);
  };
  switch (op) {
    case 1:
    case 15:
    case 19:
    case 21:
      writeCreate(w, path(), Buffer.from('data'), OPEN_ACL, Math.floor(rand() * 8));
      if (op === 21) w.writeLong(60_000n);
      break;
    case 14:
    case 22:
      for (let i = Math.floor(rand() * 4); i > 0; i--) sub(op === 14 ? pick(rand, [1, 2, 5, 13]) : pick(rand, [4, 8]));
      w.writeInt(-1).writeBool(true).writeInt(-1);
      break;
    case 101:
    case 105:
      w.writeLong(0n);
      for (let list = op === 101 ? 3 : 5; list > 0; list--) {
        const count = Math.floor(rand() * 3);
        w.writeInt(count);
        for (let i = 0; i < count; i++) w.writeUString(path());
      }
      break;
    case 100:
      w.writeInt(0).writeUString('digest').writeBuffer(Buffer.from('x:y'));
      break;
    case 11:
    case 107:
      break;
    default:
      w.writeUString(path());
      if ([2, 5, 13, 17, 18, 106].includes(op)) w.writeInt(op === 106 ? Math.floor(rand() * 3) : -1);
      if ([3, 4, 8, 12].includes(op)) w.writeBool(rand() < 0.5);
      if (op === 5) w.writeBuffer(Buffer.from('v')).writeInt(-1);
  }
  return Buffer.from(w.toFrame());
}

/** Breaks a frame in one of several ways, or leaves it whole. */
function mutate(rand: Random, frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  switch (Math.floor(rand() * 8)) {
    case 0: {
      for (let i = 1 + Math.floor(rand() * 3); i > 0; i--)
        copy[4 + Math.floor(rand() * (copy.length - 4))] = Math.floor(rand() * 256);
      return copy;
    }
    case 1: {
      const cut = 4 + Math.floor(rand() * (copy.length - 4));
      const truncated = copy.subarray(0, cut);
      truncated.writeInt32BE(cut - 4, 0);
      return truncated;
    }
    case 2: {
      const extra = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256)));
      const longer = Buffer.concat([copy, extra]);
      longer.writeInt32BE(longer.length - 4, 0);
      return longer;
    }
    case 3:
      copy.writeInt32BE(pick(rand, [-1, 0, 3, 0x100000, 0x7fffffff, copy.length]), 0);
      return copy;
    case 4:
      copy.writeInt32BE(Math.floor(rand() * 0xffffffff) | 0, 8);
      return copy;
    case 5:
      copy.writeInt32BE(pick(rand, [-1, -2, -4, -8, -3, 0]), 4);
      return copy;
    default:
      return copy;
  }
}

describe('proxy under fuzzed frames', () => {
  let env: Environment;
  let before: TreeSnapshot;

  beforeAll(async () => {
    env = await startEnvironment(['a'], { tap: true });
    before = await snapshotOutside(env.admin, [env.tenants.a!.chroot]);
  });

  afterAll(async () => {
    await env?.stop();
  });

  it(`never crashes and never sends a path outside the chroot (seed ${SEED})`, async () => {
    const tenant = env.tenants.a!;
    const rand = random(SEED);
    const deadline = Date.now() + TIME_BUDGET_MS;
    let sessions = 0;
    let frames = 0;

    const session = async () => {
      // One in eight sessions fuzzes the handshake itself on a raw socket.
      if (rand() < 0.125) {
        const handshake = mutate(rand, connectRequestFrame({ readOnly: rand() < 0.5 ? null : false }));
        await exchange(tenant.proxy.address, Buffer.concat([handshake, validRequest(rand, 1)]), 300);
        frames += 2;
        return;
      }
      const client = await RawZooKeeperClient.connect(tenant.proxy.address, { connectTimeoutMs: 5000 });
      const batch: Buffer[] = [];
      // Most frames stay well-formed so the session lives long enough for later frames to be tried.
      for (let i = 0; i < FRAMES_PER_SESSION; i++) {
        const frame = validRequest(rand, 100 + i);
        batch.push(rand() < 0.06 ? mutate(rand, frame) : frame);
      }
      frames += batch.length;
      client.writeRaw(Buffer.concat(batch));
      // A last well-formed request tells whether the connection survived; either way it must end, not hang.
      const probe = client.request(OpCode.exists, (w) => w.writeUString('/').writeBool(false));
      await Promise.race([probe, client.whenClosed(), new Promise((resolve) => setTimeout(resolve, 2000))]);
      client.destroy();
    };

    const worker = async () => {
      while (sessions < MAX_SESSIONS && Date.now() < deadline) {
        sessions++;
        await session();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));

    expect(sessions).toBeGreaterThan(PARALLEL);
    // Still alive and serving.
    expect(await fourLetterWord(tenant.proxy.address.host, tenant.proxy.address.port, 'ruok')).toBe('imok');
    const client = await RawZooKeeperClient.connect(tenant.proxy.address);
    expect(await client.getChildren('/')).toEqual(expect.any(Array));
    client.destroy();
    // No request reached ZooKeeper with a path outside the chroot, and every forwarded frame decoded.
    const tap = env.tap!;
    expect(tap.paths.length).toBeGreaterThan(frames / 20);
    expect(tap.undecodable).toEqual([]);
    expect(tap.paths.filter((path) => path !== tenant.chroot && !path.startsWith(`${tenant.chroot}/`))).toEqual([]);
    // Every refusal was a decision, none an exception.
    expect(tenant.logs.filter((record) => record.level === 'error')).toEqual([]);
    expect(await snapshotOutside(env.admin, [tenant.chroot])).toEqual(before);
  });
});
