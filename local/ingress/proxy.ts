import {
  Agent,
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Where a request goes: one ready Pod's address. */
export interface Upstream {
  readonly ip: string;
  readonly port: number;
}

/** Why a request did not reach Flink, for the page the client gets. */
export type UpstreamFailure = { readonly kind: 'connect-timeout' | 'unreachable'; readonly message: string };

/** Headers that describe one connection (RFC 9110 §7.6.1) and so never cross a proxy; `upgrade` is handled apart. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Node's server has already answered `Expect: 100-continue` to the client; Flink must not be asked again.
  'expect',
]);

export interface ForwardOptions {
  /** Cookies that belong to the platform and never reach Flink. */
  readonly platformCookies: readonly string[];
  /** The scheme the client used, for X-Forwarded-Proto. */
  readonly scheme: 'http' | 'https';
}

/**
 * The headers Flink gets: the client's, minus hop-by-hop headers, the platform's credentials (Authorization and its
 * cookies) and any X-Forwarded-* or X-Auth-Request-* the client made up, plus X-Forwarded-* as the proxy saw it.
 */
export function forwardedHeaders(request: IncomingMessage, options: ForwardOptions): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = new Set((request.headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()));
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || name === 'authorization') continue;
    if (name.startsWith('x-forwarded-') || name === 'x-real-ip' || name.startsWith('x-auth-request-')) continue;
    if (name === 'cookie') {
      const kept = withoutCookies(String(value), options.platformCookies);
      if (kept) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }
  const client = request.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = client;
  out['x-real-ip'] = client;
  out['x-forwarded-host'] = request.headers.host ?? '';
  out['x-forwarded-proto'] = options.scheme;
  out['x-forwarded-port'] = String(request.socket.localPort ?? '');
  return out;
}

/** A Cookie header without the named cookies; '' when none is left. */
export function withoutCookies(header: string, names: readonly string[]): string {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !names.includes(part.split('=')[0]!.trim()))
    .join('; ');
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set((headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) out[name] = value;
  }
  return out;
}

/**
 * Streams requests and upgraded connections to Pods. Bodies are piped both ways (a 500 MB JAR upload never sits in
 * memory) and nothing times out once connected (long polls, downloads); only connecting is bounded.
 */
export class UpstreamProxy {
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 16 });
  private readonly tunnels = new Set<Duplex>();

  constructor(private readonly connectTimeoutMs: number) {}

  /** Sends the request to `upstream`; `onFailure` answers the client when Flink could not be reached at all. */
  forward(
    request: IncomingMessage,
    response: ServerResponse,
    upstream: Upstream,
    headers: OutgoingHttpHeaders,
    onFailure: (failure: UpstreamFailure) => void,
  ): void {
    const outgoing = httpRequest({
      host: upstream.ip,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers,
      agent: this.agent,
    });
    let answered = false;
    this.boundConnect(outgoing);
    outgoing.on('response', (incoming) => {
      answered = true;
      response.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, responseHeaders(incoming.headers));
      incoming.pipe(response);
      incoming.on('error', () => response.destroy());
    });
    outgoing.on('error', (error) => {
      if (answered || response.headersSent) response.destroy();
      else onFailure(failureOf(error, upstream, this.connectTimeoutMs));
    });
    // A client that goes away mid-request or mid-response takes its upstream request with it.
    response.on('close', () => {
      if (!response.writableFinished) outgoing.destroy();
    });
    request.pipe(outgoing);
  }

  /** Tunnels an upgrade request (WebSocket) to `upstream`; a refusal from Flink is relayed as its HTTP answer. */
  tunnel(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    upstream: Upstream,
    headers: OutgoingHttpHeaders,
    onFailure: (failure: UpstreamFailure) => void,
  ): void {
    const connection = request.headers.connection ?? 'upgrade';
    const outgoing = httpRequest({
      host: upstream.ip,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: { ...headers, connection, upgrade: request.headers.upgrade ?? '' },
      agent: false,
    });
    this.boundConnect(outgoing);
    let answered = false;
    socket.on('error', () => outgoing.destroy());
    outgoing.on('upgrade', (incoming, upstreamSocket: Socket, upstreamHead: Buffer) => {
      answered = true;
      socket.write(statusBlock(incoming, 101));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      this.track(socket);
      this.track(upstreamSocket);
      upstreamSocket.on('error', () => socket.destroy());
      socket.on('close', () => upstreamSocket.destroy());
      upstreamSocket.on('close', () => socket.destroy());
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
    });
    outgoing.on('response', (incoming) => {
      answered = true;
      socket.write(statusBlock(incoming, incoming.statusCode ?? 502, true));
      incoming.pipe(socket);
    });
    outgoing.on('error', (error) => {
      if (answered) socket.destroy();
      else onFailure(failureOf(error, upstream, this.connectTimeoutMs));
    });
    outgoing.end();
  }

  /** Ends kept-alive upstream connections and every open tunnel. */
  close(): void {
    this.agent.destroy();
    for (const socket of this.tunnels) socket.destroy();
  }

  private track(socket: Duplex): void {
    this.tunnels.add(socket);
    socket.on('close', () => this.tunnels.delete(socket));
  }

  /** Fails the request when its new connection is not established in time (a reused one is already connected). */
  private boundConnect(outgoing: ClientRequest): void {
    outgoing.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => outgoing.destroy(new ConnectTimeoutError()), this.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
  }
}

class ConnectTimeoutError extends Error {
  constructor() {
    super('connect timeout');
    this.name = 'ConnectTimeoutError';
  }
}

function failureOf(error: Error, upstream: Upstream, connectTimeoutMs: number): UpstreamFailure {
  if (error instanceof ConnectTimeoutError) {
    return {
      kind: 'connect-timeout',
      message: `The JobManager at ${upstream.ip}:${upstream.port} did not accept a connection within ${connectTimeoutMs} ms`,
    };
  }
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  return { kind: 'unreachable', message: `The JobManager at ${upstream.ip}:${upstream.port} is unreachable (${code})` };
}

/** The status line and headers of an upstream answer, written raw to an upgraded client socket. */
function statusBlock(incoming: IncomingMessage, status: number, close = false): string {
  const lines = [`HTTP/1.1 ${status} ${incoming.statusMessage || STATUS_CODES[status] || ''}`];
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // A relayed refusal is read to its end and the connection closed, so its framing headers are rewritten.
    if (close && (name === 'connection' || name === 'transfer-encoding' || name === 'keep-alive')) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  if (close) lines.push('connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}
