import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FlinkplaneError } from '../functions/core/errors.ts';
import { type ErrorLogger, errorResponse } from '../functions/http/errors.ts';
import type { HttpRequest, HttpResponse, ResponseStream } from '../functions/http/http-types.ts';
import { MAX_BODY_BYTES, streamsBody, withSecurityHeaders } from '../functions/http/router.ts';

export type RequestHandler = (request: HttpRequest) => Promise<HttpResponse>;
/**
 * Serves what is not the API (the Flink UI vhosts by their Host header, the console's static files); answers false to
 * fall through to the API.
 */
export type StaticHandler = (request: IncomingMessage, response: ServerResponse) => boolean;
/** Takes an upgrade request (a WebSocket to a Flink UI vhost); answers false to refuse it. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** A Node HTTP server in front of the router, so the local control plane answers exactly as the Lambda does. */
export function createHttpServer(
  handle: RequestHandler,
  log: ErrorLogger,
  serveStatic?: StaticHandler,
  serveUpgrade?: UpgradeHandler,
): Server {
  const server = createServer((request, response) => {
    if (serveStatic?.(request, response)) return;
    // A JAR upload streams through to the bucket: neither buffered nor held to the 1 MiB limit of JSON bodies.
    const streamed = streamsBody(request.method ?? 'GET', new URL(request.url ?? '/', 'http://localhost').pathname);
    const read = streamed ? Promise.resolve({ stream: request }) : readBody(request).then((body) => ({ body }));
    void read
      .then((body) => handle(toHttpRequest(request, body)))
      .catch((error: unknown) => withSecurityHeaders(errorResponse(error, log)))
      .then((result) => {
        // A streamed body refused before it was read (another tenant, a bad name) is not read to its end either: the
        // connection closes after the answer, and what the client still sends is discarded.
        const unread = streamed && !request.readableEnded;
        response.writeHead(result.status, unread ? { ...result.headers, connection: 'close' } : result.headers);
        if (result.stream) void pipeStream(result.stream, response);
        else response.end(result.body);
        if (unread) request.resume();
      });
  });
  if (serveUpgrade) {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!serveUpgrade(request, socket, head)) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
  }
  return server;
}

/**
 * Writes a streamed body chunk by chunk (Node sends it chunked, flushing each write), and closes its source when the
 * client goes away, so a followed log stops reading the moment nobody reads it.
 */
async function pipeStream(stream: ResponseStream, response: ServerResponse): Promise<void> {
  response.on('close', () => stream.close());
  try {
    for await (const chunk of stream) {
      if (response.destroyed) break;
      if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve));
    }
  } catch {
    // The source ended early (closed, or the API server went away): what was sent is the answer.
  } finally {
    stream.close();
    response.end();
  }
}

function toHttpRequest(request: IncomingMessage, read: { body?: string; stream?: IncomingMessage }): HttpRequest {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const { body, stream } = read;
  return {
    method: request.method ?? 'GET',
    path: url.pathname,
    headers,
    query,
    ...(body ? { body } : {}),
    ...(stream ? { stream } : {}),
  };
}

/** Reads the body, stopping at the limit so an oversized upload cannot fill memory. */
function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        reject(
          new FlinkplaneError('payload_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes`, {
            limit: MAX_BODY_BYTES,
          }),
        );
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
