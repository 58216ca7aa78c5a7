/** Where a server path sits relative to the chroot. */
export type ChrootMatch = 'root' | 'inside' | 'outside';

const SLASH = 0x2f;

/**
 * Checks a path with ZooKeeper's `PathUtils.validatePath` rules and returns why it is invalid, or undefined when it is
 * valid. Characters are UTF-16 code units, as in Java, so astral characters (surrogates) are refused like there.
 */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'path is empty';
  if (path.charCodeAt(0) !== SLASH) return 'path does not start with /';
  if (path.length === 1) return undefined;
  if (path.charCodeAt(path.length - 1) === SLASH) return 'path ends with /';
  let previous = SLASH;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `NUL character at ${i}`;
    if (c === SLASH && previous === SLASH) return `empty segment at ${i}`;
    if (c === 0x2e && isDotSegment(path, i)) return `relative segment at ${i}`;
    if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) {
      return `invalid character U+${c.toString(16).padStart(4, '0')} at ${i}`;
    }
    previous = c;
  }
  return undefined;
}

/** True when `path` passes `PathUtils.validatePath`. */
export function isValidPath(path: string): boolean {
  return pathProblem(path) === undefined;
}

/** Checks the path a create sends: sequential creates are validated with the suffix the server appends, like Java. */
export function createPathProblem(path: string, sequential: boolean): string | undefined {
  return pathProblem(sequential ? `${path}1` : path);
}

/** Throws unless `chroot` can serve as a tenant root: a valid absolute path other than `/`. */
export function assertValidChroot(chroot: string): void {
  const problem = pathProblem(chroot);
  if (problem) throw new Error(`invalid chroot ${JSON.stringify(chroot)}: ${problem}`);
  if (chroot === '/') throw new Error('the chroot must not be /: the proxy would give the tenant the whole tree');
}

/**
 * Maps a client path to the server path. Client `/` is the chroot itself, except for a sequential create, where the
 * server appends the counter: `chroot + "/"` then yields `chroot/0000000001` instead of the sibling `chroot0000000001`.
 */
export function addChroot(chroot: string, path: string, sequential = false): string {
  return keepsClientPath(path, sequential) ? chroot + path : chroot;
}

/** Whether the server path is `chroot + path` (true) or the chroot alone (client `/`, not a sequential create). */
export function keepsClientPath(path: string, sequential: boolean): boolean {
  return path !== '/' || sequential;
}

/** Maps a server path back to the client's view, or undefined when it lies outside the chroot. */
export function stripChroot(chroot: string, serverPath: string): string | undefined {
  if (serverPath === chroot) return '/';
  if (serverPath.length > chroot.length && serverPath.startsWith(chroot) && serverPath[chroot.length] === '/') {
    return serverPath.slice(chroot.length);
  }
  return undefined;
}

/** The byte-level twin of `stripChroot`, for replies: compares UTF-8 bytes in place without decoding. */
export function matchChroot(chroot: Buffer, buffer: Buffer, start: number, end: number): ChrootMatch {
  const length = end - start;
  if (length < chroot.length || buffer.compare(chroot, 0, chroot.length, start, start + chroot.length) !== 0) {
    return 'outside';
  }
  if (length === chroot.length) return 'root';
  return buffer[start + chroot.length] === SLASH ? 'inside' : 'outside';
}

function isDotSegment(path: string, i: number): boolean {
  const next = i + 1 === path.length || path.charCodeAt(i + 1) === SLASH;
  if (!next) return false;
  const previous = path.charCodeAt(i - 1);
  if (previous === SLASH) return true;
  return previous === 0x2e && path.charCodeAt(i - 2) === SLASH;
}
