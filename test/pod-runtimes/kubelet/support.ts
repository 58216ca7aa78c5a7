import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerLaunch, ImageTable, ResourceReader } from '../../../local/kube-standin/node/pod-runtime.ts';
import type { JsonRecord, KubeObject } from '../../../local/kube-standin/objects.ts';
import { KubeletRuntime, type KubeletRuntimeOptions } from '../../../local/pod-runtimes/kubelet/kubelet-runtime.ts';

/**
 * Objects by group/resource/namespace/name with change notifications: what the stand-in's node agent hands the
 * runtime, without the API server (these tests drive the runtime directly).
 */
export class FakeResources implements ResourceReader {
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<(group: string, resource: string, object: KubeObject) => void>();

  put(resource: string, object: KubeObject): void {
    this.objects.set(`${resource}/${object.metadata.namespace}/${object.metadata.name}`, object);
    for (const listener of this.listeners) listener('', resource, object);
  }

  remove(resource: string, namespace: string, name: string): void {
    const object = this.objects.get(`${resource}/${namespace}/${name}`);
    this.objects.delete(`${resource}/${namespace}/${name}`);
    if (object) for (const listener of this.listeners) listener('', resource, object);
  }

  get(_group: string, resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(`${resource}/${namespace}/${name}`);
  }

  list(_group: string, resource: string, namespace?: string): KubeObject[] {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${resource}/${namespace === undefined ? '' : `${namespace}/`}`))
      .map(([, object]) => object);
  }

  subscribe(listener: (group: string, resource: string, object: KubeObject) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Images of the tests: `test/node` is the host's node binary, `test/broken` fails to resolve. */
export const testImages: ImageTable = {
  async resolve(_pod: KubeObject, container: JsonRecord): Promise<ContainerLaunch> {
    if (container.image === 'test/node') return { command: process.execPath, args: [], env: { NODE_ENV: 'test' } };
    throw new Error(`image "${String(container.image)}" is not in the test image table`);
  },
};

let podCounter = 0;

/** A pod running `node -e script` as uid/gid 9999, one container named `main`, grace 2 s. */
export function nodePod(
  name: string,
  script: string,
  options: { namespace?: string; labels?: Record<string, string>; container?: JsonRecord; spec?: JsonRecord } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? 'tenant-a',
      uid: `uid-${name}-${++podCounter}`,
      labels: options.labels ?? { app: name },
    },
    spec: {
      nodeName: 'test-node',
      terminationGracePeriodSeconds: 2,
      securityContext: { runAsUser: 9999, runAsGroup: 9999, fsGroup: 9999 },
      containers: [{ name: 'main', image: 'test/node', args: ['-e', script], ...options.container }],
      ...options.spec,
    },
  };
}

/** A kubelet runtime on its own pod CIDR and data dir, with statuses collected per pod. */
export async function startTestRuntime(
  podCidr: string,
  options: Partial<KubeletRuntimeOptions> = {},
): Promise<{
  runtime: KubeletRuntime;
  resources: FakeResources;
  statuses: Map<string, JsonRecord[]>;
  events: string[];
  dataDir: string;
  cleanup: () => Promise<void>;
}> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'kubelet-test-')));
  const resources = new FakeResources();
  const runtime = await KubeletRuntime.start({
    images: testImages,
    resources,
    dataDir,
    podCidr,
    nodeName: 'test-node',
    backOff: { initialMs: 500, maxMs: 2_000 },
    retryMs: 300,
    ...options,
  }).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  const statuses = new Map<string, JsonRecord[]>();
  const events: string[] = [];
  runtime.onPodStatus((namespace, name, _uid, status) => {
    const key = `${namespace}/${name}`;
    statuses.set(key, [...(statuses.get(key) ?? []), status]);
  });
  runtime.onEvent((namespace, name, _uid, event) => {
    events.push(`${namespace}/${name} ${event.reason} ${event.message}`);
  });
  return {
    runtime,
    resources,
    statuses,
    events,
    dataDir,
    cleanup: async () => {
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value that is not undefined/false, or fails with the last error after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function containerStatus(status: JsonRecord | undefined, name = 'main'): JsonRecord | undefined {
  const list = Array.isArray(status?.containerStatuses) ? (status.containerStatuses as JsonRecord[]) : [];
  return list.find((c) => c.name === name);
}

export function isReady(status: JsonRecord | undefined): boolean {
  const conditions = Array.isArray(status?.conditions) ? (status.conditions as JsonRecord[]) : [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** An HTTP GET from the root namespace (or anywhere), the body as text. */
export async function httpGet(url: string, timeoutMs = 2_000): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return response.text();
}

/** A node script: an HTTP server on 0.0.0.0:port that answers `reply` (evaluated per request). */
export function httpServerScript(port: number, reply = 'require("os").hostname()'): string {
  return `require('http').createServer((req, res) => res.end(String(${reply}))).listen(${port}, '0.0.0.0', () => console.log('listening on ${port}'));`;
}
