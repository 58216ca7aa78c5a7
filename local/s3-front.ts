import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { AwsChunkedDecoder, isAwsChunked, plainHeaders } from './s3-aws-chunked.ts';

/**
 * A front for the local S3 server (s3rver) that makes it accept what real S3 clients send: object bodies in the
 * `aws-chunked` encoding (Hadoop S3A's Java SDK signs every chunk when the endpoint is plain HTTP) reach s3rver
 * decoded, with the headers of a plain upload. Every other request and every response passes through unchanged.
 */
export type S3Front = {
  /** The front's port on 127.0.0.1. */
  readonly port: number;
  /** Stops accepting requests, drops idle connections and waits for the server to close. */
  close(): Promise<void>;
};

/** Starts the front on `port` (default a free one) of `host`, forwarding to the S3 server on `127.0.0.1:<upstreamPort>`. */
export async function startS3Front(upstreamPort: number, host = '127.0.0.1', port = 0): Promise<S3Front> {
  const agent = new Agent({ keepAlive: true });
  const server = createServer((incoming, outgoing) => forward(incoming, outgoing, upstreamPort, agent));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    agent.destroy();
    await closed;
  };
  return { port: (server.address() as AddressInfo).port, close };
}

function forward(incoming: IncomingMessage, outgoing: ServerResponse, upstreamPort: number, agent: Agent): void {
  const chunked = isAwsChunked(incoming.headers);
  const upstream = request({
    host: '127.0.0.1',
    port: upstreamPort,
    method: incoming.method,
    path: incoming.url,
    headers: chunked ? plainHeaders(incoming.headers) : incoming.headers,
    agent,
  });
  upstream.on('response', (response) => {
    outgoing.writeHead(response.statusCode ?? 502, response.statusMessage, response.headers);
    pipeline(response, outgoing, () => undefined);
  });
  let failed = false;
  const fail = (error: Error) => {
    if (failed) return;
    failed = true;
    if (outgoing.headersSent) {
      outgoing.destroy(error);
      return;
    }
    // A malformed body is the client's fault; anything else is the server behind the front.
    const status = error.name === 'AwsChunkedBodyError' ? 400 : 502;
    const code = status === 400 ? 'IncompleteBody' : 'ServiceUnavailable';
    outgoing.writeHead(status, { 'content-type': 'application/xml', connection: 'close' });
    outgoing.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(error.message)}</Message></Error>`,
    );
  };
  upstream.on('error', fail);
  if (chunked) {
    pipeline(incoming, new AwsChunkedDecoder(), upstream, (error) => {
      if (error) {
        upstream.destroy();
        fail(error);
      }
    });
  } else {
    pipeline(incoming, upstream, (error) => {
      if (error) upstream.destroy();
    });
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
