import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonRecord } from '../../../local/kube-standin/objects.ts';
import { checkNetworkNamespaceSupport, networkInstanceId } from '../../../local/pod-runtimes/kubelet/network.ts';
import { spawnTypeScript } from '../../../local/typescript-process.ts';
import {
  containerStatus,
  eventually,
  httpGet,
  httpServerScript,
  isReady,
  nodePod,
  startTestRuntime,
} from './support.ts';

const CIDR = '10.231.0.0/16';
const GATEWAY = '10.231.0.1';

/** Answers `/?url=…` with what a fetch from inside the pod got: the pod's view of names and addresses. */
const FETCHER = `require('http').createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x').searchParams.get('url');
  try { const r = await fetch(url, { signal: AbortSignal.timeout(2000) }); res.end(await r.text()); }
  catch (e) { res.statusCode = 502; res.end(String(e.cause?.code ?? e.message)); }
}).listen(8081, '0.0.0.0');`;

function netnsNames(prefix: string): string[] {
  const list = JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as {
    name: string;
  }[];
  return list.map((ns) => ns.name).filter((name) => name.startsWith(prefix));
}

function linkNames(prefix: string): string[] {
  const list = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[];
  return list.map((link) => link.ifname).filter((name) => name.startsWith(prefix));
}

function netnsPids(netns: string): number[] {
  return execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
}

describe("the kubelet runtime's pod network", () => {
  let env: Awaited<ReturnType<typeof startTestRuntime>>;
  let gatewayServer: Server;

  beforeAll(async () => {
    env = await startTestRuntime(CIDR);
    gatewayServer = createServer((_req, res) => res.end('from the root namespace'));
    await new Promise<void>((resolve) => gatewayServer.listen(0, GATEWAY, resolve));
  });

  afterAll(async () => {
    gatewayServer?.close();
    await env?.cleanup();
  });

  const ipOf = (name: string) =>
    eventually(() => {
      const status = env.runtime.getPodStatus('tenant-a', name);
      return isReady(status) ? (status?.podIP as string) : undefined;
    });

  it('gives two pods binding the same port their own addresses, each reachable from the root namespace', async () => {
    await env.runtime.createPod(nodePod('twin-1', httpServerScript(8080)));
    await env.runtime.createPod(nodePod('twin-2', httpServerScript(8080)));
    const [ip1, ip2] = await Promise.all([ipOf('twin-1'), ipOf('twin-2')]);
    expect(ip1).not.toBe(ip2);
    expect(ip1.startsWith('10.231.')).toBe(true);
    expect(await eventually(() => httpGet(`http://${ip1}:8080/`))).toBe('twin-1');
    expect(await eventually(() => httpGet(`http://${ip2}:8080/`))).toBe('twin-2');
  });

  it("resolves Service names through the pod's hosts file and reaches a server on the gateway address", async () => {
    const port = (gatewayServer.address() as { port: number }).port;
    env.resources.put('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'tenant-a' },
      spec: { selector: { app: 'web' }, ports: [{ port: 8080 }] },
    });
    // Without a selector, a Service resolves to its Endpoints: here a server outside the pod network.
    env.resources.put('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'outside', namespace: 'platform' },
      spec: { ports: [{ port }] },
    });
    env.resources.put('endpoints', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'outside', namespace: 'platform' },
      subsets: [{ addresses: [{ ip: GATEWAY }], ports: [{ port }] }],
    });
    await env.runtime.createPod(nodePod('web-1', httpServerScript(8080), { labels: { app: 'web' } }));
    await env.runtime.createPod(nodePod('client', FETCHER));
    const client = await ipOf('client');
    await ipOf('web-1');
    const fetchFromPod = (url: string) => httpGet(`http://${client}:8081/?url=${encodeURIComponent(url)}`, 5_000);

    expect(await eventually(() => fetchFromPod('http://web:8080/').then((t) => t === 'web-1' && t))).toBe('web-1');
    expect(await fetchFromPod('http://web.tenant-a.svc.cluster.local:8080/')).toBe('web-1');
    expect(await fetchFromPod(`http://${GATEWAY}:${port}/`)).toBe('from the root namespace');
    expect(await fetchFromPod(`http://outside.platform.svc:${port}/`)).toBe('from the root namespace');
    expect(await fetchFromPod('http://client:8081/?url=http://web:8080/')).toBe('web-1');
  });

  it('rewrites hosts files in place as the selected pods come and go', async () => {
    const status = env.runtime.getPodStatus('tenant-a', 'client') as JsonRecord;
    const hostsPath = `/etc/netns/${env.runtime.podNetwork('tenant-a', 'client')?.netns}/hosts`;
    const inode = statSync(hostsPath).ino;
    const web1 = env.runtime.getPodStatus('tenant-a', 'web-1')?.podIP as string;
    expect(await readFile(hostsPath, 'utf8')).toContain(`${web1}\tweb web.tenant-a`);

    await env.runtime.createPod(nodePod('web-2', httpServerScript(8080), { labels: { app: 'web' } }));
    const web2 = await ipOf('web-2');
    await eventually(async () => (await readFile(hostsPath, 'utf8')).includes(`${web2}\tweb `));
    await env.runtime.deletePod(nodePod('web-1', ''), 1);
    await eventually(async () => !(await readFile(hostsPath, 'utf8')).includes(`${web1}\t`));
    expect(statSync(hostsPath).ino).toBe(inode);
    expect(await readFile(hostsPath, 'utf8')).toContain(`${status.podIP}\tclient`);
  });

  it("refuses a pod CIDR that overlaps the host's own addresses", async () => {
    await expect(startTestRuntime('127.0.0.0/16')).rejects.toThrow(
      /pod CIDR 127\.0\.0\.0\/16 overlaps the host's .*127\.0\.0\.\d+.* choose a CIDR the host does not use/,
    );
  });
});

describe("the kubelet runtime's lifecycle on the host", () => {
  it('removes its namespaces, veths and bridge on stop', async () => {
    const cidr = '10.232.0.0/24';
    const id = networkInstanceId(cidr);
    const env = await startTestRuntime(cidr);
    try {
      await env.runtime.createPod(nodePod('short-lived', 'setInterval(() => {}, 1000)'));
      await eventually(() => containerStatus(env.runtime.getPodStatus('tenant-a', 'short-lived'))?.started);
      expect(netnsNames(`fp${id}-`)).toHaveLength(1);
      expect(linkNames(`fv${id}`)).toHaveLength(1);
      expect(linkNames(`fp${id}`)).toEqual([`fp${id}`]);
    } finally {
      await env.cleanup();
    }
    expect(netnsNames(`fp${id}-`)).toEqual([]);
    expect(linkNames(`fv${id}`)).toEqual([]);
    expect(linkNames(`fp${id}`)).toEqual([]);
  });

  it('leaves no pod process behind when killed with SIGKILL, and the next start removes what it left', async () => {
    const cidr = '10.233.0.0/24';
    const id = networkInstanceId(cidr);
    const dataDir = await mkdtemp(join(tmpdir(), 'kubelet-test-'));
    const child = spawnTypeScript(fileURLToPath(new URL('./crash-child.ts', import.meta.url)), [cidr, dataDir]);
    try {
      await new Promise<void>((resolve, reject) => {
        child.child.once('message', () => resolve());
        child.child.once('exit', (code) =>
          reject(new Error(`the runtime's process exited (${code}): ${child.output()}`)),
        );
      });
      const [netns] = netnsNames(`fp${id}-`);
      expect(netns).toBeDefined();
      const pids = netnsPids(netns!);
      expect(pids.length).toBeGreaterThan(0);
      // A pid is the same process only with the same start time: on a busy machine a dead one's pid is soon reused.
      const startTime = (pid: number) => readFileSyncSafe(`/proc/${pid}/stat`).split(') ')[1]?.split(' ')[19];
      const started = new Map(pids.map((pid) => [pid, startTime(pid)]));

      child.child.kill('SIGKILL');
      await eventually(() => netnsPids(netns!).length === 0, 10_000);
      const alive = pids.filter((pid) => {
        const stat = readFileSyncSafe(`/proc/${pid}/stat`);
        return stat !== '' && !stat.includes(') Z ') && startTime(pid) === started.get(pid);
      });
      expect(alive).toEqual([]);
      expect(netnsNames(`fp${id}-`)).toEqual([netns]);
    } finally {
      child.child.kill('SIGKILL');
    }
    const env = await startTestRuntime(cidr, { dataDir });
    try {
      expect(netnsNames(`fp${id}-`)).toEqual([]);
      expect(linkNames(`fv${id}`)).toEqual([]);
      await env.runtime.createPod(nodePod('after-crash', httpServerScript(8080)));
      const ip = await eventually(() => {
        const status = env.runtime.getPodStatus('tenant-a', 'after-crash');
        return isReady(status) ? (status?.podIP as string) : undefined;
      });
      expect(await eventually(() => httpGet(`http://${ip}:8080/`))).toBe('after-crash');
    } finally {
      await env.cleanup();
    }
  });
});

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('the privilege check', () => {
  it('tells that a root process can create network namespaces', async () => {
    expect(await checkNetworkNamespaceSupport()).toEqual({ ok: true });
  });

  it('tells a process without CAP_NET_ADMIN why it cannot', () => {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
    const entry = fileURLToPath(new URL('./privilege-child.ts', import.meta.url));
    const answer = execFileSync(
      'setpriv',
      ['--reuid=9999', '--regid=9999', '--clear-groups', '--', process.execPath, '--import', loader, entry],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(answer)).toEqual({
      ok: false,
      reason: 'this process lacks CAP_NET_ADMIN (run as root to get real pods)',
    });
  });
});
