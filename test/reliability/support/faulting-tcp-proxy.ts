import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { type SeededRandom, seededRandom } from './seeded-random.ts';

/** What the proxy does to the traffic it passes on; every draw comes from the proxy's seeded generator. */
export interface TcpFaults {
  /** Share (0..1) of accepted connections reset at once, before a byte passes. @default 0 */
  readonly dropRate?: number;
  /** Share (0..1) of chunks (either direction) held back for a while; later chunks wait behind them. @default 0 */
  readonly delayRate?: number;
  /** How long a held chunk waits, uniform in [min, max] ms. @default [1, 20] */
  readonly delayMs?: readonly [number, number];
  /** Share (0..1) of chunks that are lost together with the connection: both sides get a reset. @default 0 */
  readonly resetRate?: number;
  /** Chunks a connection passes untouched before resets may hit it, so a handshake can complete. @default 0 */
  readonly resetAfterChunks?: number;
  /**
   * A silent peer: connections are accepted and kept open, and nothing sent either way arrives, so every request
   * waits for an answer that never comes (no refusal, no reset). Connections that lost data while silent are reset
   * when the silence ends, as a peer that came back would reset them. @default false
   */
  readonly silent?: boolean;
}

export interface TcpFaultStats {
  readonly connections: number;
  readonly dropped: number;
  readonly delayedChunks: number;
  readonly resets: number;
  readonly chunks: number;
  /** Chunks swallowed by silence. */
  readonly silenced: number;
}

export interface FaultingTcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `127.0.0.1:<port>`, e.g. a ZooKeeper connect string. */
  readonly address: string;
  /** `http://127.0.0.1:<port>`, e.g. an SDK endpoint. */
  readonly url: string;
  readonly seed: number;
  setFaults(faults: TcpFaults): void;
  clearFaults(): void;
  stats(): TcpFaultStats;
  /** Stops accepting and destroys every open connection. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * A TCP proxy on loopback in front of a loopback service that drops connections, delays chunks and resets
 * connections mid-stream, each by a seeded draw. Draws happen in event order, so the schedule is reproducible for one
 * connection at a time; with concurrent connections the interleaving (and so which request meets which fault) varies.
 */
export async function startFaultingTcpProxy(options: {
  target: { host: string; port: number };
  seed: number;
  faults?: TcpFaults;
}): Promise<FaultingTcpProxy> {
  if (!LOOPBACK.has(options.target.host)) {
    throw new Error(`the faulting proxy only forwards to loopback, not ${options.target.host}`);
  }
  let faults: TcpFaults = options.faults ?? {};
  const random = seededRandom(options.seed);
  let connectionCount = 0;
  const counters = { connections: 0, dropped: 0, delayedChunks: 0, resets: 0, chunks: 0, silenced: 0 };
  const open = new Set<Socket>();
  /** Connections that lost data to silence: their streams are broken, so they are reset when it ends. */
  const broken = new Set<Socket>();
  const setFaults = (next: TcpFaults) => {
    if (faults.silent && !next.silent) {
      for (const socket of broken) socket.resetAndDestroy();
      broken.clear();
    }
    faults = next;
  };

  const server: Server = createServer({ noDelay: true }, (client) => {
    counters.connections += 1;
    // Each connection draws from its own generator, so one connection's traffic does not shift another's faults.
    const draw = random.fork(connectionCount++);
    track(client);
    if (faults.silent) {
      broken.add(client);
      client.on('data', () => {
        counters.silenced += 1;
      });
      client.on('error', () => client.destroy());
      client.on('close', () => broken.delete(client));
      return;
    }
    if (draw.chance(faults.dropRate ?? 0)) {
      counters.dropped += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: options.target.host, port: options.target.port, noDelay: true });
    track(upstream);
    const resetBoth = () => {
      counters.resets += 1;
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    let passed = 0;
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        counters.chunks += 1;
        if (faults.silent) {
          counters.silenced += 1;
          broken.add(client);
          return;
        }
        passed += 1;
        if (passed > (faults.resetAfterChunks ?? 0) && draw.chance(faults.resetRate ?? 0)) {
          resetBoth();
          return;
        }
        if (draw.chance(faults.delayRate ?? 0)) {
          counters.delayedChunks += 1;
          // Pausing keeps order: no later chunk of this direction is read until this one went out.
          from.pause();
          setTimeout(
            () => {
              if (write(from, to, chunk)) from.resume();
            },
            delay(draw, faults.delayMs),
          );
          return;
        }
        write(from, to, chunk);
      });
      from.on('end', () => {
        if (!to.destroyed) to.end();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', () => {
      broken.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });

  function track(socket: Socket) {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    seed: options.seed,
    setFaults: (next) => {
      for (const rate of [next.dropRate, next.delayRate, next.resetRate]) {
        if (rate !== undefined && (rate < 0 || rate > 1)) throw new Error('fault rates must be within 0..1');
      }
      setFaults(next);
    },
    clearFaults: () => setFaults({}),
    stats: () => ({ ...counters }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}

/**
 * A peer that accepts TCP connections on loopback and never answers: no byte back, no close, no reset. For a client
 * that must give up on its own deadline.
 */
export async function startSilentPeer(): Promise<{
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => open.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}

/** Writes with back-pressure: the source pauses until the destination drains. False while it waits for that. */
function write(from: Socket, to: Socket, chunk: Buffer): boolean {
  if (to.destroyed) return false;
  if (to.write(chunk)) return true;
  from.pause();
  to.once('drain', () => from.resume());
  return false;
}

function delay(draw: SeededRandom, range: readonly [number, number] | undefined): number {
  const [min, max] = range ?? [1, 20];
  return min + draw.next() * (max - min);
}
