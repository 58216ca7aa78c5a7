import { connect, type Socket } from 'node:net';
import { FrameReader, JuteReader, JuteWriter } from './jute.ts';
import { ErrorCode, OpCode, PERMS_ALL, Xid } from './protocol.ts';

/** One ZooKeeper ACL entry. */
export type Acl = { perms: number; scheme: string; id: string };

export { PERMS_ALL };
/** `world:anyone` with every permission (ZooKeeper's OPEN_ACL_UNSAFE). */
export const OPEN_ACL: readonly Acl[] = [{ perms: PERMS_ALL, scheme: 'world', id: 'anyone' }];

export type RawReply = { xid: number; zxid: bigint; err: number; body: JuteReader };
export type WatcherEvent = { type: number; state: number; path: string };

/** A ZooKeeper error reply, with its numeric code. */
export class ZooKeeperError extends Error {
  override name = 'ZooKeeperError';

  constructor(
    readonly code: number,
    readonly op: number,
  ) {
    super(`ZooKeeper error ${code} for opcode ${op}`);
  }
}

export type RawClientOptions = {
  /** Session timeout asked for; default 30 s. */
  sessionTimeoutMs?: number;
  /** Send the trailing readOnly byte in the handshake like current clients; default true. */
  readOnlyByte?: boolean;
  /** Give up connecting after this long; default 10 s. */
  connectTimeoutMs?: number;
  /** Called with each watcher notification. */
  onEvent?: (event: WatcherEvent) => void;
  /** Ping every third of the session timeout to keep the session; default true. */
  ping?: boolean;
};

/**
 * A lean ZooKeeper client that speaks jute directly: one connection, pipelined requests, pings, no reconnects.
 * The benchmark uses it for honest figures (no client-side threads or copies), and tests use it to craft frames.
 */
export class RawZooKeeperClient {
  sessionId = 0n;
  sessionTimeoutMs = 0;
  private nextXid = 1;
  private readonly pending: Array<{ xid: number; op: number; resolve: (reply: RawReply) => void }> = [];
  private readonly authWaiters: Array<(reply: RawReply) => void> = [];
  private readonly reader = new FrameReader(0x7fffffff);
  private closedError: Error | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly options: RawClientOptions,
  ) {}

  /** Connects and completes the handshake. */
  static async connect(
    address: { host: string; port: number },
    options: RawClientOptions = {},
  ): Promise<RawZooKeeperClient> {
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    const client = new RawZooKeeperClient(socket, options);
    await client.handshake();
    return client;
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Resolves when the server or the proxy closes the connection. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Sends a request built by `body` and resolves with the reply, whatever its error code. */
  request(op: number, body: (writer: JuteWriter) => void = () => undefined): Promise<RawReply> {
    const xid = this.nextXid++;
    const writer = new JuteWriter().writeInt(xid).writeInt(op);
    body(writer);
    return this.sendFrame(writer.toFrame(), xid, op);
  }

  /** Sends a ready-made frame (length prefix included) answered under `xid`. */
  sendFrame(frame: Buffer, xid: number, op: number): Promise<RawReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      if (xid === Xid.auth) this.authWaiters.push(resolve);
      else this.pending.push({ xid, op, resolve });
      this.socket.write(frame, (error) => error && reject(error));
    });
  }

  /** Writes raw bytes, framed or not; for tests that send what no client would. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends an AuthPacket (xid -4). */
  auth(scheme: string, auth: string): Promise<RawReply> {
    const frame = new JuteWriter()
      .writeInt(Xid.auth)
      .writeInt(OpCode.auth)
      .writeInt(0)
      .writeUString(scheme)
      .writeBuffer(Buffer.from(auth))
      .toFrame();
    return this.sendFrame(frame, Xid.auth, OpCode.auth);
  }

  /** Creates a node (flags 0 = persistent, the default; ACL open by default) and resolves with its path. */
  async create(path: string, data: Buffer | null, flags = 0, acl: readonly Acl[] = OPEN_ACL): Promise<string> {
    const reply = await this.ok(OpCode.create, (w) => writeCreate(w, path, data, acl, flags));
    return reply.body.readUString() ?? '';
  }

  /** Reads a node's data. */
  async getData(path: string, watch = false): Promise<Buffer> {
    const reply = await this.ok(OpCode.getData, (w) => w.writeUString(path).writeBool(watch));
    return Buffer.from(reply.body.readBuffer() ?? Buffer.alloc(0));
  }

  /** Writes a node's data; version -1 (the default) matches any. */
  async setData(path: string, data: Buffer, version = -1): Promise<void> {
    await this.ok(OpCode.setData, (w) => w.writeUString(path).writeBuffer(data).writeInt(version));
  }

  /** Deletes a node; version -1 (the default) matches any. */
  async delete(path: string, version = -1): Promise<void> {
    await this.ok(OpCode.delete, (w) => w.writeUString(path).writeInt(version));
  }

  /** Lists a node's children by name. */
  async getChildren(path: string, watch = false): Promise<string[]> {
    const reply = await this.ok(OpCode.getChildren, (w) => w.writeUString(path).writeBool(watch));
    return readStrings(reply.body);
  }

  /** Reads a node's ACL. */
  async getACL(path: string): Promise<Acl[]> {
    const reply = await this.ok(OpCode.getACL, (w) => w.writeUString(path));
    const count = reply.body.readInt();
    const acl: Acl[] = [];
    for (let i = 0; i < count; i++) {
      acl.push({ perms: reply.body.readInt(), scheme: reply.body.readUString()!, id: reply.body.readUString()! });
    }
    return acl;
  }

  /** Closes the session (closeSession) and the connection. */
  async close(): Promise<void> {
    if (!this.closed) {
      await Promise.race([
        this.request(OpCode.closeSession).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2000)),
      ]);
    }
    this.destroy();
  }

  /** Drops the connection without closing the session. */
  destroy(): void {
    this.socket.destroy();
    this.fail(new Error('client destroyed'));
  }

  private async ok(op: number, body: (writer: JuteWriter) => void): Promise<RawReply> {
    const reply = await this.request(op, body);
    if (reply.err !== ErrorCode.ok) throw new ZooKeeperError(reply.err, op);
    return reply;
  }

  private handshake(): Promise<void> {
    const { sessionTimeoutMs = 30_000, readOnlyByte = true, connectTimeoutMs = 10_000 } = this.options;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        reject(new Error('handshake timed out'));
      }, connectTimeoutMs);
      let handshaken = false;
      this.socket.on('connect', () => {
        const writer = new JuteWriter()
          .writeInt(0)
          .writeLong(0n)
          .writeInt(sessionTimeoutMs)
          .writeLong(0n)
          .writeBuffer(Buffer.alloc(16));
        if (readOnlyByte) writer.writeBool(false);
        this.socket.write(writer.toFrame());
      });
      this.socket.on('data', (chunk: Buffer) =>
        this.reader.push(chunk, (buffer, start, end) => {
          const payload = buffer.subarray(start, end);
          if (!handshaken) {
            handshaken = true;
            clearTimeout(timer);
            const response = new JuteReader(payload);
            response.readInt();
            this.sessionTimeoutMs = response.readInt();
            this.sessionId = response.readLong();
            if (this.sessionTimeoutMs <= 0) reject(new Error('session expired'));
            else {
              if (this.options.ping !== false) this.startPinging();
              resolve();
            }
            return true;
          }
          this.onReply(payload);
          return true;
        }),
      );
      this.socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
        this.fail(error);
      });
      this.socket.on('close', () => {
        clearTimeout(timer);
        reject(new Error('connection closed during the handshake'));
        this.fail(new Error('connection closed'));
      });
    });
  }

  private onReply(payload: Buffer): void {
    const body = new JuteReader(Buffer.from(payload));
    const reply: RawReply = { xid: body.readInt(), zxid: body.readLong(), err: body.readInt(), body };
    if (reply.xid === Xid.notification) {
      this.options.onEvent?.({ type: body.readInt(), state: body.readInt(), path: body.readUString() ?? '' });
      return;
    }
    if (reply.xid === Xid.ping) return;
    if (reply.xid === Xid.auth) {
      this.authWaiters.shift()?.(reply);
      return;
    }
    const index = this.pending.findIndex((request) => request.xid === reply.xid);
    if (index < 0) return;
    const [request] = this.pending.splice(index, 1);
    request!.resolve(reply);
  }

  private startPinging(): void {
    const ping = new JuteWriter().writeInt(Xid.ping).writeInt(OpCode.ping).toFrame();
    this.pingTimer = setInterval(() => this.socket.write(ping), Math.max(this.sessionTimeoutMs / 3, 100));
    this.pingTimer.unref();
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    clearInterval(this.pingTimer);
    for (const request of this.pending.splice(0)) {
      request.resolve({ xid: request.xid, zxid: 0n, err: CONNECTION_LOSS, body: new JuteReader(Buffer.alloc(0)) });
    }
    for (const waiter of this.authWaiters.splice(0)) {
      waiter({ xid: Xid.auth, zxid: 0n, err: CONNECTION_LOSS, body: new JuteReader(Buffer.alloc(0)) });
    }
    for (const waiter of this.closeWaiters.splice(0)) waiter();
  }
}

/** ZooKeeper's CONNECTIONLOSS code, given to requests still waiting when the connection drops. */
export const CONNECTION_LOSS = -4;

/** Writes a CreateRequest body. */
export function writeCreate(
  writer: JuteWriter,
  path: string,
  data: Buffer | null,
  acl: readonly Acl[],
  flags: number,
): JuteWriter {
  writer.writeUString(path).writeBuffer(data).writeInt(acl.length);
  for (const entry of acl) writer.writeInt(entry.perms).writeUString(entry.scheme).writeUString(entry.id);
  return writer.writeInt(flags);
}

function readStrings(reader: JuteReader): string[] {
  const count = reader.readInt();
  const values: string[] = [];
  for (let i = 0; i < count; i++) values.push(reader.readUString() ?? '');
  return values;
}
