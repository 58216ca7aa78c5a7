/**
 * The benchmark's API client, in a process of its own: users call the deploy API from elsewhere, so the CPU of
 * building requests and reading answers is not the control plane's and must not be spent on its event loop.
 * `startApiClient` (api-client.ts) spawns it with an IPC channel; it answers each `run` with every request's status and
 * latency, and exits when the channel closes.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { ApiClientDone, ApiClientRun, ApiRequest } from './api-client.ts';
import { elapsedMs, forEachConcurrently } from './report.ts';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** Sends one request over the keep-alive pool; answers the status and the body text. */
function send(url: URL, call: ApiRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers: Record<string, string | number> = { authorization: `Bearer ${call.token}` };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const { hostname: host, port } = url;
    const outgoing = httpRequest({ host, port, method: call.method, path: call.path, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

async function run(message: ApiClientRun): Promise<ApiClientDone> {
  const url = new URL(message.url);
  const latencies: number[] = new Array(message.requests.length).fill(0);
  const bodies: string[] = new Array(message.keepBodies ? message.requests.length : 0).fill('');
  let firstUnexpected: string | undefined;
  await forEachConcurrently(message.requests, message.concurrency, async (call, index) => {
    const started = performance.now();
    const response = await send(url, call);
    latencies[index] = elapsedMs(started);
    if (message.keepBodies) bodies[index] = response.body;
    if (response.status !== call.expect && firstUnexpected === undefined) {
      firstUnexpected = `${call.method} ${call.path}: HTTP ${response.status} ${response.body}`;
    }
  });
  return {
    type: 'done',
    id: message.id,
    latencies,
    ...(message.keepBodies ? { bodies } : {}),
    ...(firstUnexpected ? { firstUnexpected } : {}),
  };
}

function isRun(message: unknown): message is ApiClientRun {
  return typeof message === 'object' && message !== null && (message as Partial<ApiClientRun>).type === 'run';
}

const reply = process.send?.bind(process);
if (!reply) {
  console.error('api-client-main.ts runs as a child of startApiClient (it needs an IPC channel)');
  process.exit(2);
}
process.on('message', (message) => {
  if (!isRun(message)) return;
  run(message).then(
    (done) => reply(done),
    (error: unknown) => reply({ type: 'failed', id: message.id, error: String(error) }),
  );
});
process.on('disconnect', () => {
  agent.destroy();
  process.exit(0);
});
reply({ type: 'ready' });
