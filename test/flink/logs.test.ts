import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TAIL_LINES } from '../../functions/core/logs.ts';
import type { Principal } from '../../functions/core/principal.ts';
import { LOG_ROUTES } from '../../functions/http/routes/logs.ts';
import { prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import { type IngressPlane, startIngressPlane } from '../ingress/support/ingress-plane.ts';
import {
  compileTestJob,
  counterArgs,
  MINIMUM_SIZES,
  parseCounterLines,
  STATEFUL_COUNTER_CLASS,
  STATEFUL_COUNTER_LINE_PREFIX,
} from './support/compile-test-job.ts';
import { eventually, podProcesses, pods, waitForCluster } from './support/real-cluster.ts';

/**
 * The log routes against real Flink 1.20 at minimum sizes: the local plane with the kubelet runtime runs each pod as a
 * real process, whose output is what the stand-in's pods/log API (and so the control plane's route) answers. Only the
 * Kubernetes API is a stand-in. Requests go through the same HTTP server `npm start` runs, so `follow` is proven to
 * stream through it.
 */
const VERSION = '1.20';
const MINIMUM = { flinkVersion: VERSION, ...MINIMUM_SIZES };
const ARGS = counterArgs();

interface PodListing {
  pods: { name: string; component: string; containers: string[] }[];
}

describe('pod logs of a real Flink 1.20 cluster through the API', () => {
  const tenant = 'acme';
  const acme: Principal = { kind: 'tenant', tenant, registered: true };
  let plane: IngressPlane;
  let work: string;
  let jarPath: string;
  let acmeToken: string;
  let otherToken: string;
  let taskManagerPod: string;
  let jobId: string;

  const logsPath = (query: Record<string, string>) =>
    `/v1/tenants/${tenant}/flink-cluster/logs?${new URLSearchParams(query).toString()}`;
  const get = (path: string, token: string, signal?: AbortSignal) =>
    fetch(`${plane.url}${path}`, { headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'flinkplane-logs-'));
    const image = await prepareFlinkImage(VERSION);
    jarPath = await compileTestJob(join(image.home, 'lib'), work);
    plane = await startIngressPlane({ pods: 'kubelet', platform: { podCidr: '10.246.0.0/24' } });
    acmeToken = await plane.registerTenant(tenant);
    otherToken = await plane.registerTenant('other');
    await plane.local.plane.deploy(acme, tenant, MINIMUM);
    await waitForCluster(plane, tenant, 'RUNNING', 150_000);
  }, 400_000);

  afterAll(async () => {
    await plane?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("lists the tenant's JobManager, TaskManager and proxy pods with the containers it may read", async () => {
    const response = await get(`/v1/tenants/${tenant}/flink-cluster/pods`, acmeToken);
    expect(response.status).toBe(200);
    const { pods } = (await response.json()) as PodListing;
    expect(pods.map((pod) => [pod.component, pod.containers])).toEqual([
      ['jobmanager', ['jobmanager']],
      ['taskmanager', ['taskmanager']],
      ['zookeeper-proxy', ['zookeeper-proxy']],
    ]);
    taskManagerPod = pods.find((pod) => pod.component === 'taskmanager')!.name;
  });

  it("tails the JobManager's log: the lines Flink printed while starting", async () => {
    const { pods } = (await (await get(`/v1/tenants/${tenant}/flink-cluster/pods`, acmeToken)).json()) as PodListing;
    const jobManager = pods.find((pod) => pod.component === 'jobmanager')!.name;
    const response = await get(logsPath({ pod: jobManager, tailLines: '2000' }), acmeToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(
      /StandaloneSessionClusterEntrypoint|Starting .*JobManager|Rest endpoint listening/,
    );
  });

  it('shows in the tail a line the test job printed', async () => {
    const { jarId } = await plane.local.plane.jobs.uploadJar(
      acme,
      tenant,
      'stateful-counter.jar',
      createReadStream(jarPath),
    );
    ({ jobId } = await plane.local.plane.jobs.runJob(acme, tenant, {
      jarId,
      entryClass: STATEFUL_COUNTER_CLASS,
      args: ARGS,
      parallelism: 1,
    }));
    const tail = await eventually('a printed counter line in the tail', 180_000, async () => {
      const response = await get(
        logsPath({ pod: taskManagerPod, container: 'taskmanager', tailLines: '50' }),
        acmeToken,
      );
      const text = await response.text();
      return response.status === 200 && text.includes(STATEFUL_COUNTER_LINE_PREFIX) ? text : undefined;
    });
    expect(parseCounterLines(tail).length).toBeGreaterThan(0);
    // tailLines bounds the answer: 50 lines at most (the last may lack its newline).
    expect(tail.trimEnd().split('\n').length).toBeLessThanOrEqual(50);
  }, 240_000);

  it('streams new lines with follow, chunk by chunk, until the client goes away', async () => {
    const before = await (await get(logsPath({ pod: taskManagerPod, tailLines: '1' }), acmeToken)).text();
    const lastBefore = Math.max(-1, ...parseCounterLines(before).map((line) => line.value));
    const controller = new AbortController();
    const response = await get(
      logsPath({ pod: taskManagerPod, tailLines: '1', follow: 'true' }),
      acmeToken,
      controller.signal,
    );
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    // The job prints every 5th record of a key, several lines a second: newer values must arrive on the open response.
    while (!parseCounterLines(text).some((line) => line.value > lastBefore + 20)) {
      const { value, done } = await reader.read();
      expect(done, `the follow ended after ${JSON.stringify(text)}`).toBe(false);
      text += decoder.decode(value, { stream: true });
      chunks += 1;
    }
    expect(chunks).toBeGreaterThan(1);
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });

  it('answers 403 to another tenant on every log route, before reading its query', async () => {
    for (const route of LOG_ROUTES) {
      const path = route.path.replace('{tenant}', tenant);
      for (const query of ['', `?pod=${taskManagerPod}`, `?pod=${taskManagerPod}&tailLines=${MAX_TAIL_LINES + 1}`]) {
        const response = await get(`${path}${query}`, otherToken);
        expect(response.status, `${route.method} ${path}${query}`).toBe(403);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      }
    }
  });

  it('caps tailLines and since, naming each field, value and rule in one 400', async () => {
    const response = await get(
      logsPath({ pod: taskManagerPod, tailLines: String(MAX_TAIL_LINES + 1), since: '25h' }),
      acmeToken,
    );
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; details: { issues: unknown[] } } };
    expect(error.code).toBe('invalid_request');
    expect(error.details.issues).toEqual([
      { field: 'tailLines', value: String(MAX_TAIL_LINES + 1), rule: `an integer from 1 to ${MAX_TAIL_LINES}` },
      expect.objectContaining({ field: 'since', value: '25h' }),
    ]);
    const atCap = await get(
      logsPath({ pod: taskManagerPod, tailLines: String(MAX_TAIL_LINES), since: '24h' }),
      acmeToken,
    );
    expect(atCap.status).toBe(200);
    await atCap.text();
  });

  it('answers 404 for a pod that is not one of its cluster, and 400 for a container the pod does not have', async () => {
    const missing = await get(logsPath({ pod: 'kube-apiserver' }), acmeToken);
    expect(missing.status).toBe(404);
    const wrongContainer = await get(logsPath({ pod: taskManagerPod, container: 'jobmanager' }), acmeToken);
    expect(wrongContainer.status).toBe(400);
    expect(((await wrongContainer.json()) as { error: { details: unknown } }).error.details).toEqual({
      issues: [{ field: 'container', value: 'jobmanager', rule: 'one of taskmanager' }],
    });
  });

  it("shows Flink's latest exceptions in the job view once its TaskManager dies", async () => {
    const [taskManager] = pods(plane, tenant, 'taskmanager');
    const pids = await podProcesses(plane, taskManager!, /TaskManagerRunner/);
    expect(pids.length).toBe(1);
    process.kill(pids[0]!, 'SIGKILL');
    const job = await eventually('an exception in the job view', 180_000, async () => {
      const found = await plane.local.plane.jobs.getJob(acme, tenant, jobId);
      return found.exceptions.length > 0 ? found : undefined;
    });
    // Flink's own exception: its class name and the first line of its trace, not a stack dump.
    expect(job.exceptions[0]!.name).toMatch(/^[a-z]+(\.[a-zA-Z0-9_$]+)+$/);
    expect(job.exceptions[0]!.message).not.toContain('\n');
    expect(job.exceptions[0]!.message.length).toBeGreaterThan(0);
  }, 240_000);
});
