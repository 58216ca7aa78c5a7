import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { ManualPodRuntime } from './support/manual-pod-runtime.ts';

// The service proxy of the stand-in, over a runtime whose Pod answers on 127.0.0.1 (a real HTTP server in this test).
describe('kube stand-in service proxy', () => {
  let standin: KubeStandin;
  let server: Server;
  let port: number;
  const runtime = new ManualPodRuntime('kubelet', '127.0.0.1');
  const namespace = 'proxied';

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            body: Buffer.concat(chunks).toString(),
            authorization: req.headers.authorization ?? null,
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    standin = await startKubeStandin({ podRuntime: runtime });
    const kc = standin.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'main', image: 'app:1', ports: [{ name: 'http', containerPort: port }] }] },
          },
        },
      },
    });
    for (let i = 0; runtime.pods.size === 0; i++) {
      if (i > 100) throw new Error('the Pod behind the Service never started');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterAll(async () => {
    await standin?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  const proxy = (target: string, path: string, init?: RequestInit) =>
    fetch(`${standin.url}/api/v1/namespaces/${namespace}/services/${target}/proxy${path}`, init);

  it('answers 503 while no Pod behind the Service is ready', async () => {
    const response = await proxy('web', '/');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      message: 'no endpoints available for service "web"',
    });
  });

  it('forwards to a ready Pod by service name, port name and scheme:name:port, path and query kept', async () => {
    const [name] = [...runtime.pods.keys()].map((k) => k.split('/')[1]!);
    runtime.setReady(namespace, name!, true);
    await expect.poll(async () => (await proxy('web', '/')).status).toBe(201);

    const byPortName = await proxy('web:http', '/a/b?x=1&y=2', { headers: { authorization: 'Bearer secret' } });
    expect(byPortName.headers.get('x-upstream')).toBe('yes');
    expect(await byPortName.json()).toEqual({ method: 'GET', url: '/a/b?x=1&y=2', body: '', authorization: null });
    const byScheme = await proxy('http:web:80', '/');
    expect(await byScheme.json()).toMatchObject({ url: '/' });
    const posted = await proxy('web', '/submit', { method: 'POST', body: 'hello' });
    expect(await posted.json()).toMatchObject({ method: 'POST', url: '/submit', body: 'hello' });
  });

  it('answers 503 for a port the Service does not have and 404 for a missing Service', async () => {
    const port = await proxy('web:9999', '/');
    expect(port.status).toBe(503);
    expect(((await port.json()) as { message: string }).message).toBe('no service port "9999" found for service "web"');
    const missing = await proxy('ghost', '/');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toBe('services "ghost" not found');
  });

  it('refuses to dial Pods of the simulated runtime, where nothing listens', async () => {
    const simulated = await startKubeStandin({ readinessDelayMs: 5 });
    try {
      const kc = simulated.kubeConfig();
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'sim' } } });
      await core.createNamespacedService({
        namespace: 'sim',
        body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
      });
      await core.createNamespacedPod({
        namespace: 'sim',
        body: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      });
      await expect
        .poll(async () => (await core.readNamespacedPod({ namespace: 'sim', name: 'web' })).status?.phase)
        .toBe('Running');
      const response = await fetch(`${simulated.url}/api/v1/namespaces/sim/services/web/proxy/`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { message: string }).message).toContain('simulated pod runtime');
    } finally {
      await simulated.stop();
    }
  });
});
