import { JuteWriter } from './jute.ts';
import { assertValidChroot } from './paths.ts';
import { type AclId, PERMS_ALL, type RefusalReason } from './protocol.ts';

// What the request and the reply rewrite share: the tenant's context (chroot, path limit, ACL rewrite) and the way a
// rewrite is applied to a record, as ordered byte edits.

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

/**
 * Replaces `[start, end)` of a record with: `int` as 4 bytes if set, then `bytes` if set, then a copy of
 * `[tailStart, tailEnd)` of the original record if set. Edits never overlap and come in order.
 */
export type Edit = { start: number; end: number; int?: number; bytes?: Buffer; tailStart?: number; tailEnd?: number };

/** Thrown inside a rewrite when the connection must close; the rewrite turns it into a `close` verdict. */
export class Closing {
  constructor(
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {}
}

/** Applies ordered edits to a record and returns it as a frame (length prefix included). */
export function applyEdits(payload: Buffer, edits: readonly Edit[]): Buffer {
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
