import { createHash } from 'node:crypto';
import { JuteError, JuteReader, JuteWriter } from './jute.ts';

// The ZooKeeper 3.8 wire vocabulary the proxy speaks: opcodes, reserved xids, error codes, ACL identities, the
// handshake, and the frames the proxy writes itself. No tenant and no rewriting here.

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

/** All permissions (READ | WRITE | CREATE | DELETE | ADMIN). */
export const PERMS_ALL = 31;
/** A Stat record's size on the wire. */
export const STAT_BYTES = 68;
/** The smallest encoded ACL entry (perms and two empty strings) and ustring, to bound vector counts. */
export const ACL_MIN_BYTES = 12;
export const USTRING_MIN_BYTES = 4;

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
