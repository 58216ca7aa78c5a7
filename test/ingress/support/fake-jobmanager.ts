import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** What the fake saw of one upload. */
export interface ReceivedUpload {
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType: string | undefined;
}

/**
 * A stand-in for the JobManager's REST port (there is no Flink process behind a simulated Pod): a Node HTTP server on
 * its own loopback address and port 8081, as a Pod would have, with the endpoints the ingress tests need.
 */
export interface FakeJobManager {
  readonly ip: string;
  readonly port: number;
  /** The body `GET /bytes` answers, to compare byte for byte. */
  readonly payload: Buffer;
  /** The headers of the last request, as Flink received them. */
  lastHeaders(): IncomingHttpHeaders;
  /** How many requests (and upgrades) reached it. */
  requests(): number;
  /** How long `POST /jars/upload` waits before it starts reading the body. */
  uploadReadDelayMs: number;
  stop(): Promise<void>;
}

export async function startFakeJobManager(): Promise<FakeJobManager> {
  const ip = `127.${81 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  const payload = randomBytes(3 * 1024 * 1024 + 17);
  let last: IncomingHttpHeaders = {};
  let requests = 0;
  const sockets = new Set<Socket>();
  const fake = {
    ip,
    port: 8081,
    payload,
    lastHeaders: () => last,
    requests: () => requests,
    uploadReadDelayMs: 0,
  };
  const server: Server = createServer((request, response) => {
    last = request.headers;
    requests++;
    const path = new URL(request.url ?? '/', 'http://jobmanager').pathname;
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        '<!doctype html><html><head><title>Apache Flink Web Dashboard</title></head><body><h1>Fake JobManager</h1></body></html>',
      );
    } else if (path === '/config') {
      response.writeHead(200, { 'content-type': 'application/json', 'x-flink': 'fake' });
      response.end(JSON.stringify({ 'flink-version': '1.20.1', features: { 'web-submit': true } }));
    } else if (path === '/bytes') {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
      response.end(payload);
    } else if (path === '/jars/upload' && request.method === 'POST') {
      setTimeout(() => {
        const hash = createHash('sha256');
        let bytes = 0;
        request.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        request.on('end', () => {
          const received: ReceivedUpload = {
            bytes,
            sha256: hash.digest('hex'),
            contentType: request.headers['content-type'],
          };
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(received));
        });
      }, fake.uploadReadDelayMs);
    } else if (path === '/long-poll') {
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('done waiting');
      }, 1_500);
    } else if (path === '/stream') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first\n');
      setTimeout(() => response.end('last\n'), 700);
    } else {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: ['Not found: /bad-request'] }));
    }
  });
  const websockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket: Socket, head) => {
    last = request.headers;
    requests++;
    websockets.handleUpgrade(request, socket, head, (connection) => {
      connection.on('message', (data) => connection.send(Buffer.concat([Buffer.from('echo: '), data as Buffer])));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(fake.port, ip, resolve);
  });
  return Object.assign(fake, {
    async stop() {
      websockets.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
