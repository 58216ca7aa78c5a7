/**
 * The proxy's codec, in three parts: the wire vocabulary (`protocol.ts`), the request rewrite (`request-rewrite.ts`)
 * and the reply rewrite (`reply-rewrite.ts`), sharing the tenant context and byte edits (`rewrite-context.ts`). This
 * module is their public face for the tests, the benchmark and the clients.
 */
export {
  type AclId,
  type ConnectRequest,
  type ConnectResponse,
  digestAclId,
  ErrorCode,
  encodeAuthRequest,
  encodeReply,
  OpCode,
  opName,
  PERMS_ALL,
  parseConnectRequest,
  parseConnectResponse,
  type RefusalReason,
  Xid,
} from './protocol.ts';
export { type ReplyVerdict, replyNeedsRewrite, rewriteReply, rewriteWatcherEvent } from './reply-rewrite.ts';
export { type RequestVerdict, rewriteRequest } from './request-rewrite.ts';
export { type CodecContext, type CodecOptions, createCodecContext } from './rewrite-context.ts';
