import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Receives custom-resource responses as CloudFormation's pre-signed S3 URL does (HTTP PUT of a JSON body), keyed by
 * request id; a stand-in for that URL, which cannot be reached here.
 */
export async function startCloudFormationResponseReceiver() {
  const received = new Map<string, Record<string, unknown>>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const id = new URL(request.url ?? '/', 'http://localhost').pathname.slice(1);
      if (request.method !== 'PUT') {
        response.writeHead(405).end();
        return;
      }
      received.set(id, JSON.parse(body) as Record<string, unknown>);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    received,
    url: (requestId: string) => `${base}/${requestId}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
