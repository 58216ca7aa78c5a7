import { type IncomingHttpHeaders, request } from 'node:http';
import type { Readable } from 'node:stream';

export interface VhostResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON was answered.
  json(): any;
}

export interface VhostRequest {
  readonly method?: string;
  /** The Host header: which vhost (or the API) is asked. */
  readonly host: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: string | Readable;
}

/**
 * An HTTP request to the local server with the Host header of a vhost. Node's resolver does not map `*.localhost` to
 * loopback here (browsers and curl do), so the test connects to the server's address and names the vhost in Host.
 */
export function vhostRequest(serverPort: number, path: string, options: VhostRequest): Promise<VhostResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port: serverPort,
        method: options.method ?? 'GET',
        path,
        headers: { host: options.host, ...options.headers },
        agent: false,
        timeout: 30_000,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            body,
            text: () => body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')),
          });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer to ${path} within 30 s`)));
    outgoing.on('error', reject);
    if (options.body === undefined) outgoing.end();
    else if (typeof options.body === 'string') outgoing.end(options.body);
    else options.body.pipe(outgoing);
  });
}
