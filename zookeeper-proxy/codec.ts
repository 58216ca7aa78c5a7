import { createHash } from 'node:crypto';
import { JuteError, JuteReader, JuteWriter } from './jute.ts';
import { assertValidChroot, createPathProblem, keepsClientPath, matchChroot } from './paths.ts';

/** ZooKeeper 3.8 request types (`ZooDefs.OpCode`). */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** Reserved xids. */
export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

/** The ZooKeeper error codes the proxy produces or inspects. */
export const ErrorCode = {
  ok: 0,
  runtimeInconsistency: -2,
  badArguments: -8,
  noNode: -101,
  authFailed: -115,
  reconfigDisabled: -123,
} as const;

/** Why the proxy refused a connection or a request; also the `reason` label of the refusal metric. */
export type RefusalReason =
  | 'invalid_path'
  | 'path_too_long'
  | 'delete_root'
  | 'set_acl_root'
  | 'bad_create_flags'
  | 'reconfig'
  | 'forbidden_opcode'
  | 'unknown_opcode'
  | 'reserved_xid'
  | 'undecodable'
  | 'oversize_frame'
  | 'four_letter_word'
  | 'bad_handshake'
  | 'server_path_outside_chroot'
  | 'max_connections'
  | 'idle_timeout'
  | 'upstream_unavailable'
  | 'upstream_auth_failed'
  | 'upstream_protocol';

const OP_NAMES = new Map<number, string>(Object.entries(OpCode).map(([name, code]) => [code, name]));

/** The name of an opcode for logs and metrics; `unknown` for anything ZooKeeper 3.8 does not define. */
export function opName(op: number): string {
  return OP_NAMES.get(op) ?? 'unknown';
}

/** An ACL identity, e.g. `{ scheme: 'digest', id: 'tenantA:<base64 sha1>' }`. */
export type AclId = { scheme: string; id: string };

/** What the codec needs to know about a tenant. */
export type CodecContext = {
  /** The chroot as UTF-8 bytes. */
  readonly chroot: Buffer;
  /** Longest server-side path accepted, in bytes. */
  readonly maxPathBytes: number;
  /** How `world:anyone` entries in create and setACL ACLs are rewritten; undefined keeps ACLs as sent. */
  readonly openAcl: OpenAclRewrite | undefined;
};

type OpenAclRewrite = {
  /** The jute `Id` that takes the place of `world:anyone`, keeping its permissions. */
  owner: Buffer;
  /** The same identity as `scheme:id`, and as ZooKeeper masks it (`digest:user:x`), recognised in getACL replies. */
  ownerKeys: ReadonlySet<string>;
  /** Whole ACL entries (perms + Id) added after it. */
  extra: Buffer;
  extraCount: number;
  /** The granted identities as `scheme:id`, plain and masked, left out of getACL replies. */
  grantKeys: ReadonlySet<string>;
};

export type CodecOptions = {
  chroot: string;
  /** Longest server-side path (chroot included) in bytes; default 4096. */
  maxPathBytes?: number;
  /** The identity given `world:anyone`'s permissions instead of the world; default none (ACLs pass unchanged). */
  openAclOwner?: AclId;
  /** Identities also given ALL where `world:anyone` was, e.g. the control plane's, so it can still purge; default none. */
  openAclGrants?: readonly AclId[];
};

/** Builds the codec context for a tenant; throws on an unusable chroot. */
export function createCodecContext(options: CodecOptions): CodecContext {
  assertValidChroot(options.chroot);
  const owner = options.openAclOwner;
  const grants = options.openAclGrants ?? [];
  const extra = new JuteWriter();
  for (const grant of grants) extra.writeInt(PERMS_ALL).writeUString(grant.scheme).writeUString(grant.id);
  return {
    chroot: Buffer.from(options.chroot, 'utf8'),
    maxPathBytes: options.maxPathBytes ?? 4096,
    openAcl: owner
      ? {
          owner: Buffer.from(new JuteWriter().writeUString(owner.scheme).writeUString(owner.id).toBuffer()),
          ownerKeys: aclKeys([owner]),
          extra: Buffer.from(extra.toBuffer()),
          extraCount: grants.length,
          grantKeys: aclKeys(grants),
        }
      : undefined,
  };
}

/** `scheme:id` keys of identities, with the `user:x` form ZooKeeper shows callers that lack ADMIN on a node. */
function aclKeys(ids: readonly AclId[]): ReadonlySet<string> {
  const keys = new Set<string>();
  for (const { scheme, id } of ids) {
    keys.add(`${scheme}:${id}`);
    if (scheme === 'digest' && id.includes(':')) keys.add(`digest:${id.slice(0, id.indexOf(':'))}:x`);
  }
  return keys;
}

/** The digest ACL id ZooKeeper derives for `user:password`: `user:base64(sha1("user:password"))`. */
export function digestAclId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export type ConnectRequest = {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwordLength: number;
  /** Absent for old clients, which also get no readOnly byte back. */
  readOnly: boolean | undefined;
};

/** Decodes the handshake a client sends first; throws JuteError unless it is a plausible ConnectRequest. */
export function parseConnectRequest(payload: Buffer): ConnectRequest {
  const reader = new JuteReader(payload);
  const protocolVersion = reader.readInt();
  const lastZxidSeen = reader.readLong();
  const timeOut = reader.readInt();
  const sessionId = reader.readLong();
  const password = reader.readBuffer();
  const readOnly = reader.remaining() === 1 ? reader.readBool() : undefined;
  reader.expectEnd();
  if (protocolVersion !== 0) throw new JuteError(`protocol version ${protocolVersion}`);
  if (lastZxidSeen < 0n || timeOut < 0) throw new JuteError('negative zxid or timeout');
  // Real clients send 16 bytes; anything much longer is not a session password.
  if (password !== null && password.length > 64) throw new JuteError(`password of ${password.length} bytes`);
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwordLength: password?.length ?? -1, readOnly };
}

export type ConnectResponse = { protocolVersion: number; timeOut: number; sessionId: bigint };

/** Decodes the server's handshake answer; throws JuteError when it is not one. */
export function parseConnectResponse(payload: Buffer): ConnectResponse {
  const reader = new JuteReader(payload);
  const protocolVersion = reader.readInt();
  const timeOut = reader.readInt();
  const sessionId = reader.readLong();
  reader.readBuffer();
  if (reader.remaining() === 1) reader.readBool();
  reader.expectEnd();
  return { protocolVersion, timeOut, sessionId };
}

/** A reply frame with an empty or given body. */
export function encodeReply(xid: number, zxid: bigint, err: number, body?: Buffer): Buffer {
  const writer = new JuteWriter(20 + (body?.length ?? 0)).writeInt(xid).writeLong(zxid).writeInt(err);
  if (body) writer.writeBytes(body);
  return writer.toFrame();
}

/** The AuthPacket frame (xid -4) the proxy sends upstream for the tenant's identity. */
export function encodeAuthRequest(scheme: string, auth: Buffer): Buffer {
  return new JuteWriter()
    .writeInt(Xid.auth)
    .writeInt(OpCode.auth)
    .writeInt(0)
    .writeUString(scheme)
    .writeBuffer(auth)
    .toFrame();
}

/** What to do with one client request. */
export type RequestVerdict =
  /** Send `frame` (length-prefixed, paths chrooted) upstream. */
  | { action: 'forward'; xid: number; op: number; frame: Buffer }
  /** Do not forward; answer the client with `frame`. `reason` is set when this is a refusal. */
  | { action: 'answer'; xid: number; op: number; frame: Buffer; reason: RefusalReason | undefined; detail: string }
  /** Do not forward; close the connection. */
  | { action: 'close'; xid: number | undefined; op: number | undefined; reason: RefusalReason; detail: string };

/** What to do with one server reply or notification. */
export type ReplyVerdict =
  /** Send `frame` to the client, or the original bytes when `frame` is undefined. */
  { action: 'forward'; frame: Buffer | undefined } | { action: 'close'; reason: RefusalReason; detail: string };

/**
 * Replaces `[start, end)` of a record with: `int` as 4 bytes if set, then `bytes` if set, then a copy of
 * `[tailStart, tailEnd)` of the original record if set. Edits never overlap and come in order.
 */
type Edit = { start: number; end: number; int?: number; bytes?: Buffer; tailStart?: number; tailEnd?: number };

class Refusal {
  constructor(
    readonly err: number,
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {}
}

class Closing {
  constructor(
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {}
}

const MULTI_OPS = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);
const MULTI_READ_OPS = new Set<number>([OpCode.getChildren, OpCode.getData]);
const SEQUENTIAL_FLAGS = new Set([2, 3, 6]);
const MAX_CREATE_FLAGS = 6;
const STAT_BYTES = 68;
const PERMS_ALL = 31;
const ACL_MIN_BYTES = 12;
const USTRING_MIN_BYTES = 4;

/** Walks one request body, validating and collecting the edits that chroot it. */
class RequestRewrite {
  readonly edits: Edit[] = [];
  refusal: Refusal | undefined;
  /** For multi: how many sub-requests, and the index of the first refused one. */
  subRequests = 0;
  refusedAt = -1;

  constructor(
    private readonly reader: JuteReader,
    private readonly context: CodecContext,
  ) {}

  path(mode: { sequential?: boolean; isDelete?: boolean; isSetAcl?: boolean } = {}): void {
    const { reader, context } = this;
    const start = reader.offset;
    const bytes = reader.readBuffer();
    if (bytes === null) {
      this.refuse(ErrorCode.badArguments, 'invalid_path', 'null path');
      return;
    }
    const path = bytes.toString('utf8');
    const problem = createPathProblem(path, mode.sequential === true);
    if (problem) {
      this.refuse(ErrorCode.badArguments, 'invalid_path', problem);
      return;
    }
    if (mode.isDelete && path === '/') {
      this.refuse(ErrorCode.badArguments, 'delete_root', 'delete of /');
      return;
    }
    if (mode.isSetAcl && path === '/') {
      this.refuse(ErrorCode.badArguments, 'set_acl_root', 'setACL on /');
      return;
    }
    const keepsPath = keepsClientPath(path, mode.sequential === true);
    const serverLength = context.chroot.length + (keepsPath ? bytes.length : 0);
    if (serverLength > context.maxPathBytes) {
      this.refuse(ErrorCode.badArguments, 'path_too_long', `${serverLength} bytes`);
      return;
    }
    this.edits.push({
      start,
      end: reader.offset,
      int: serverLength,
      bytes: context.chroot,
      tailStart: keepsPath ? start + 4 : reader.offset,
      tailEnd: reader.offset,
    });
  }

  acls(): void {
    const { reader, context } = this;
    const countStart = reader.offset;
    const count = reader.readVectorCount(ACL_MIN_BYTES);
    const firstEdit = this.edits.length;
    let added = 0;
    for (let i = 0; i < count; i++) {
      reader.readInt();
      const start = reader.offset;
      const scheme = reader.readUString();
      const id = reader.readUString();
      const rewrite = context.openAcl;
      if (rewrite && scheme === 'world' && id === 'anyone') {
        // Defense in depth: a node the tenant opens to the world is opened to the tenant's identity only.
        this.edits.push({ start, end: reader.offset, bytes: rewrite.owner });
        if (rewrite.extraCount > 0) {
          this.edits.push({ start: reader.offset, end: reader.offset, bytes: rewrite.extra });
          added += rewrite.extraCount;
        }
      }
    }
    if (added > 0) this.edits.splice(firstEdit, 0, { start: countStart, end: countStart + 4, int: count + added });
  }

  create(withTtl: boolean): void {
    const { reader } = this;
    // Flags come after the path, so read ahead for the sequential bit before validating the path.
    const pathStart = reader.offset;
    reader.readBuffer();
    reader.readBuffer();
    this.skipAcls();
    const flags = reader.readInt();
    if (withTtl) reader.readLong();
    const end = reader.offset;
    if (flags < 0 || flags > MAX_CREATE_FLAGS) {
      this.refuse(ErrorCode.badArguments, 'bad_create_flags', `create flags ${flags}`);
      return;
    }
    reader.offset = pathStart;
    this.path({ sequential: SEQUENTIAL_FLAGS.has(flags) });
    reader.readBuffer();
    this.acls();
    reader.offset = end;
  }

  pathList(): void {
    const count = this.reader.readVectorCount(USTRING_MIN_BYTES);
    for (let i = 0; i < count; i++) this.path();
  }

  multi(allowed: Set<number>): void {
    const { reader } = this;
    for (;;) {
      const type = reader.readInt();
      const done = reader.readBool();
      const err = reader.readInt();
      if (done) {
        if (type !== -1 || err !== -1) throw new JuteError(`multi end header {${type}, true, ${err}}`);
        return;
      }
      if (!allowed.has(type)) throw new Closing('unknown_opcode', `multi sub-request ${opName(type)} (${type})`);
      this.subRequest(type);
      if (this.refusal && this.refusedAt < 0) this.refusedAt = this.subRequests;
      this.subRequests++;
    }
  }

  subRequest(op: number): void {
    const { reader } = this;
    switch (op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        this.create(false);
        return;
      case OpCode.createTTL:
        this.create(true);
        return;
      case OpCode.delete:
        this.path({ isDelete: true });
        reader.readInt();
        return;
      case OpCode.setData:
        this.path();
        reader.readBuffer();
        reader.readInt();
        return;
      case OpCode.check:
        this.path();
        reader.readInt();
        return;
      case OpCode.getChildren:
      case OpCode.getData:
        this.path();
        reader.readBool();
        return;
      default:
        throw new Closing('unknown_opcode', `sub-request ${op}`);
    }
  }

  private skipAcls(): void {
    const count = this.reader.readVectorCount(ACL_MIN_BYTES);
    for (let i = 0; i < count; i++) {
      this.reader.readInt();
      this.reader.readBuffer();
      this.reader.readBuffer();
    }
  }

  private refuse(err: number, reason: RefusalReason, detail: string): void {
    this.refusal ??= new Refusal(err, reason, detail);
  }
}

/** Decodes a client request (a frame's payload), validates every path and returns it chrooted, refused or fatal. */
export function rewriteRequest(payload: Buffer, context: CodecContext): RequestVerdict {
  const reader = new JuteReader(payload);
  let xid: number | undefined;
  let op: number | undefined;
  try {
    xid = reader.readInt();
    op = reader.readInt();
    const xidProblem = reservedXidProblem(xid, op);
    if (xidProblem) return { action: 'close', xid, op, reason: 'reserved_xid', detail: xidProblem };
    const rewrite = new RequestRewrite(reader, context);
    const local = decodeRequestBody(op, reader, rewrite);
    reader.expectEnd();
    if (local) {
      const frame = encodeReply(xid, 0n, local.err);
      return { action: 'answer', xid, op, frame, reason: local.reason, detail: local.detail };
    }
    const refusal = rewrite.refusal;
    if (refusal) {
      return {
        action: 'answer',
        xid,
        op,
        frame: refusalReply(xid, op, rewrite, refusal),
        reason: refusal.reason,
        detail: refusal.detail,
      };
    }
    return { action: 'forward', xid, op, frame: applyEdits(payload, rewrite.edits) };
  } catch (error) {
    if (error instanceof Closing) return { action: 'close', xid, op, reason: error.reason, detail: error.detail };
    if (error instanceof JuteError) return { action: 'close', xid, op, reason: 'undecodable', detail: error.message };
    throw error;
  }
}

type LocalAnswer = { err: number; reason: RefusalReason | undefined; detail: string };

/** Decodes the body of `op` into `rewrite`; returns an answer when the proxy replies itself whatever the paths. */
function decodeRequestBody(op: number, reader: JuteReader, rewrite: RequestRewrite): LocalAnswer | undefined {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      rewrite.create(false);
      return undefined;
    case OpCode.createTTL:
      rewrite.create(true);
      return undefined;
    case OpCode.delete:
      rewrite.path({ isDelete: true });
      reader.readInt();
      return undefined;
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      rewrite.path();
      reader.readBool();
      return undefined;
    case OpCode.setData:
      rewrite.path();
      reader.readBuffer();
      reader.readInt();
      return undefined;
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getEphemerals:
    case OpCode.getAllChildrenNumber:
      rewrite.path();
      return undefined;
    case OpCode.setACL:
      rewrite.path({ isSetAcl: true });
      rewrite.acls();
      reader.readInt();
      return undefined;
    case OpCode.check:
    case OpCode.checkWatches:
    case OpCode.removeWatches:
    case OpCode.addWatch:
      rewrite.path();
      reader.readInt();
      return undefined;
    case OpCode.multi:
      rewrite.multi(MULTI_OPS);
      return undefined;
    case OpCode.multiRead:
      rewrite.multi(MULTI_READ_OPS);
      return undefined;
    case OpCode.setWatches:
    case OpCode.setWatches2:
      reader.readLong();
      for (let i = op === OpCode.setWatches ? 3 : 5; i > 0; i--) rewrite.pathList();
      return undefined;
    case OpCode.ping:
    case OpCode.whoAmI:
    case OpCode.closeSession:
      return undefined;
    case OpCode.auth:
      // The tenant's credentials never reach ZooKeeper: the proxy authenticates as the tenant itself.
      reader.readInt();
      reader.readUString();
      reader.readBuffer();
      return { err: ErrorCode.ok, reason: undefined, detail: 'tenant auth answered by the proxy' };
    case OpCode.reconfig:
      reader.readUString();
      reader.readUString();
      reader.readUString();
      reader.readLong();
      return { err: ErrorCode.reconfigDisabled, reason: 'reconfig', detail: 'reconfig is refused' };
    case OpCode.deleteContainer:
    case OpCode.createSession:
    case OpCode.sasl:
      throw new Closing('forbidden_opcode', `${opName(op)} is refused`);
    default:
      throw new Closing('unknown_opcode', `opcode ${op}`);
  }
}

function reservedXidProblem(xid: number, op: number): string | undefined {
  if (xid >= 0) return undefined;
  if (xid === Xid.ping && op === OpCode.ping) return undefined;
  if (xid === Xid.auth && op === OpCode.auth) return undefined;
  if (xid === Xid.setWatches && (op === OpCode.setWatches || op === OpCode.setWatches2)) return undefined;
  // A request under a reserved xid would make its reply look like a notification or the proxy's own auth reply.
  return `xid ${xid} with ${opName(op)}`;
}

/** A refusal shaped like ZooKeeper's own: a multi gets per-operation results, the rest a bare error header. */
function refusalReply(xid: number, op: number, rewrite: RequestRewrite, refusal: Refusal): Buffer {
  if (op !== OpCode.multi) return encodeReply(xid, 0n, refusal.err);
  const body = new JuteWriter();
  for (let i = 0; i < rewrite.subRequests; i++) {
    const err =
      i < rewrite.refusedAt ? ErrorCode.ok : i === rewrite.refusedAt ? refusal.err : ErrorCode.runtimeInconsistency;
    body.writeInt(OpCode.error).writeBool(false).writeInt(err).writeInt(err);
  }
  body.writeInt(-1).writeBool(true).writeInt(-1);
  return encodeReply(xid, 0n, ErrorCode.ok, body.toBuffer());
}

/** True when replies to `op` carry paths and need `rewriteReply`. */
export function replyNeedsRewrite(op: number): boolean {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
    case OpCode.sync:
    case OpCode.multi:
    case OpCode.getEphemerals:
    case OpCode.getACL:
      return true;
    default:
      return false;
  }
}

const REPLY_HEADER_BYTES = 16;

/** Strips the chroot from the paths in a server reply (payload incl. ReplyHeader) to `op`; bodies of errors pass. */
export function rewriteReply(op: number, payload: Buffer, context: CodecContext): ReplyVerdict {
  if (payload.length < REPLY_HEADER_BYTES)
    return { action: 'close', reason: 'upstream_protocol', detail: 'short reply' };
  if (payload.readInt32BE(12) !== ErrorCode.ok || !replyNeedsRewrite(op))
    return { action: 'forward', frame: undefined };
  const reader = new JuteReader(payload, REPLY_HEADER_BYTES);
  const edits: Edit[] = [];
  try {
    switch (op) {
      case OpCode.sync:
        stripPath(reader, edits, context);
        break;
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        stripCreateResult(op, reader, edits, context);
        break;
      case OpCode.multi:
        multiReply(reader, edits, context);
        break;
      case OpCode.getEphemerals:
        ephemeralsReply(reader, edits, context);
        break;
      case OpCode.getACL:
        aclReply(reader, edits, context);
        reader.skip(STAT_BYTES);
        break;
    }
    reader.expectEnd();
  } catch (error) {
    if (error instanceof Closing) return { action: 'close', reason: error.reason, detail: error.detail };
    if (error instanceof JuteError) return { action: 'close', reason: 'upstream_protocol', detail: error.message };
    throw error;
  }
  return { action: 'forward', frame: edits.length === 0 ? undefined : applyEdits(payload, edits) };
}

/** Strips the chroot from a watcher notification (xid -1) `{type, state, path}`. */
export function rewriteWatcherEvent(payload: Buffer, context: CodecContext): ReplyVerdict {
  const reader = new JuteReader(payload, REPLY_HEADER_BYTES);
  const edits: Edit[] = [];
  try {
    const type = reader.readInt();
    reader.readInt();
    const pathStart = reader.offset;
    const length = reader.readInt();
    reader.offset = pathStart;
    // A session event (type None) may come without a path; every node event must name one inside the chroot.
    if (type === -1 && length <= 0) reader.readBuffer();
    else stripPath(reader, edits, context);
    reader.expectEnd();
  } catch (error) {
    if (error instanceof Closing) return { action: 'close', reason: error.reason, detail: error.detail };
    if (error instanceof JuteError) return { action: 'close', reason: 'upstream_protocol', detail: error.message };
    throw error;
  }
  return { action: 'forward', frame: edits.length === 0 ? undefined : applyEdits(payload, edits) };
}

/** A create result, alone or inside multi: its path (create), or its path and Stat (create2, container, TTL). */
function stripCreateResult(op: number, reader: JuteReader, edits: Edit[], context: CodecContext): void {
  stripPath(reader, edits, context);
  if (op !== OpCode.create) reader.skip(STAT_BYTES);
}

function stripPath(reader: JuteReader, edits: Edit[], context: CodecContext): void {
  const start = reader.offset;
  const length = reader.readInt();
  if (length < 0 || length > reader.remaining()) throw new JuteError(`path length ${length}`);
  const bytesStart = reader.offset;
  reader.offset += length;
  const match = matchChroot(context.chroot, reader.buffer, bytesStart, reader.offset);
  if (match === 'outside') throw new Closing('server_path_outside_chroot', 'server path outside the chroot');
  if (match === 'root') edits.push({ start, end: reader.offset, int: 1, bytes: ROOT });
  else {
    const tailStart = bytesStart + context.chroot.length;
    edits.push({ start, end: reader.offset, int: reader.offset - tailStart, tailStart, tailEnd: reader.offset });
  }
}

const ROOT = Buffer.from('/');

function multiReply(reader: JuteReader, edits: Edit[], context: CodecContext): void {
  for (;;) {
    const type = reader.readInt();
    const done = reader.readBool();
    reader.readInt();
    if (done) return;
    switch (type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        stripCreateResult(type, reader, edits, context);
        break;
      case OpCode.delete:
      case OpCode.check:
        break;
      case OpCode.setData:
        reader.skip(STAT_BYTES);
        break;
      case OpCode.error:
        reader.readInt();
        break;
      default:
        throw new JuteError(`multi result type ${type}`);
    }
  }
}

function ephemeralsReply(reader: JuteReader, edits: Edit[], context: CodecContext): void {
  const countStart = reader.offset;
  const count = reader.readVectorCount(USTRING_MIN_BYTES);
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const start = reader.offset;
    const length = reader.readInt();
    if (length < 0 || length > reader.remaining()) throw new JuteError(`path length ${length}`);
    reader.offset += length;
    // getEphemerals matches by string prefix, so anything not under the chroot is dropped, never shown.
    if (matchChroot(context.chroot, reader.buffer, start + 4, reader.offset) === 'outside') {
      edits.push({ start, end: reader.offset });
      continue;
    }
    reader.offset = start;
    stripPath(reader, edits, context);
    kept++;
  }
  if (kept !== count) edits.splice(0, 0, { start: countStart, end: countStart + 4, int: kept });
}

const WORLD_ANYONE = Buffer.from(new JuteWriter().writeUString('world').writeUString('anyone').toBuffer());

/**
 * Shows an ACL as the tenant set it: its own identity reads as `world:anyone` again, the granted identities the
 * proxy added are left out, and any other digest hash is masked as ZooKeeper masks it for non-admins, so neither
 * the tenant's secret identity nor the platform's hash ever reaches the tenant.
 */
function aclReply(reader: JuteReader, edits: Edit[], context: CodecContext): void {
  const countStart = reader.offset;
  const count = reader.readVectorCount(ACL_MIN_BYTES);
  const firstEdit = edits.length;
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const entryStart = reader.offset;
    reader.readInt();
    const idStart = reader.offset;
    const scheme = reader.readUString();
    const idValueStart = reader.offset;
    const id = reader.readUString() ?? '';
    const key = `${scheme}:${id}`;
    const rewrite = context.openAcl;
    if (rewrite?.grantKeys.has(key)) {
      edits.push({ start: entryStart, end: reader.offset });
      continue;
    }
    kept++;
    if (rewrite?.ownerKeys.has(key)) {
      edits.push({ start: idStart, end: reader.offset, bytes: WORLD_ANYONE });
    } else if (scheme === 'digest' && id.includes(':')) {
      edits.push({ start: idValueStart, end: reader.offset, bytes: maskedDigest(id) });
    }
  }
  if (kept !== count) edits.splice(firstEdit, 0, { start: countStart, end: countStart + 4, int: kept });
}

function maskedDigest(id: string): Buffer {
  return Buffer.from(new JuteWriter().writeUString(`${id.slice(0, id.indexOf(':'))}:x`).toBuffer());
}

/** Applies ordered edits to a record and returns it as a frame (length prefix included). */
function applyEdits(payload: Buffer, edits: readonly Edit[]): Buffer {
  let size = 4 + payload.length;
  for (const edit of edits) {
    size -= edit.end - edit.start;
    if (edit.int !== undefined) size += 4;
    if (edit.bytes) size += edit.bytes.length;
    if (edit.tailStart !== undefined) size += edit.tailEnd! - edit.tailStart;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(size - 4, 0);
  let at = 4;
  let from = 0;
  for (const edit of edits) {
    at += payload.copy(out, at, from, edit.start);
    if (edit.int !== undefined) at = out.writeInt32BE(edit.int, at);
    if (edit.bytes) at += edit.bytes.copy(out, at);
    if (edit.tailStart !== undefined) at += payload.copy(out, at, edit.tailStart, edit.tailEnd);
    from = edit.end;
  }
  payload.copy(out, at, from);
  return out;
}
