import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { createLocalIngress, type LocalIngress } from '../../local/ingress/ingress.ts';
import { vhostRequest } from './support/vhost-client.ts';

// With a real cluster (a kubeconfig) there are no stand-in Ingress objects to follow: that cluster's controller serves
// the vhosts. The operator token is checked by a stub authenticator here; no store is involved.

const OPERATOR = 'operator-token-0123456789';
let ingress: LocalIngress;
let server: Server;
let port: number;

beforeAll(async () => {
  ingress = createLocalIngress({
    platform: parsePlatformSettings(),
    authenticate: async (request) => {
      if (request.headers.authorization === `Bearer ${OPERATOR}`) return { kind: 'operator', id: 'admin-token' };
      throw new Error('unexpected token');
    },
    consoleUrl: 'http://127.0.0.1:8080',
    log: () => undefined,
  });
  server = createServer((request, response) => {
    if (ingress.serve(request, response)) return;
    response.writeHead(404).end('api');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  ingress.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the local ingress in front of a real cluster', () => {
  it("answers 503 at a vhost, naming the cluster's own ingress controller", async () => {
    const response = await vhostRequest(port, '/', {
      host: 'flink-cluster-ui-acme.flink.localhost',
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(response.status).toBe(503);
    expect(response.json().error.details.reason).toBe('external_cluster');
  });

  it('leaves the sign-in link route to the API, which has none, so the console opens the UI URL itself', async () => {
    const response = await vhostRequest(port, '/v1/auth/flink-ui/sign-in?tenant=acme', {
      method: 'POST',
      host: '127.0.0.1:8080',
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(response.status).toBe(404);
    expect(response.text()).toBe('api');
  });
});
