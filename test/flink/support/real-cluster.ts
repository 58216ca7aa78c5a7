import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { KubeObject } from '../../../local/kube-standin/objects.ts';
import type { KubeletRuntime } from '../../../local/pod-runtimes/kubelet/kubelet-runtime.ts';
import type { IngressPlane } from '../../ingress/support/ingress-plane.ts';
import { vhostRequest } from '../../ingress/support/vhost-client.ts';

const run = promisify(execFile);

/** The tenant's Flink REST API through its UI vhost, with the tenant's own token, as a user reaches it. */
export function vhostFlink(plane: IngressPlane, tenant: string, token: string) {
  const host = plane.vhost(tenant);
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const json = body === undefined ? undefined : JSON.stringify(body);
    const response = await vhostRequest(plane.port, path, {
      method,
      host,
      headers: json === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(json === undefined ? {} : { body: json }),
    });
    return response;
  };
  return {
    call,
    /** GET a path; the parsed JSON when 2xx, else undefined (a JobManager that is starting answers 5xx). */
    async get<T>(path: string): Promise<T | undefined> {
      const response = await call('GET', path).catch(() => undefined);
      return response && response.status < 300 ? (response.json() as T) : undefined;
    },
    /** `POST /jars/upload`, multipart as the Flink UI sends it; answers the jar id. */
    async uploadJar(jarPath: string): Promise<string> {
      const form = new FormData();
      form.append('jarfile', new Blob([await readFile(jarPath)]), basename(jarPath));
      const encoded = new Request('http://multipart.invalid/', { method: 'POST', body: form });
      const bytes = Buffer.from(await encoded.arrayBuffer());
      const response = await vhostRequest(plane.port, '/jars/upload', {
        method: 'POST',
        host,
        headers: { ...headers, 'content-type': encoded.headers.get('content-type')!, 'content-length': bytes.length },
        body: Readable.from([bytes]),
      });
      if (response.status !== 200) throw new Error(`upload answered ${response.status}: ${response.text()}`);
      return basename(response.json().filename as string);
    },
  };
}

/** Runs the reconciler until the tenant's cluster is in `state`; answers the cluster view. */
export async function waitForCluster(plane: IngressPlane, tenant: string, state: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await plane.local.plane.reconcile();
    const view = (await plane.api('GET', `/v1/tenants/${tenant}/flink-cluster`)).body;
    if (view?.state === state) return view;
    if (Date.now() > deadline) throw new Error(`${tenant} is ${JSON.stringify(view)}, not ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Polls `probe` until it answers something other than undefined. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The tenant's pods of one component (`jobmanager`, `taskmanager`, `zookeeper-proxy`), not being deleted. */
export function pods(plane: IngressPlane, tenant: string, component: string): KubeObject[] {
  return plane.local
    .kube!.objects()
    .filter(
      (object) =>
        object.kind === 'Pod' &&
        object.metadata.namespace === `tenant-${tenant}` &&
        object.metadata.labels?.['app.kubernetes.io/component'] === component &&
        !object.metadata.deletionTimestamp,
    );
}

/** Host process ids of the processes running in a pod (its network namespace), whose command line matches. */
export async function podProcesses(plane: IngressPlane, pod: KubeObject, match: RegExp): Promise<number[]> {
  const kubelet = plane.local.kube!.podRuntime as KubeletRuntime;
  const network = kubelet.podNetwork(pod.metadata.namespace!, pod.metadata.name!);
  if (!network) return [];
  const { stdout } = await run('ip', ['netns', 'pids', network.netns]);
  const found: number[] = [];
  for (const pid of stdout.split('\n').filter(Boolean).map(Number)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (match.test(cmdline.replaceAll('\0', ' '))) found.push(pid);
  }
  return found;
}

/** Every process whose command line matches, anywhere on the machine (to prove none is left). */
export async function machineProcesses(match: RegExp): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (match.test(cmdline.replaceAll('\0', ' '))) found.push(Number(entry));
  }
  return found;
}

/** A container's log as `kubectl logs` reads it, through the stand-in's pods/log API. */
export async function podLog(plane: IngressPlane, pod: KubeObject, container: string): Promise<string> {
  const kube = plane.local.kube!;
  const response = await fetch(
    `${kube.url}/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/log?container=${container}`,
    { headers: { authorization: `Bearer ${kube.token}` } },
  );
  return response.text();
}
