import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derive } from '../../local/local-control-plane.ts';
import { freePort } from '../../local/net.ts';
import { connectZooKeeper } from '../support/zookeeper-client.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `npm start`'s process (tsx local/main.ts) on a free port with the given data dir; resolves when it has printed its banner. */
async function start(dataDir: string, adminToken?: string): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), FLINKPLANE_DATA_DIR: dataDir };
  delete env.FLINKPLANE_ADMIN_TOKEN;
  delete env.KUBECONFIG;
  delete env.FLINKPLANE_KUBECONFIG;
  if (adminToken) env.FLINKPLANE_ADMIN_TOKEN = adminToken;
  const child = spawn(join(REPO, 'node_modules', '.bin', 'tsx'), ['local/main.ts'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

describe('npm start: the local control plane on embedded defaults (Kubernetes stand-in)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flinkplane-start-'));
  let first: Started;
  let adminToken: string;
  let acmeToken: string;

  beforeAll(async () => {
    // `npm start` builds the console first; this test starts the server directly, so it builds it the same way.
    await run(join(REPO, 'node_modules', '.bin', 'tsx'), ['console/build.ts'], { cwd: REPO });
    first = await start(dataDir);
  });
  afterAll(async () => {
    if (first?.child.exitCode === null) first.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
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
    expect(output).toMatch(/kubernetes:\s+Kubernetes stand-in \(simulated\)/);
    expect(output).toContain(join(dataDir, 'kubeconfig'));
  });

  it('serves the API and the console on one port', async () => {
    const health = (await (await fetch(`${first.url}/healthz`)).json()) as {
      components: Record<string, { status: string }>;
    };
    expect(health.components.zookeeper!.status).toBe('ok');
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
    expect(deployed.stdout).toContain('https://flink-cluster-ui-acme.flink.localhost');

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

  it('runs an in-process ZooKeeper proxy for the deployed tenant that confines it to its chroot', async () => {
    type Health = { components: { zookeeper: { runsOn: string; tenantProxies: Record<string, string> } } };
    let health: Health;
    const deadline = Date.now() + 10_000;
    do {
      health = (await (await fetch(`${first.url}/healthz`)).json()) as Health;
      if (health.components.zookeeper.tenantProxies.acme) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < deadline);
    const proxyAddress = health.components.zookeeper.tenantProxies.acme!;
    expect(proxyAddress).toMatch(/^127\.0\.0\.1:\d+$/);

    // Flink's view: no identity of its own, '/' is the tenant's chroot.
    const tenant = await connectZooKeeper(proxyAddress);
    const server = health.components.zookeeper.runsOn.replace(/^ZooKeeper \S+ at /, '');
    const platformKey = readFileSync(join(dataDir, 'platform-key'), 'utf8').trim();
    const controlPlane = await connectZooKeeper(server, {
      user: 'flinkplane',
      password: derive(platformKey, 'zookeeper-admin'),
    });
    try {
      await tenant.create('/probe', 'through-the-proxy');
      expect(await controlPlane.getData('/flinkplane/tenants/acme/probe')).toBe('through-the-proxy');
      expect(await tenant.exists('/flinkplane')).toBe(false);
    } finally {
      tenant.close();
      controlPlane.close();
    }
  });

  it('lets kubectl list the tenant objects through the written kubeconfig', async () => {
    const { stdout } = await run('kubectl', ['--kubeconfig', join(dataDir, 'kubeconfig'), 'get', 'deployments', '-A']);
    expect(stdout).toMatch(/tenant-acme\s+flink-cluster-jobmanager\s+1\/1/);
    expect(stdout).toMatch(/tenant-acme\s+flink-cluster-taskmanager\s+3\/3/);
  });

  it('stops every child on Ctrl-C and keeps every tenant, cluster and object across a restart', async () => {
    expect((await processesUsing(dataDir)).length).toBeGreaterThan(0);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(await processesUsing(dataDir)).toEqual([]);

    const second = await start(dataDir);
    try {
      expect(second.output()).toContain(`Operator token: ${adminToken}`);
      const status = await cli(second.url, acmeToken, 'status', '--tenant', 'acme', '--json');
      expect(JSON.parse(status.stdout)).toMatchObject({
        state: 'RUNNING',
        generation: 1,
        spec: { taskManager: { instances: 3 } },
      });
      const { stdout } = await run('kubectl', [
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
      second.child.kill('SIGINT');
      await second.exited;
    }
  });
});
