/**
 * The JobManager REST adapter through the kube stand-in's pod port-forward (Kubernetes has no real component here, so
 * the stand-in plays the API server). Behind the forward is a small HTTP server answering as Flink's REST API does,
 * so the adapter's wire protocol is checked: the multipart upload, JSON bodies, the cancel PATCH, Flink's errors and a
 * JobManager that accepts and never answers. Real Flink behind it: test/flink/jobs.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlinkRest } from '../../functions/adapters/flink-rest.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { selfSignedCertificate } from '../support/self-signed-certificate.ts';

const NAMESPACE = 'tenant-acme';
const LABELS = { 'app.kubernetes.io/name': 'flink', 'app.kubernetes.io/component': 'jobmanager' };
const JOB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

type Seen = { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer };
let standin: KubeStandin;
let flink: Server;
const seen: Seen[] = [];
const silent = new Set<Socket>();

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

beforeAll(async () => {
  standin = await startKubeStandin({ tls: selfSignedCertificate(), token: 'token', readinessDelayMs: 20 });
  flink = createServer((request, response) => {
    const body: Buffer[] = [];
    request.on('data', (chunk: Buffer) => body.push(chunk));
    request.on('end', () => {
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(body) });
      const url = request.url!;
      const json = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      // Accepts the request and never answers, as a JobManager stuck in a long GC pause.
      if (url === '/jobs/overview') return silent.add(request.socket);
      if (url === '/jars/upload')
        return json(200, { filename: '/storage/web-upload/flink-web-x/jars/uuid_1-a.jar', status: 'success' });
      if (url.startsWith('/jars/') && url.endsWith('/run'))
        return json(400, {
          errors: [
            "org.apache.flink.client.program.ProgramInvocationException: The program's entry point class 'x.Missing' was not found in the jar file.",
          ],
        });
      if (url === `/jobs/${JOB}?mode=cancel`) return json(202, {});
      if (url === '/overview')
        return json(503, {
          errors: ['Service temporarily unavailable due to an ongoing leader election. Please refresh.'],
        });
      if (url === `/jobs/${JOB}/metrics?get=numRestarts`) return json(200, [{ id: 'numRestarts', value: '3' }]);
      return json(404, { errors: ['Job could not be found.'] });
    });
  });
  await new Promise<void>((resolve) => flink.listen(0, '127.0.0.1', resolve));
  const kubeConfig = standin.kubeConfig();
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'flink-cluster-jobmanager', labels: LABELS },
      spec: {
        replicas: 1,
        selector: { matchLabels: LABELS },
        template: { metadata: { labels: LABELS }, spec: { containers: [{ name: 'flink', image: 'flink:1.20' }] } },
      },
    },
  });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (let attempt = 0; attempt < 200; attempt++) {
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
    if (pods.items.some((pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const address = flink.address() as { port: number };
  standin.setPortForwardTarget(`${NAMESPACE}/*`, 8081, `127.0.0.1:${address.port}`);
});

afterAll(async () => {
  for (const socket of silent) socket.destroy();
  await new Promise((resolve) => flink?.close(resolve));
  await standin?.stop();
});

describe('Flink REST adapter through the stand-in port-forward', () => {
  const rest = () => createFlinkRest({ kubeConfig: async () => standin.kubeConfig(), timeoutMs: 1_000 });

  it('uploads a JAR as one multipart part with its exact length, and answers the id Flink gave it', async () => {
    const jar = await rest().uploadJar(NAMESPACE, '0123456789abcdef-a.jar', chunks('PK', '-jar-bytes'), 12);
    expect(jar).toEqual({ id: 'uuid_1-a.jar', name: '0123456789abcdef-a.jar' });
    const upload = seen.find((request) => request.url === '/jars/upload')!;
    const text = upload.body.toString();
    expect(Number(upload.headers['content-length'])).toBe(upload.body.length);
    expect(text).toContain('name="jarfile"; filename="0123456789abcdef-a.jar"');
    expect(text).toContain('\r\n\r\nPK-jar-bytes\r\n--');
  });

  it("answers a refused run as flink_rejected with Flink's status and its own words in the details", async () => {
    const error = await rest()
      .runJar(NAMESPACE, 'uuid_1-a.jar', { entryClass: 'x.Missing', programArgsList: ['--a', '1'] })
      .catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'flink_rejected', details: { status: 400 } });
    expect((error as { details: { flink: string[] } }).details.flink[0]).toMatch(/x\.Missing/);
    const run = seen.find((request) => request.url.endsWith('/run'))!;
    expect(JSON.parse(run.body.toString())).toEqual({ entryClass: 'x.Missing', programArgsList: ['--a', '1'] });
  });

  it('cancels with PATCH ?mode=cancel, reads a metric, and keeps 404 for the core to name', async () => {
    await rest().cancelJob(NAMESPACE, JOB);
    expect(seen.some((request) => request.method === 'PATCH' && request.url === `/jobs/${JOB}?mode=cancel`)).toBe(true);
    expect(await rest().jobRestarts(NAMESPACE, JOB)).toBe(3);
    await expect(rest().job(NAMESPACE, 'f'.repeat(32))).rejects.toMatchObject({
      code: 'flink_rejected',
      details: { status: 404 },
    });
  });

  it('answers a leader election (503) and a JobManager that never answers as dependency_unavailable', async () => {
    await expect(rest().overview(NAMESPACE)).rejects.toMatchObject({ code: 'dependency_unavailable' });
    const silentRest = createFlinkRest({ kubeConfig: async () => standin.kubeConfig(), timeoutMs: 500 });
    await expect(silentRest.jobsOverview(NAMESPACE)).rejects.toMatchObject({
      code: 'dependency_unavailable',
      details: { path: '/jobs/overview' },
    });
  });
});
