import { JuteError, JuteReader, JuteWriter } from './jute.ts';
import { matchChroot } from './paths.ts';
import { ACL_MIN_BYTES, ErrorCode, OpCode, type RefusalReason, STAT_BYTES, USTRING_MIN_BYTES } from './protocol.ts';
import { applyEdits, Closing, type CodecContext, type Edit } from './rewrite-context.ts';

// ZooKeeper → client: the chroot stripped from every path in replies and watcher events, paths outside it refused,
// and ACLs shown as the tenant set them.

/** What to do with one server reply or notification. */
export type ReplyVerdict =
  /** Send `frame` to the client, or the original bytes when `frame` is undefined. */
  { action: 'forward'; frame: Buffer | undefined } | { action: 'close'; reason: RefusalReason; detail: string };

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
