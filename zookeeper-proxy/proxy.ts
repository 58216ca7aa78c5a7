import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { DEFAULT_MAX_FRAME_BYTES, FrameLengthError, FrameReader, JuteError } from './jute.ts';
import { ProxyMetrics, type ProxyStats } from './metrics.ts';
import {
  type AclId,
  digestAclId,
  ErrorCode,
  encodeAuthRequest,
  OpCode,
  opName,
  parseConnectRequest,
  parseConnectResponse,
  type RefusalReason,
  Xid,
} from './protocol.ts';
import { type ReplyVerdict, replyNeedsRewrite, rewriteReply, rewriteWatcherEvent } from './reply-rewrite.ts';
import { rewriteRequest } from './request-rewrite.ts';
import { type CodecContext, createCodecContext } from './rewrite-context.ts';

export type { ProxyStats } from './metrics.ts';
export type { AclId } from './protocol.ts';

/** A `host:port` pair. */
export type HostPort = { host: string; port: number };

/** The tenant's ZooKeeper digest identity; the proxy authenticates upstream with it, the tenant never sees it. */
export type DigestIdentity = { user: string; password: string };

/** One structured log line; never carries data payloads, paths or credentials. */
export type ProxyLogRecord = { level: 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>;
export type ProxyLogger = (record: ProxyLogRecord) => void;

export type ZooKeeperProxyOptions = {
  /** ZooKeeper servers; when one refuses or drops the handshake the next is tried. */
  upstreams: readonly HostPort[];
  /** The tenant's root on the server, e.g. `/flinkplane/tenants/a`; it must already exist. */
  chroot: string;
  /** Where to listen; default 127.0.0.1 on a free port. */
  listen?: Partial<HostPort>;
  /** The identity the proxy authenticates with upstream; default none (only for tests and local runs). */
  auth?: DigestIdentity;
  /**
   * Give `world:anyone`'s permissions in create and setACL ACLs to the tenant's digest identity instead of the world,
   * so nodes stay closed to anyone reaching ZooKeeper without the proxy; default true when `auth` is set.
   */
  rewriteOpenAcls?: boolean;
  /** Identities (e.g. the control plane's digest id) also given ALL where `world:anyone` was rewritten; default none. */
  openAclGrants?: readonly AclId[];
  /** Largest frame accepted from either side; default 0xfffff, ZooKeeper's `jute.maxbuffer`. */
  maxFrameBytes?: number;
  /** Largest server-side path (chroot included) in bytes; default 4096. */
  maxPathBytes?: number;
  /** Client connections open at once; default 1024. Further connections are closed on accept. */
  maxConnections?: number;
  /** Close a client silent for this long; default the negotiated session timeout plus one second. */
  idleTimeoutMs?: number;
  /** Time allowed from accept until the session is usable; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Time allowed for one upstream TCP connect; default 3 s. */
  upstreamConnectTimeoutMs?: number;
  /** Labels added to every metric series; default none. */
  metricsLabels?: Record<string, string>;
  /** Where log records go; default one JSON line each on stderr. */
  logger?: ProxyLogger;
};

/** A client connection as the proxy sees it. */
export type ProxyConnectionInfo = {
  id: number;
  remote: string;
  /** The ZooKeeper session id in hex, as Java prints it, once the server has answered the handshake. */
  sessionId: string | undefined;
  state: ProxyConnectionState;
  upstream: string | undefined;
};

export type ZooKeeperProxy = {
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<HostPort>;
  /**
   * Stops accepting, waits up to `drainMs` (default 0) for the clients to close their connections (a client that
   * shuts down too sends closeSession through it, so ZooKeeper drops its ephemeral nodes at once), then closes the
   * rest, whose sessions live on in ZooKeeper until they time out.
   */
  close(options?: { drainMs?: number }): Promise<void>;
  /** The Prometheus text exposition of the proxy's counters. */
  metrics(): string;
  /** The counters as numbers. */
  stats(): ProxyStats;
  /** The open client connections. */
  connections(): ProxyConnectionInfo[];
  /** Closes the client connections `match` selects (all when omitted) and returns how many. */
  dropConnections(match?: (connection: ProxyConnectionInfo) => boolean): number;
};

/** handshake → connecting (to ZooKeeper) → authenticating (the proxy's own auth) → ready → closed. */
export type ProxyConnectionState = 'handshake' | 'connecting' | 'authenticating' | 'ready' | 'closed';

/** Why a connection ended: a refusal, or one of the ordinary ends. */
type EndReason = RefusalReason | 'client_closed' | 'upstream_closed' | 'proxy_closing' | 'dropped' | 'internal_error';

const FOUR_LETTER_WORD = /^[a-z]{4}$/;
// A ConnectRequest is at most ~100 bytes; a first frame much larger than that is not a ZooKeeper client.
const MAX_HANDSHAKE_BYTES = 1024;
const SWEEP_INTERVAL_MS = 1000;
const PASS_THROUGH: ReplyVerdict = { action: 'forward', frame: undefined };

/** Writes each record as one JSON line on stderr. */
export const jsonStderrLogger: ProxyLogger = (record) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'zk-proxy', ...record })}\n`);
};

/** Parses `user:password` (from a file or the environment, never argv); the password may contain colons. */
export function parseDigestIdentity(text: string): DigestIdentity {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon <= 0 || colon === trimmed.length - 1) throw new Error('the auth identity must look like user:password');
  return { user: trimmed.slice(0, colon), password: trimmed.slice(colon + 1) };
}

/** Parses `host:port`. */
export function parseHostPort(text: string): HostPort {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
  }
  return { host: text.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** Creates a tenant proxy: a ZooKeeper server-side chroot that fails closed. Call `listen()` to start it. */
export function createZooKeeperProxy(options: ZooKeeperProxyOptions): ZooKeeperProxy {
  if (options.upstreams.length === 0) throw new Error('at least one upstream ZooKeeper server is needed');
  const auth = options.auth;
  const rewriteOpenAcls = options.rewriteOpenAcls ?? auth !== undefined;
  if (rewriteOpenAcls && !auth) throw new Error('rewriteOpenAcls needs an auth identity');
  const settings: ProxySettings = {
    codec: createCodecContext({
      chroot: options.chroot,
      maxPathBytes: options.maxPathBytes,
      openAclOwner:
        rewriteOpenAcls && auth ? { scheme: 'digest', id: digestAclId(auth.user, auth.password) } : undefined,
      openAclGrants: options.openAclGrants,
    }),
    upstreams: options.upstreams,
    authFrame: auth ? encodeAuthRequest('digest', Buffer.from(`${auth.user}:${auth.password}`, 'utf8')) : undefined,
    maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    idleTimeoutMs: options.idleTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    upstreamConnectTimeoutMs: options.upstreamConnectTimeoutMs ?? 3000,
    metrics: new ProxyMetrics(options.metricsLabels),
    log: options.logger ?? jsonStderrLogger,
    clock: Date.now(),
    nextUpstream: 0,
  };
  const maxConnections = options.maxConnections ?? 1024;
  const connections = new Map<number, ProxyConnection>();
  let nextId = 1;
  let sweeper: NodeJS.Timeout | undefined;

  const server: Server = createServer({ noDelay: true }, (socket) => {
    const { metrics } = settings;
    metrics.connectionsTotal++;
    if (connections.size >= maxConnections) {
      metrics.refusal('max_connections');
      settings.log({ level: 'warn', msg: 'connection refused', reason: 'max_connections', remote: remoteOf(socket) });
      socket.destroy();
      return;
    }
    const connection = new ProxyConnection(nextId++, socket, settings, () => connections.delete(connection.id));
    connections.set(connection.id, connection);
  });
  server.on('error', (error) => settings.log({ level: 'error', msg: 'listener error', error: error.message }));

  const sweep = () => {
    settings.clock = Date.now();
    for (const connection of connections.values()) connection.sweep(settings.clock);
  };

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.listen?.port ?? 0, options.listen?.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
          sweeper.unref();
          const address = server.address() as AddressInfo;
          settings.log({ level: 'info', msg: 'listening', host: address.address, port: address.port });
          resolve({ host: address.address, port: address.port });
        });
      }),
    close: async (options) => {
      clearInterval(sweeper);
      const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined;
      const deadline = Date.now() + (options?.drainMs ?? 0);
      while (connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      for (const connection of connections.values()) connection.end('proxy_closing');
      await closed;
    },
    metrics: () => settings.metrics.render(),
    stats: () => settings.metrics.stats(),
    connections: () => [...connections.values()].map((connection) => connection.info()),
    dropConnections: (match) => {
      let dropped = 0;
      for (const connection of [...connections.values()]) {
        if (match && !match(connection.info())) continue;
        connection.end('dropped');
        dropped++;
      }
      return dropped;
    },
  };
}

/** Creates a proxy and starts listening: the in-process form the local control plane uses per tenant. */
export async function startZooKeeperProxy(
  options: ZooKeeperProxyOptions,
): Promise<ZooKeeperProxy & { address: HostPort; connectString: string }> {
  const proxy = createZooKeeperProxy(options);
  const address = await proxy.listen();
  return { ...proxy, address, connectString: `${address.host}:${address.port}` };
}

type ProxySettings = {
  codec: CodecContext;
  upstreams: readonly HostPort[];
  authFrame: Buffer | undefined;
  maxFrameBytes: number;
  idleTimeoutMs: number | undefined;
  handshakeTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  metrics: ProxyMetrics;
  log: ProxyLogger;
  /** A coarse clock, advanced by the sweeper, so the hot path never reads the time. */
  clock: number;
  /** Round-robin start for upstream selection. */
  nextUpstream: number;
};

/** A request awaiting its reply; `local` holds the proxy's own answer, sent when every earlier reply has gone out. */
type InFlight = { xid: number; op: number; local: Buffer | undefined; answered: boolean };

const PAUSED_FOR_HANDSHAKE = 1;
const PAUSED_FOR_UPSTREAM = 2;

/** One client connection and its own upstream connection: sessions belong to connections and are never shared. */
class ProxyConnection {
  state: ProxyConnectionState = 'handshake';
  private upstream: Socket | undefined;
  private upstreamName: string | undefined;
  private readonly clientReader: FrameReader;
  private upstreamReader: FrameReader;
  private connectFrame: Buffer | undefined;
  private connectResponseSent = false;
  private sessionId: bigint | undefined;
  private sessionTimeoutMs = 0;
  private lastActivity: number;
  private readonly deadline: number;
  /** Rewritten frames held until the upstream session is authenticated. */
  private held: Buffer[] = [];
  /** Frames for each side, written once per read event: one write, one syscall per direction. */
  private toUpstream: Buffer[] = [];
  private toClient: Buffer[] = [];
  /** Whether `toClient` holds a view of the shared upstream read buffer. */
  private toClientVolatile = false;
  private readonly inFlight: InFlight[] = [];
  private inFlightHead = 0;
  private clientPaused = 0;
  private firstBytes: Buffer | undefined = Buffer.alloc(0);
  /** A run of reply frames forwarded untouched, written as one slice of the chunk they came in. */
  private runBuffer: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    private readonly settings: ProxySettings,
    private readonly onClosed: () => void,
  ) {
    this.clientReader = new FrameReader(MAX_HANDSHAKE_BYTES);
    this.upstreamReader = new FrameReader(settings.maxFrameBytes);
    this.lastActivity = settings.clock;
    this.deadline = settings.clock + settings.handshakeTimeoutMs;
    settings.metrics.connectionsCurrent++;
    client.setNoDelay(true);
    client.setKeepAlive(true, 30_000);
    client.on('data', (chunk: Buffer) => this.guard(() => this.onClientData(chunk)));
    client.on('error', () => this.end('client_closed'));
    client.on('close', () => this.end('client_closed'));
  }

  /** A getter rather than an inline comparison, so TypeScript does not narrow `state` across calls that may close. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  info(): ProxyConnectionInfo {
    return {
      id: this.id,
      remote: remoteOf(this.client),
      sessionId: this.sessionId === undefined ? undefined : BigInt.asUintN(64, this.sessionId).toString(16),
      state: this.state,
      upstream: this.upstreamName,
    };
  }

  /** Enforces the handshake deadline and the idle timeout. */
  sweep(now: number): void {
    if (this.state !== 'ready') {
      if (now > this.deadline) this.refuse('idle_timeout', 'handshake not completed in time');
      return;
    }
    const idleLimit = this.settings.idleTimeoutMs ?? this.sessionTimeoutMs + 1000;
    if (now - this.lastActivity > idleLimit) this.refuse('idle_timeout', `no client traffic for ${idleLimit} ms`);
  }

  /** Closes both sides; idempotent. */
  end(reason: EndReason, detail?: string): void {
    if (this.closed) return;
    const wasState = this.state;
    this.state = 'closed';
    this.settings.metrics.connectionsCurrent--;
    this.onClosed();
    if (reason === 'upstream_closed' && this.connectResponseSent) {
      // Let replies already written (e.g. to closeSession) reach the client before the FIN.
      this.client.end();
    } else {
      this.client.destroy();
    }
    this.upstream?.destroy();
    // A TCP probe (connect, then close) is not worth a log line; anything that sent a handshake or was refused is.
    if (reason === 'client_closed' && this.connectFrame === undefined) return;
    const level = reason === 'internal_error' ? 'error' : 'info';
    this.log(level, 'connection closed', { reason, detail, state: wasState });
  }

  private refuse(reason: RefusalReason, detail: string, op?: number): void {
    this.settings.metrics.refusal(reason);
    this.log('warn', 'connection refused', { reason, detail, op: op === undefined ? undefined : opName(op) });
    this.end(reason, detail);
  }

  /** Any exception in the codec or here is a bug: close this connection, never the process. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.log('error', 'internal error', { error: error instanceof Error ? error.message : String(error) });
      this.end('internal_error');
    }
  }

  private onClientData(chunk: Buffer): void {
    if (this.closed) return;
    this.settings.metrics.clientBytesReceived += chunk.length;
    this.lastActivity = this.settings.clock;
    if (this.firstBytes) {
      // Four-letter words arrive where the first frame length would be; a real length starts with a zero byte.
      const head = Buffer.concat([this.firstBytes, chunk]);
      if (head.length < 4) {
        this.firstBytes = head;
        return;
      }
      this.firstBytes = undefined;
      const word = head.subarray(0, 4).toString('latin1');
      if (FOUR_LETTER_WORD.test(word)) {
        this.fourLetterWord(word);
        return;
      }
      chunk = head;
    }
    try {
      this.clientReader.push(chunk, this.onClientFrame);
    } catch (error) {
      if (!(error instanceof FrameLengthError)) throw error;
      const handshake = this.connectFrame === undefined;
      this.refuse(handshake ? 'bad_handshake' : 'oversize_frame', error.message);
    } finally {
      this.flushClient();
      this.flushUpstream();
    }
    if (this.upstream?.writableNeedDrain && this.state === 'ready') this.pauseClient(PAUSED_FOR_UPSTREAM);
  }

  private fourLetterWord(word: string): void {
    if (word === 'ruok') {
      // Answered locally so health checks work; the real server's words reveal other tenants and are never sent.
      this.settings.metrics.clientBytesSent += 4;
      this.client.end('imok');
      this.state = 'closed';
      this.settings.metrics.connectionsCurrent--;
      this.onClosed();
      return;
    }
    this.refuse('four_letter_word', word);
  }

  /** An arrow property, bound once, so reading a chunk allocates no closure. */
  private readonly onClientFrame = (buffer: Buffer, start: number, end: number): boolean => {
    const payload = buffer.subarray(start, end);
    if (this.connectFrame === undefined) return this.onConnectRequest(payload, buffer.subarray(start - 4, end));
    const verdict = rewriteRequest(payload, this.settings.codec);
    const { metrics } = this.settings;
    if (verdict.op !== undefined) metrics.request(verdict.op);
    switch (verdict.action) {
      case 'forward':
        this.inFlight.push({ xid: verdict.xid, op: verdict.op, local: undefined, answered: false });
        this.sendUpstream(verdict.frame);
        return true;
      case 'answer':
        if (verdict.reason) {
          metrics.refusal(verdict.reason);
          this.log('warn', 'request refused', {
            reason: verdict.reason,
            detail: verdict.detail,
            op: opName(verdict.op),
          });
        }
        this.inFlight.push({ xid: verdict.xid, op: verdict.op, local: verdict.frame, answered: false });
        this.flushLocalAnswers();
        return true;
      case 'close':
        this.refuse(verdict.reason, verdict.detail, verdict.op);
        return false;
    }
  };

  private onConnectRequest(payload: Buffer, frame: Buffer): boolean {
    try {
      parseConnectRequest(payload);
    } catch (error) {
      this.refuse('bad_handshake', error instanceof Error ? error.message : 'bad ConnectRequest');
      return false;
    }
    // The frame may be a view of a chunk; keep a copy in case the handshake must be replayed to another server.
    this.connectFrame = Buffer.from(frame);
    this.log('info', 'connection opened', { remote: remoteOf(this.client) });
    this.clientReader.maxFrameBytes = this.settings.maxFrameBytes;
    this.state = 'connecting';
    this.pauseClient(PAUSED_FOR_HANDSHAKE);
    void this.connectUpstream(this.settings.upstreams.length);
    return true;
  }

  private async connectUpstream(attemptsLeft: number): Promise<void> {
    const { upstreams, metrics } = this.settings;
    for (; attemptsLeft > 0; attemptsLeft--) {
      const target = upstreams[this.settings.nextUpstream++ % upstreams.length]!;
      try {
        const socket = await connectTo(target, this.settings.upstreamConnectTimeoutMs, (chunk) =>
          this.guard(() => this.onUpstreamData(socket, chunk)),
        );
        if (this.closed) {
          socket.destroy();
          return;
        }
        this.attachUpstream(socket, `${target.host}:${target.port}`, attemptsLeft - 1);
        return;
      } catch (error) {
        metrics.upstreamConnectFailures++;
        this.log('warn', 'upstream connect failed', {
          upstream: `${target.host}:${target.port}`,
          error: error instanceof Error ? error.message : String(error),
        });
        if (this.closed) return;
      }
    }
    this.refuse('upstream_unavailable', 'no ZooKeeper server accepted the connection');
  }

  private attachUpstream(socket: Socket, name: string, attemptsLeft: number): void {
    this.upstream = socket;
    // A server that dropped the handshake may have left half a frame behind.
    this.upstreamReader = new FrameReader(this.settings.maxFrameBytes);
    this.upstreamName = name;
    socket.setKeepAlive(true, 30_000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.upstream !== socket || this.closed) return;
      // Nothing reached the client yet, so the handshake can be replayed against the next server.
      if (!this.connectResponseSent && attemptsLeft > 0) {
        this.log('warn', 'upstream closed during handshake, trying the next server', { upstream: name });
        this.upstream = undefined;
        void this.connectUpstream(attemptsLeft);
        return;
      }
      this.end('upstream_closed');
    });
    this.writeUpstream(this.connectFrame!);
    if (this.settings.authFrame) this.writeUpstream(this.settings.authFrame);
    this.flushUpstream();
  }

  private onUpstreamData(socket: Socket, chunk: Buffer): void {
    if (this.closed || socket !== this.upstream) return;
    this.settings.metrics.upstreamBytesReceived += chunk.length;
    const client = this.client;
    try {
      this.upstreamReader.push(chunk, this.onUpstreamFrame);
    } catch (error) {
      if (!(error instanceof FrameLengthError)) throw error;
      this.refuse('upstream_protocol', error.message);
    } finally {
      this.flushClient();
      this.flushUpstream();
    }
    if (client.writableNeedDrain && !this.closed && !socket.isPaused()) {
      socket.pause();
      client.once('drain', () => socket.resume());
    }
  }

  private readonly onUpstreamFrame = (buffer: Buffer, start: number, end: number): boolean => {
    const payload = buffer.subarray(start, end);
    if (!this.connectResponseSent) return this.onConnectResponse(buffer, start, end);
    if (payload.length < 16) {
      this.refuse('upstream_protocol', 'short reply');
      return false;
    }
    const xid = payload.readInt32BE(0);
    if (xid === Xid.notification) {
      return this.forwardReply(rewriteWatcherEvent(payload, this.settings.codec), buffer, start, end);
    }
    if (xid === Xid.auth && this.state === 'authenticating') {
      const err = payload.readInt32BE(12);
      if (err !== ErrorCode.ok) {
        this.refuse('upstream_auth_failed', `ZooKeeper answered the proxy's auth with ${err}`);
        return false;
      }
      this.becomeReady();
      return true;
    }
    const request = this.takeInFlight(xid);
    if (!request) {
      this.refuse('upstream_protocol', `reply to unknown xid ${xid}`);
      return false;
    }
    const verdict = replyNeedsRewrite(request.op)
      ? rewriteReply(request.op, payload, this.settings.codec)
      : PASS_THROUGH;
    if (!this.forwardReply(verdict, buffer, start, end)) return false;
    this.flushLocalAnswers();
    return true;
  };

  private onConnectResponse(buffer: Buffer, start: number, end: number): boolean {
    let response: ReturnType<typeof parseConnectResponse>;
    try {
      response = parseConnectResponse(buffer.subarray(start, end));
    } catch (error) {
      if (!(error instanceof JuteError)) throw error;
      this.refuse('upstream_protocol', `bad ConnectResponse: ${error.message}`);
      return false;
    }
    this.passThrough(buffer, start - 4, end);
    this.connectResponseSent = true;
    this.sessionId = response.sessionId;
    this.sessionTimeoutMs = response.timeOut;
    // A timeout of 0 means the session expired: the server closes the connection after telling the client.
    if (response.timeOut <= 0) return true;
    if (this.settings.authFrame) this.state = 'authenticating';
    else this.becomeReady();
    return true;
  }

  private becomeReady(): void {
    this.state = 'ready';
    this.lastActivity = this.settings.clock;
    for (const frame of this.held) this.writeUpstream(frame);
    this.held = [];
    this.flushLocalAnswers();
    this.resumeClient(PAUSED_FOR_HANDSHAKE);
  }

  private forwardReply(verdict: ReplyVerdict, buffer: Buffer, start: number, end: number): boolean {
    if (verdict.action === 'close') {
      this.refuse(verdict.reason, verdict.detail);
      return false;
    }
    if (verdict.frame) this.sendClient(verdict.frame);
    else this.passThrough(buffer, start - 4, end);
    return true;
  }

  /**
   * Removes the in-flight request a reply answers; replies come in order, so the head is checked first. ZooKeeper
   * answers every ping under xid -2 whatever xid the ping carried, so -2 matches the oldest ping.
   */
  private takeInFlight(xid: number): InFlight | undefined {
    const queue = this.inFlight;
    for (let i = this.inFlightHead; i < queue.length; i++) {
      const request = queue[i]!;
      if (request.answered || request.local) continue;
      if (xid === Xid.ping ? request.op !== OpCode.ping : request.xid !== xid) continue;
      request.answered = true;
      this.advanceHead();
      return request;
    }
    return undefined;
  }

  /** Sends the proxy's own answers whose turn has come: clients check that replies keep the order of requests. */
  private flushLocalAnswers(): void {
    if (!this.connectResponseSent) return;
    const queue = this.inFlight;
    for (let i = this.inFlightHead; i < queue.length; i++) {
      const request = queue[i]!;
      if (request.answered) continue;
      if (!request.local) break;
      request.answered = true;
      this.sendClient(request.local);
    }
    this.advanceHead();
  }

  private advanceHead(): void {
    const queue = this.inFlight;
    while (this.inFlightHead < queue.length && queue[this.inFlightHead]!.answered) this.inFlightHead++;
    if (this.inFlightHead === queue.length) {
      queue.length = 0;
      this.inFlightHead = 0;
    } else if (this.inFlightHead > 1024) {
      queue.splice(0, this.inFlightHead);
      this.inFlightHead = 0;
    }
  }

  private sendUpstream(frame: Buffer): void {
    if (this.state === 'ready') this.writeUpstream(frame);
    else this.held.push(frame);
  }

  private writeUpstream(frame: Buffer): void {
    this.settings.metrics.upstreamBytesSent += frame.length;
    this.toUpstream.push(frame);
  }

  /** Writes what the last event produced for ZooKeeper in one write: a syscall costs more than a small copy. */
  private flushUpstream(): void {
    const frames = this.toUpstream;
    if (frames.length === 0) return;
    this.toUpstream = [];
    if (this.closed || !this.upstream) return;
    this.upstream.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  private passThrough(buffer: Buffer, start: number, end: number): void {
    if (this.runBuffer === buffer && this.runEnd === start) {
      this.runEnd = end;
      return;
    }
    this.flushRun();
    this.runBuffer = buffer;
    this.runStart = start;
    this.runEnd = end;
  }

  private flushRun(): void {
    if (!this.runBuffer) return;
    const slice = this.runBuffer.subarray(this.runStart, this.runEnd);
    this.runBuffer = undefined;
    this.queueClient(slice, true);
  }

  private sendClient(frame: Buffer): void {
    this.flushRun();
    this.queueClient(frame, false);
  }

  private queueClient(bytes: Buffer, volatile: boolean): void {
    if (this.closed) return;
    this.settings.metrics.clientBytesSent += bytes.length;
    this.toClient.push(bytes);
    if (volatile) this.toClientVolatile = true;
  }

  /** Writes what the last event produced for the client in one write. */
  private flushClient(): void {
    this.flushRun();
    const frames = this.toClient;
    if (frames.length === 0) return;
    this.toClient = [];
    const volatile = this.toClientVolatile;
    this.toClientVolatile = false;
    if (this.closed) return;
    // A lone view of the shared upstream read buffer is copied: the next read overwrites it before a slow write ends.
    const single = frames.length === 1 ? frames[0]! : undefined;
    this.client.write(single ? (volatile ? Buffer.from(single) : single) : Buffer.concat(frames));
  }

  private pauseClient(reason: number): void {
    if ((this.clientPaused & reason) !== 0) return;
    if (this.clientPaused === 0) this.client.pause();
    this.clientPaused |= reason;
    if (reason === PAUSED_FOR_UPSTREAM) this.upstream!.once('drain', () => this.resumeClient(PAUSED_FOR_UPSTREAM));
  }

  private resumeClient(reason: number): void {
    if ((this.clientPaused & reason) === 0) return;
    this.clientPaused &= ~reason;
    if (this.clientPaused === 0 && !this.closed) this.client.resume();
  }

  private log(level: ProxyLogRecord['level'], msg: string, fields: Record<string, unknown> = {}): void {
    this.settings.log({ level, msg, connection: this.id, session: this.info().sessionId, ...fields });
  }
}

/**
 * One read buffer shared by every upstream socket: reads land in it and are handled synchronously, and whatever
 * outlives the read (partial frames, replies queued for the client) is copied. It spares a 64 KiB allocation per read.
 */
const UPSTREAM_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function connectTo(target: HostPort, timeoutMs: number, onData: (chunk: Buffer) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      onread: {
        buffer: UPSTREAM_READ_BUFFER,
        callback: (bytes) => {
          onData(UPSTREAM_READ_BUFFER.subarray(0, bytes));
          return true;
        },
      },
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
