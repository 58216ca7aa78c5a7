import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../../functions/core/naming.ts';
import { derive } from '../../local/local-control-plane.ts';
import { cacheDir } from '../../local/maven/resolve.ts';
import { freePort } from '../../local/net.ts';
import { networkInstanceId } from '../../local/pod-runtimes/kubelet/network.ts';
import { KUBECTL } from '../support/kubectl.ts';
import { connectZooKeeper } from '../support/zookeeper-client.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

interface StartOptions {
  readonly adminToken?: string;
  /** Added to the environment: `FLINKPLANE_PODS`, `FLINKPLANE_POD_CIDR`, … (none of them is inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /** Runs the server as this user and group id instead of the test's own, through `setpriv`. */
  readonly user?: number;
}

/** `npm start`'s process (tsx local/main.ts) on a free port with the given data dir; resolves when it has printed its banner. */
async function start(dataDir: string, options: StartOptions = {}): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), FLINKPLANE_DATA_DIR: dataDir };
  for (const name of [
    'FLINKPLANE_ADMIN_TOKEN',
    'KUBECONFIG',
    'FLINKPLANE_KUBECONFIG',
    'FLINKPLANE_PODS',
    'FLINKPLANE_POD_CIDR',
  ])
    delete env[name];
  if (options.adminToken) env.FLINKPLANE_ADMIN_TOKEN = options.adminToken;
  Object.assign(env, options.env);
  const tsx = join(REPO, 'node_modules', '.bin', 'tsx');
  const [file, args] =
    options.user === undefined
      ? [tsx, ['local/main.ts']]
      : [
          'setpriv',
          [`--reuid=${options.user}`, `--regid=${options.user}`, '--clear-groups', '--', tsx, 'local/main.ts'],
        ];
  const child = spawn(file, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!text.includes('Flinkplane is running at')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => text };
}

/** Sends Ctrl-C's SIGINT and answers the exit code; SIGKILL if the server has not exited 30 s later. */
async function interrupt(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  const timer = setTimeout(() => started.child.kill('SIGKILL'), 30_000);
  try {
    return await started.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Processes whose command line mentions the data dir (ZooKeeper's JVM reads its config from there). */
async function processesUsing(dataDir: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((line) => line.includes(dataDir) && !line.includes('ps -eo'));
}

async function cli(url: string, token: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(join(REPO, 'node_modules', '.bin', 'tsx'), ['local/cli/main.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, FLINKPLANE_URL: url, FLINKPLANE_TOKEN: token },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** What these checks need of the pods: only their objects, so simulated ones, ready in ~50 ms. */
const SIMULATED_PODS = { FLINKPLANE_PODS: 'simulated' };

beforeAll(async () => {
  // `npm start` builds the console first; these tests start the server directly, so they build it the same way.
  await run(join(REPO, 'node_modules', '.bin', 'tsx'), ['console/build.ts'], { cwd: REPO });
});

describe('npm start: the local control plane on embedded defaults (Kubernetes stand-in, simulated pods)', () => {
  let dataDir: string;
  let first: Started;
  let adminToken: string;
  let acmeToken: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-start-'));
    first = await start(dataDir, { env: SIMULATED_PODS });
  });
  afterAll(async () => {
    if (first?.child.exitCode === null) first.child.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URL, the operator token and what each part runs on', () => {
    const output = first.output();
    expect(output).toContain(`Flinkplane is running at ${first.url}`);
    const match = /Operator token: (\S+) \(kept in (\S+)\)/.exec(output);
    expect(match).not.toBeNull();
    adminToken = match![1]!;
    expect(readFileSync(match![2]!, 'utf8').trim()).toBe(adminToken);
    expect(output).toMatch(/dynamodb:\s+dynalite at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/s3:\s+s3rver at/);
    expect(output).toMatch(/zookeeper:\s+ZooKeeper 3\.8\.\d+ at 127\.0\.0\.1:\d+/);
    expect(output).toMatch(/^Pods:\s+simulated, as FLINKPLANE_PODS asks$/m);
    expect(output).toMatch(
      /kubernetes:\s+Kubernetes stand-in \(simulated API\) at \S+; pods are simulated \(nothing runs\)/,
    );
    expect(output).toMatch(/^Flink UI:\s+http:\/\/flink-cluster-ui-<tenant>\.flink\.localhost:\d+ /m);
    expect(output).toContain(join(dataDir, 'kubeconfig'));
  });

  it('serves the API and the console on one port', async () => {
    const health = (await (await fetch(`${first.url}/healthz`)).json()) as {
      components: Record<string, { status: string; simulated?: boolean; pods?: string }>;
    };
    expect(health.components.zookeeper!.status).toBe('ok');
    expect(health.components.kubernetes).toMatchObject({ status: 'ok', simulated: true, pods: 'simulated' });
    const page = await fetch(`${first.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script');
  });

  it('drives registration, deploy, status and errors through the CLI', async () => {
    const registered = await cli(first.url, adminToken, 'tenants', 'register', 'acme', '--json');
    expect(registered.code).toBe(0);
    acmeToken = JSON.parse(registered.stdout).token;

    const deployed = await cli(first.url, acmeToken, 'deploy', '--tenant', 'acme', '--tm-instances', '3');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(/TaskManagers\s+3 × 0\.3 CPU, 3072 MB/);
    // The Flink UI is a vhost on npm start's own port, over HTTP.
    expect(deployed.stdout).toContain(`http://flink-cluster-ui-acme.flink.localhost:${new URL(first.url).port}`);

    const invalid = await cli(first.url, acmeToken, 'deploy', '--tenant', 'acme', '--tm-memory', '512');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('Error 400 invalid_cluster_spec');
    expect(invalid.stderr).toContain('taskManager.memoryMB: below_minimum (value 512; minimum 1024 MB)');

    const foreign = await cli(first.url, acmeToken, 'tenants', 'list');
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('Error 403 forbidden');

    const deadline = Date.now() + 20_000;
    let status = await cli(first.url, acmeToken, 'status', '--tenant', 'acme', '--json');
    while (JSON.parse(status.stdout).state !== 'RUNNING' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = await cli(first.url, acmeToken, 'status', '--tenant', 'acme', '--json');
    }
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'RUNNING', haClusterId: 'acme-ha1' });

    const listed = await cli(first.url, adminToken, 'tenants', 'list');
    expect(listed.stdout).toMatch(/acme\s+RUNNING/);
  });

  it("renders the tenant's ZooKeeper proxy against this plane's ZooKeeper and creates the tenant's chroot", async () => {
    const health = (await (await fetch(`${first.url}/healthz`)).json()) as {
      components: { zookeeper: { runsOn: string } };
    };
    const server = health.components.zookeeper.runsOn.replace(/^ZooKeeper \S+ at /, '');
    const { stdout } = await run(KUBECTL, [
      ...['--kubeconfig', join(dataDir, 'kubeconfig'), '-n', 'tenant-acme'],
      ...['get', 'deployment', 'zookeeper-proxy', '-o', 'json'],
    ]);
    const args = (JSON.parse(stdout) as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec
      .template.spec.containers[0]!.args;
    expect(args.slice(args.indexOf('--upstream'), args.indexOf('--upstream') + 4)).toEqual([
      '--upstream',
      server,
      '--chroot',
      '/flinkplane/tenants/acme',
    ]);

    const platformKey = readFileSync(join(dataDir, 'platform-key'), 'utf8').trim();
    const controlPlane = await connectZooKeeper(server, {
      user: 'flinkplane',
      password: derive(platformKey, 'zookeeper-admin'),
    });
    try {
      expect(await controlPlane.exists('/flinkplane/tenants/acme')).toBe(true);
    } finally {
      controlPlane.close();
    }
  });

  it('lets kubectl list the tenant objects through the written kubeconfig', async () => {
    const { stdout } = await run(KUBECTL, ['--kubeconfig', join(dataDir, 'kubeconfig'), 'get', 'deployments', '-A']);
    expect(stdout).toMatch(/tenant-acme\s+flink-cluster-jobmanager\s+1\/1/);
    expect(stdout).toMatch(/tenant-acme\s+flink-cluster-taskmanager\s+3\/3/);
  });

  it('stops every child on Ctrl-C and keeps every tenant, cluster and object across a restart', async () => {
    expect((await processesUsing(dataDir)).length).toBeGreaterThan(0);
    expect(await interrupt(first)).toBe(0);
    expect(await processesUsing(dataDir)).toEqual([]);

    const second = await start(dataDir, { env: SIMULATED_PODS });
    try {
      expect(second.output()).toContain(`Operator token: ${adminToken}`);
      const status = await cli(second.url, acmeToken, 'status', '--tenant', 'acme', '--json');
      expect(JSON.parse(status.stdout)).toMatchObject({
        state: 'RUNNING',
        generation: 1,
        spec: { taskManager: { instances: 3 } },
      });
      const { stdout } = await run(KUBECTL, [
        '--kubeconfig',
        join(dataDir, 'kubeconfig'),
        'get',
        'pvc',
        '-n',
        'tenant-acme',
      ]);
      expect(stdout).toContain('faas-volume');
      const destroyed = await cli(second.url, acmeToken, 'destroy', '--tenant', 'acme');
      expect(destroyed.stdout).toMatch(/State\s+DESTROYED/);
    } finally {
      await interrupt(second);
    }
  });
});

describe('npm start with real pods (as root): Flink and the proxies as processes in network namespaces', () => {
  // A CIDR of this suite's own: the bridge, the namespaces and the veths are named after it.
  const CIDR = '10.254.0.0/24';
  const id = networkInstanceId(CIDR);
  let dataDir: string | undefined;
  let server: Started | undefined;

  afterAll(async () => {
    if (server?.child.exitCode === null) await interrupt(server);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the pods as real processes and leaves no process, namespace or bridge of its network on Ctrl-C', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-start-pods-'));
    server = await start(dataDir, { env: { FLINKPLANE_POD_CIDR: CIDR } });
    const output = server.output();
    expect(output).toMatch(/^Pods:\s+real processes$/m);
    expect(output).toContain(`pods run as real processes on the bridge 10.254.0.1 (${CIDR})`);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
      components: { kubernetes: { pods: string }; zookeeper: { runsOn: string } };
    };
    expect(health.components.kubernetes.pods).toBe('kubelet');
    expect(linkNames(`fp${id}`)).toEqual([`fp${id}`]);

    // The tenant's proxy, a process in a namespace of its own on the bridge, confines Flink to the tenant's chroot.
    const adminToken = /Operator token: (\S+)/.exec(output)![1]!;
    const registered = await cli(server.url, adminToken, 'tenants', 'register', 'acme', '--json');
    const acmeToken = JSON.parse(registered.stdout).token as string;
    expect((await cli(server.url, acmeToken, 'deploy', '--tenant', 'acme', '--tm-instances', '1')).code).toBe(0);
    const proxyIp = await readyPodIp(dataDir, 'tenant-acme', 'app.kubernetes.io/component=zookeeper-proxy');
    expect(proxyIp).toMatch(/^10\.254\.0\.\d+$/);
    const tenant = await connectZooKeeper(`${proxyIp}:${PORTS.zookeeperProxy}`);
    const zookeeperServer = health.components.zookeeper.runsOn.replace(/^ZooKeeper \S+ at /, '');
    expect(zookeeperServer).toMatch(/^10\.254\.0\.1:\d+$/);
    const platformKey = readFileSync(join(dataDir, 'platform-key'), 'utf8').trim();
    const controlPlane = await connectZooKeeper(zookeeperServer, {
      user: 'flinkplane',
      password: derive(platformKey, 'zookeeper-admin'),
    });
    try {
      // Flink's view: no identity of its own, '/' is the tenant's chroot.
      await tenant.create('/probe', 'through-the-proxy');
      expect(await controlPlane.getData('/flinkplane/tenants/acme/probe')).toBe('through-the-proxy');
      expect(await tenant.exists('/flinkplane')).toBe(false);
    } finally {
      tenant.close();
      controlPlane.close();
    }

    const namespaces = netnsNames(`fp${id}-`);
    const pids = namespaces.flatMap(netnsPids);
    expect(namespaces.length).toBeGreaterThan(0);
    expect(pids.length).toBeGreaterThan(0);

    expect(await interrupt(server)).toBe(0);
    expect(netnsNames(`fp${id}`)).toEqual([]);
    expect([...linkNames(`fp${id}`), ...linkNames(`fv${id}`)]).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await processesUsing(dataDir)).toEqual([]);
  }, 180_000);
});

describe('npm start as a plain user: simulated pods, and why', () => {
  const NOBODY = 65534;
  let dataDir: string | undefined;
  let server: Started | undefined;

  afterAll(async () => {
    if (server?.child.exitCode === null) await interrupt(server);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('says in one line that pods are simulated because it lacks CAP_NET_ADMIN, and its banner says SIMULATED', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-start-nobody-'));
    const home = join(dataDir, 'home');
    mkdirSync(home);
    chownSync(dataDir, NOBODY, NOBODY);
    chownSync(home, NOBODY, NOBODY);
    server = await start(dataDir, {
      user: NOBODY,
      // ZooKeeper from the cache root filled (world-readable), so no Maven run is needed as nobody.
      env: { HOME: home, FLINKPLANE_CACHE_DIR: cacheDir() },
    });
    const output = server.output();
    const reason = 'this process lacks CAP_NET_ADMIN (run as root to get real pods)';
    expect(output.split('\n').filter((line) => line.startsWith('Pods are simulated:'))).toEqual([
      `Pods are simulated: ${reason}.`,
    ]);
    const banner = output.split('\n').find((line) => line.startsWith('Pods:'));
    expect(banner?.replace(/^Pods:\s+/, '')).toBe(`SIMULATED: nothing runs Flink, because ${reason}`);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
      components: { kubernetes: { pods: string }; zookeeper: { status: string } };
    };
    expect(health.components.kubernetes.pods).toBe('simulated');
    expect(health.components.zookeeper.status).toBe('ok');

    expect(await interrupt(server)).toBe(0);
    expect(await processesUsing(dataDir)).toEqual([]);
  });
});

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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The IP of the first ready Pod matching `selector`, once there is one (real pods take seconds). */
async function readyPodIp(dataDir: string, namespace: string, selector: string): Promise<string> {
  type Pod = { status?: { podIP?: string; conditions?: { type: string; status: string }[] } };
  const deadline = Date.now() + 90_000;
  let pods: Pod[] = [];
  while (Date.now() < deadline) {
    const { stdout } = await run(KUBECTL, [
      ...['--kubeconfig', join(dataDir, 'kubeconfig'), '-n', namespace],
      ...['get', 'pods', '-l', selector, '-o', 'json'],
    ]);
    pods = (JSON.parse(stdout) as { items: Pod[] }).items;
    const ready = pods.find((pod) =>
      pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    );
    if (ready?.status?.podIP) return ready.status.podIP;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no ready pod ${selector} in ${namespace}: ${JSON.stringify(pods)}`);
}
