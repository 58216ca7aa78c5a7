import { createHash } from 'node:crypto';
// @ts-expect-error node-zookeeper-client ships no type declarations; the part used here is typed below.
import zookeeperModule from 'node-zookeeper-client';
import { FlinkplaneError } from '../core/errors.ts';
import type { ZooKeeperIdentity, ZooKeeperNamespaces } from '../core/ports.ts';

/** The slice of node-zookeeper-client (pure JS, so it bundles into a Lambda) that this adapter uses. */
type Callback<T> = (error: ZkException | null, result: T) => void;
type ZkException = Error & { code: number };
type ZkId = { scheme: string; id: string };
type ZkAcl = { permission: number; id: ZkId };
type ZkClient = {
  connect(): void;
  close(): void;
  addAuthInfo(scheme: string, auth: Buffer): void;
  once(event: 'connected' | 'expired' | 'authenticationFailed', listener: () => void): void;
  on(event: 'expired' | 'disconnected', listener: () => void): void;
  removeAllListeners(): void;
  getState(): unknown;
  create(path: string, data: Buffer | null, acls: ZkAcl[], mode: number, callback: Callback<string>): void;
  remove(path: string, version: number, callback: Callback<void>): void;
  exists(path: string, callback: Callback<unknown>): void;
  getChildren(path: string, callback: Callback<string[]>): void;
  getACL(path: string, callback: Callback<ZkAcl[]>): void;
  setACL(path: string, acls: ZkAcl[], version: number, callback: Callback<unknown>): void;
};
type ZkModule = {
  createClient(
    connectString: string,
    options: { sessionTimeout: number; spinDelay: number; retries: number },
  ): ZkClient;
  ACL: new (permission: number, id: ZkId) => ZkAcl;
  Id: new (scheme: string, id: string) => ZkId;
  Permission: { ALL: number };
  CreateMode: { PERSISTENT: number };
  Exception: { NO_NODE: number; NODE_EXISTS: number; NOT_EMPTY: number; NO_AUTH: number };
  State: { SYNC_CONNECTED: unknown };
};
const zookeeper = zookeeperModule as ZkModule;

const DEFAULT_SESSION_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export type ZooKeeperNamespacesOptions = {
  /** `host:port[,host:port…]` of the shared ZooKeeper ensemble. */
  connectString: string;
  /** The control plane's digest identity; it gets ALL on every chroot and on the parents it creates. */
  adminIdentity: ZooKeeperIdentity;
  /** Default 15 000 ms. */
  sessionTimeoutMs?: number;
  /** How long the first connection may take before calls fail with `dependency_unavailable`; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** How long one request may wait for its answer (a reconnect included); default one session timeout. */
  requestTimeoutMs?: number;
};

export type ClosableZooKeeperNamespaces = ZooKeeperNamespaces & {
  /** Closes the session, if one is open. A later call opens a new one. */
  close(): Promise<void>;
};

/** ZooKeeper's digest ACL id: `user:base64(sha1("user:password"))`. */
export function digestId(identity: ZooKeeperIdentity): string {
  const hash = createHash('sha1').update(`${identity.user}:${identity.password}`, 'utf8').digest('base64');
  return `${identity.user}:${hash}`;
}

/**
 * Tenant chroots in the shared ZooKeeper. Each chroot's ACL is [digest tenant ALL, digest admin ALL], so only the
 * tenant's proxy and the control plane can use it. Parents the adapter creates (e.g. `/flinkplane/tenants`) get
 * [digest admin ALL] only: ZooKeeper checks ACLs on the node an operation touches and its direct parent, never on
 * ancestors, so proxies rooted at their chroot need nothing above it, and tenants cannot list each other.
 */
export function createZooKeeperNamespaces(options: ZooKeeperNamespacesOptions): ClosableZooKeeperNamespaces {
  const sessionTimeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? sessionTimeout;
  const adminId = digestId(options.adminIdentity);
  const adminAuth = Buffer.from(`${options.adminIdentity.user}:${options.adminIdentity.password}`, 'utf8');
  let connecting: Promise<ZkClient> | undefined;

  function connect(): Promise<ZkClient> {
    if (connecting) return connecting;
    const client = zookeeper.createClient(options.connectString, { sessionTimeout, spinDelay: 500, retries: 0 });
    client.addAuthInfo('digest', adminAuth);
    const forget = () => {
      if (connecting === attempt) connecting = undefined;
    };
    const attempt = new Promise<ZkClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        forget();
        client.removeAllListeners();
        shutdown(client);
        reject(
          new FlinkplaneError(
            'dependency_unavailable',
            `ZooKeeper at ${options.connectString} did not accept a session within ${connectTimeoutMs} ms`,
            { connectString: options.connectString, timeoutMs: connectTimeoutMs },
          ),
        );
      }, connectTimeoutMs);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve(client);
      });
      client.connect();
    });
    // An expired session cannot be used again; the next call opens a new one.
    client.on('expired', () => {
      forget();
      shutdown(client);
    });
    connecting = attempt;
    return attempt;
  }

  /**
   * Runs one request. The client queues requests while it reconnects, and a server that accepts and never answers
   * would hold one for ever, so every request has a deadline: a caller gets a coded error rather than wait for the
   * Lambda timeout.
   */
  async function call<T>(operation: (client: ZkClient, callback: Callback<T>) => void): Promise<T> {
    const client = await connect();
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(
          new FlinkplaneError(
            'dependency_unavailable',
            `ZooKeeper at ${options.connectString} did not answer within ${requestTimeoutMs} ms`,
            { connectString: options.connectString, timeoutMs: requestTimeoutMs },
          ),
        );
      }, requestTimeoutMs);
      const send = () => {
        if (timedOut) return;
        operation(client, (error, result) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(result);
        });
      };
      const waiting = sessionBack(client);
      if (waiting) void waiting.then(send);
      else send();
    });
  }

  /**
   * While the client reconnects it queues requests ahead of the digest it re-sends, so ZooKeeper would answer them
   * unauthenticated (NO_AUTH): requests wait for the session instead. One listener per reconnect, however many wait.
   */
  const reconnects = new WeakMap<ZkClient, Promise<void>>();
  function sessionBack(client: ZkClient): Promise<void> | undefined {
    if (client.getState() === zookeeper.State.SYNC_CONNECTED) return undefined;
    let reconnect = reconnects.get(client);
    if (!reconnect) {
      reconnect = new Promise<void>((resolve) =>
        client.once('connected', () => {
          reconnects.delete(client);
          resolve();
        }),
      );
      reconnects.set(client, reconnect);
    }
    return reconnect;
  }

  const namespaceAcl = (identity: ZooKeeperIdentity) => [
    new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', digestId(identity))),
    new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', adminId)),
  ];
  const parentAcl = () => [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', adminId))];

  /** Creates the node; returns false when it already exists. */
  async function createNode(path: string, acl: ZkAcl[]): Promise<boolean> {
    try {
      await call<string>((client, done) => client.create(path, null, acl, zookeeper.CreateMode.PERSISTENT, done));
      return true;
    } catch (error) {
      if (hasCode(error, zookeeper.Exception.NODE_EXISTS)) return false;
      throw error;
    }
  }

  /**
   * Creates the node at `/<segments>`, and its parents only when ZooKeeper says one is missing (as Curator's
   * `creatingParentsIfNeeded` does), so a deploy after the first costs one round trip. Returns false when it exists.
   */
  async function createNodeAndParents(segments: readonly string[], acl: ZkAcl[]): Promise<boolean> {
    const path = `/${segments.join('/')}`;
    try {
      return await createNode(path, acl);
    } catch (error) {
      if (!hasCode(error, zookeeper.Exception.NO_NODE)) throw error;
    }
    for (let depth = 1; depth < segments.length; depth++) {
      await createNode(`/${segments.slice(0, depth).join('/')}`, parentAcl());
    }
    return createNode(path, acl);
  }

  async function exists(path: string): Promise<boolean> {
    const stat = await call<unknown>((client, done) => client.exists(path, done));
    return stat !== null && stat !== undefined;
  }

  /** Deletes a node and everything below it, children first; a node already gone is fine. */
  async function removeTree(path: string): Promise<void> {
    let children: string[];
    try {
      children = await call<string[]>((client, done) => client.getChildren(path, done));
    } catch (error) {
      if (hasCode(error, zookeeper.Exception.NO_NODE)) return;
      throw error;
    }
    for (const child of children) await removeTree(`${path}/${child}`);
    try {
      await call<void>((client, done) => client.remove(path, -1, done));
    } catch (error) {
      if (hasCode(error, zookeeper.Exception.NO_NODE)) return;
      // A child created while we deleted its siblings: go round once more.
      if (hasCode(error, zookeeper.Exception.NOT_EMPTY)) return removeTree(path);
      throw error;
    }
  }

  return {
    async ensureNamespace(chroot, identity) {
      return guard('ensure the namespace', chroot, async () => {
        const segments = chrootSegments(chroot);
        const desired = namespaceAcl(identity);
        if (await createNodeAndParents(segments, desired)) return;
        // The node exists (a retry, or a rotated platform key): make its ACL the one wanted.
        const current = await call<ZkAcl[]>((client, done) => client.getACL(chroot, done));
        if (!sameAcl(current, desired)) {
          await call<unknown>((client, done) => client.setACL(chroot, desired, -1, done));
        }
      });
    },

    async namespaceExists(chroot) {
      chrootSegments(chroot);
      return guard('check the namespace', chroot, () => exists(chroot));
    },

    async deleteNamespace(chroot) {
      chrootSegments(chroot);
      return guard('delete the namespace', chroot, () => removeTree(chroot));
    },

    async close() {
      const pending = connecting;
      connecting = undefined;
      if (!pending) return;
      const client = await pending.catch(() => undefined);
      client?.removeAllListeners();
      client?.close();
    },
  };
}

/** Checks the chroot and splits it; `/` and paths with empty or relative segments are refused. */
function chrootSegments(chroot: string): string[] {
  const segments = chroot.split('/').slice(1);
  const valid =
    chroot.startsWith('/') &&
    segments.length > 0 &&
    segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..') &&
    segments[0] !== 'zookeeper';
  if (!valid) {
    throw new FlinkplaneError('internal', `"${chroot}" cannot be a tenant chroot`, { chroot });
  }
  return segments;
}

function sameAcl(current: readonly ZkAcl[], desired: readonly ZkAcl[]): boolean {
  const key = (acl: ZkAcl) => `${acl.permission}|${acl.id.scheme}|${acl.id.id}`;
  const have = new Set(current.map(key));
  return current.length === desired.length && desired.every((acl) => have.has(key(acl)));
}

function isZkException(error: unknown): error is ZkException {
  return error instanceof Error && typeof (error as Partial<ZkException>).code === 'number';
}

function hasCode(error: unknown, code: number): boolean {
  return isZkException(error) && error.code === code;
}

/** Turns ZooKeeper exceptions into coded errors that name the path, never the identities' passwords. */
async function guard<T>(action: string, chroot: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isZkException(error)) throw error;
    const name = error.name;
    if (hasCode(error, zookeeper.Exception.NO_AUTH)) {
      throw new FlinkplaneError(
        'internal',
        `ZooKeeper refused to ${action} ${chroot}: the admin identity lacks permission on a node (${name})`,
        { chroot, zookeeperError: name },
        { cause: error },
      );
    }
    throw new FlinkplaneError(
      'dependency_unavailable',
      `ZooKeeper could not ${action} ${chroot} (${name})`,
      { chroot, zookeeperError: name },
      { cause: error },
    );
  }
}

/**
 * Closes a client, stopping its reconnect loop. node-zookeeper-client writes the close request straight to its socket
 * and throws when it has none yet (the server never answered), which would crash the process from a timer.
 */
function shutdown(client: ZkClient): void {
  const manager = (client as unknown as { connectionManager?: { socket?: unknown } }).connectionManager;
  try {
    if (manager?.socket) client.close();
  } catch {
    // Best effort: a half-open client has nothing left to release.
  }
}
