import { JuteError, JuteReader, JuteWriter } from './jute.ts';
import { createPathProblem, keepsClientPath } from './paths.ts';
import {
  ACL_MIN_BYTES,
  ErrorCode,
  encodeReply,
  OpCode,
  opName,
  type RefusalReason,
  USTRING_MIN_BYTES,
  Xid,
} from './protocol.ts';
import { applyEdits, Closing, type CodecContext, type Edit } from './rewrite-context.ts';

// Client → ZooKeeper: every path validated and moved under the tenant's chroot, world ACLs given to the tenant's
// identity, and what the proxy answers itself (auth, reconfig) or refuses.

/** What to do with one client request. */
export type RequestVerdict =
  /** Send `frame` (length-prefixed, paths chrooted) upstream. */
  | { action: 'forward'; xid: number; op: number; frame: Buffer }
  /** Do not forward; answer the client with `frame`. `reason` is set when this is a refusal. */
  | { action: 'answer'; xid: number; op: number; frame: Buffer; reason: RefusalReason | undefined; detail: string }
  /** Do not forward; close the connection. */
  | { action: 'close'; xid: number | undefined; op: number | undefined; reason: RefusalReason; detail: string };

class Refusal {
  constructor(
    readonly err: number,
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
