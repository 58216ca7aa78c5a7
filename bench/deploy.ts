import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManifestRenderer } from '../cluster-templates/manifest-renderer.ts';
import { createKubernetesApplier } from '../functions/adapters/kubernetes-applier.ts';
import { digestId } from '../functions/adapters/zookeeper-namespaces.ts';
import { type ClusterSpec, validateClusterSpec } from '../functions/core/cluster-spec.ts';
import type { ManifestRenderer } from '../functions/core/control-plane.ts';
import { buildEffectiveCluster } from '../functions/core/effective-cluster.ts';
import { tenantNames as clusterNames } from '../functions/core/naming.ts';
import type { ClusterRecord, KubernetesApplier, KubernetesObserver } from '../functions/core/ports.ts';
import { createHttpServer } from '../local/http-server.ts';
import { type LocalControlPlane, startLocalControlPlane } from '../local/local-control-plane.ts';
import { resolveZooKeeper } from '../local/zookeeper-artifacts.ts';
import { type ApiClient, startApiClient } from './api-client.ts';
import type { Benchmark, BenchmarkOptions } from './main.ts';
import { elapsedMs, type Figures, forEachConcurrently, percentile, progress, round, sorted } from './report.ts';

const FULL_TENANTS = 1000;
const QUICK_TENANTS = 200;
const CONCURRENCY = 16;
/** Tenants deployed through both paths before measuring, so the JIT and the connection pools are warm. */
const WARM_UP_TENANTS = 32;
/** The deploy request body: every field at its default, so both paths render the same manifests. */
const SPEC = {};
/** The control plane's ports, as `startLocalControlPlane` names them for `wrap`. */
const PORTS = ['store', 'buckets', 'zookeeper', 'access', 'kubernetes'] as const;

/** The local stack (dynalite, s3rver, ZooKeeper, Kubernetes stand-in) behind a real HTTP server, with a client. */
export type BenchStack = {
  readonly local: LocalControlPlane;
  readonly url: string;
  readonly adminToken: string;
  /** Wall time spent inside each port's calls while `recordPorts` is on, in ms, by port name. */
  readonly portMs: Map<string, number>;
  recordPorts(on: boolean): void;
  /** The API client every request goes through, in a process of its own. */
  readonly client: ApiClient;
  /** Registers the tenants through the API (operator token), `concurrency` at a time; answers each tenant's token. */
  registerTenants(names: readonly string[], concurrency: number): Promise<Map<string, string>>;
  stop(): Promise<void>;
};

/** Starts the local control plane as `npm start` runs it, behind a Node HTTP server on a free loopback port. */
export async function startBenchStack(options: { readinessDelayMs?: number } = {}): Promise<BenchStack> {
  // The local plane would report ZooKeeper unavailable and every deploy would fail; a benchmark stops at once instead.
  await resolveZooKeeper();
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const errors: string[] = [];
  const portMs = new Map<string, number>();
  let recording = false;
  const local = await startLocalControlPlane({
    adminToken,
    platformKey: randomBytes(32).toString('hex'),
    readinessDelayMs: options.readinessDelayMs ?? 50,
    log: (message, context) => errors.push(`${message} ${JSON.stringify(context)}`),
    wrap: (name, port) => timed(port, (ms) => recording && portMs.set(name, (portMs.get(name) ?? 0) + ms)),
  });
  const server: Server = createHttpServer(local.handle, () => undefined);
  // The client's pooled connections sit idle while the raw phase runs; Node's 5 s default would close them under it.
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = await startApiClient().catch(async (error: unknown) => {
    server.close();
    await local.stop();
    throw error;
  });

  return {
    local,
    url,
    adminToken,
    portMs,
    client,
    recordPorts(on) {
      recording = on;
    },
    async registerTenants(names, concurrency) {
      const requests = names.map((name) => ({
        method: 'POST',
        path: '/v1/tenants',
        token: adminToken,
        body: { name },
        expect: 201,
      }));
      const { bodies } = await client.run(url, requests, concurrency, { keepBodies: true });
      return new Map(names.map((name, index) => [name, (JSON.parse(bodies[index]!) as { token: string }).token]));
    },
    async stop() {
      await client.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await local.stop();
      if (errors.length > 0) progress(`control plane logged ${errors.length} errors, first: ${errors[0]}`);
    },
  };
}

/** The port with every asynchronous method timed; `record` receives each call's wall time in ms. */
function timed<T extends object>(port: T, record: (ms: number) => void): T {
  return new Proxy(port, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.finally(() => record(elapsedMs(started)));
      };
    },
  });
}

/** Tenant names `<prefix>0001`…, valid tenant names that sort in creation order. */
export function tenantNames(prefix: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(from + i + 1).padStart(4, '0')}`);
}

/**
 * Deploys the tenants' clusters through the HTTP API from the client process, `concurrency` at a time; answers each
 * request's latency.
 */
export async function deployThroughApi(
  stack: BenchStack,
  tokens: ReadonlyMap<string, string>,
  tenants: readonly string[],
  concurrency: number,
): Promise<Float64Array> {
  const requests = tenants.map((tenant) => ({
    method: 'PUT',
    path: `/v1/tenants/${tenant}/flink-cluster`,
    token: tokens.get(tenant)!,
    body: SPEC,
    expect: 202,
  }));
  return (await stack.client.run(stack.url, requests, concurrency)).latencies;
}

/**
 * The baseline: what deploy does in Kubernetes and nothing else. The same renderer on the same effective cluster and
 * identity, applied by the same client-node applier to the same stand-in, at the same concurrency.
 */
function applyRaw(
  local: LocalControlPlane,
  applier: KubernetesApplier,
  tenants: readonly string[],
  concurrency: number,
): Promise<Float64Array> {
  return timedPerTenant(tenants, concurrency, async (tenant) => {
    await applier.apply(renderFirstDeploy(local, tenant));
  });
}

/** Runs `action` for each tenant, `concurrency` at a time; answers each one's wall time in ms. */
async function timedPerTenant(
  tenants: readonly string[],
  concurrency: number,
  action: (tenant: string) => Promise<void>,
): Promise<Float64Array> {
  const latencies = new Float64Array(tenants.length);
  await forEachConcurrently(tenants, concurrency, async (tenant, index) => {
    const started = performance.now();
    await action(tenant);
    latencies[index] = elapsedMs(started);
  });
  return latencies;
}

/**
 * The floor under any deploy that keeps the lifecycle's contract (issue [B]): only the round trips it cannot do
 * without, through the same adapters, in order, with no control-plane logic and no HTTP. The tenant read that
 * authenticates, the cluster read, the intent and a status record after each of the four steps (bucket, ZooKeeper
 * namespace, apply, observe), the bucket, the namespace, the apply, and observe's read of the pods.
 */
function deployFloor(
  local: LocalControlPlane,
  applier: KubernetesApplier & KubernetesObserver,
  tenants: readonly string[],
  concurrency: number,
): Promise<Float64Array> {
  return timedPerTenant(tenants, concurrency, async (tenant) => {
    const names = clusterNames(tenant, local.platform);
    await local.store.getTenant(tenant);
    let version = (await local.store.getCluster(tenant))?.version ?? 0;
    const record = (step: string): ClusterRecord => ({
      tenant,
      state: 'DEPLOYING',
      generation: 1,
      spec: baseline(local).spec,
      haEpoch: 1,
      previousHaClusterIds: [],
      operation: { kind: 'deploy', generation: 1, step, leaseUntil: new Date(Date.now() + 60_000).toISOString() },
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    version = await local.store.putCluster(record('intent'), version);
    await local.buckets.ensureBucket(names.bucket, tenant);
    version = await local.store.putCluster(record('bucket'), version);
    await local.zookeeper.ensureNamespace(names.zookeeperChroot, local.secrets.zookeeperIdentity(tenant));
    version = await local.store.putCluster(record('zookeeper'), version);
    const applied = await applier.apply(renderFirstDeploy(local, tenant));
    version = await local.store.putCluster(record('kubernetes'), version);
    await applier.observe(names.namespace, applied);
    await local.store.putCluster(record('observed'), version);
  });
}

const baselines = new WeakMap<LocalControlPlane, { spec: ClusterSpec; render: ManifestRenderer }>();

function baseline(local: LocalControlPlane): { spec: ClusterSpec; render: ManifestRenderer } {
  let found = baselines.get(local);
  if (!found) {
    const validation = validateClusterSpec(SPEC, local.platform);
    if (!validation.ok) throw new Error('the benchmark spec is invalid');
    found = {
      spec: validation.spec,
      render: createManifestRenderer({ controlPlaneAclId: digestId(local.zookeeperAdmin) }),
    };
    baselines.set(local, found);
  }
  return found;
}

/**
 * The stages deploy renders for a tenant's first deployment (HA epoch 1) of `SPEC`, with the renderer wired as
 * `startLocalControlPlane` wires it. The spec is validated once: validation is the control plane's work, rendering
 * the baseline's too.
 */
function renderFirstDeploy(local: LocalControlPlane, tenant: string) {
  const { spec, render } = baseline(local);
  return render(buildEffectiveCluster(tenant, spec, local.platform, 1), local.secrets.zookeeperIdentity(tenant));
}

/** Wall time, this process's CPU time and every request's latency of one path, over all rounds. */
type Phase = { latencies: number[]; ms: number; cpuMs: number };

async function measure(phase: Phase, action: () => Promise<Float64Array>): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  phase.latencies.push(...(await action()));
  phase.ms += elapsedMs(started);
  const used = process.cpuUsage(cpu);
  phase.cpuMs += (used.user + used.system) / 1000;
}

/** Deploy API against raw server-side apply of the same manifests, in alternating rounds on one local stack. */
export const deployBenchmark: Benchmark = {
  description: `deploy API (PUT flink-cluster over HTTP, ${FULL_TENANTS} tenants, concurrency ${CONCURRENCY}) vs raw server-side apply`,
  bars: [
    { figure: 'overheadRatio', label: 'control-plane overhead (wall, deploy/raw)', max: 1.25 },
    { figure: 'deploySeconds', label: `${FULL_TENANTS} tenants deployed`, max: 60, fullRunOnly: true },
  ],
  run: (options) => runDeploy(options),
};

/** The figures of one run; `sizes.tenants` overrides the number of tenants per path. */
export async function runDeploy(options: BenchmarkOptions): Promise<Figures> {
  const count = options.sizes?.tenants ?? (options.quick ? QUICK_TENANTS : FULL_TENANTS);
  const warmUp = Math.min(WARM_UP_TENANTS, count);
  // Two rounds, raw first then deploy first, so drift (GC, JIT, a fuller store) lands on every path alike.
  const rounds = count >= 2 * CONCURRENCY ? 2 : 1;
  const stack = await startBenchStack();
  try {
    const kubeConfig = stack.local.kube!.kubeConfig();
    // As the local control plane builds its own applier.
    const applier = createKubernetesApplier({ kubeConfig: async () => kubeConfig, backoffMs: 20 });
    const deployTenants = tenantNames('dep', count);
    const rawTenants = tenantNames('raw', count);
    const floorTenants = tenantNames('flr', count);
    const warmDeploy = tenantNames('warmdep', warmUp);
    const warmFloor = tenantNames('warmflr', warmUp);
    progress(`deploy: registering ${2 * (count + warmUp)} tenants`);
    const tokens = await stack.registerTenants([...warmDeploy, ...deployTenants], CONCURRENCY);
    await stack.registerTenants([...warmFloor, ...floorTenants], CONCURRENCY);
    progress(`deploy: warming up with ${warmUp} tenants each way`);
    await deployThroughApi(stack, tokens, warmDeploy, CONCURRENCY);
    await applyRaw(stack.local, applier, tenantNames('warmraw', warmUp), CONCURRENCY);
    await deployFloor(stack.local, applier, warmFloor, CONCURRENCY);

    const deploy: Phase = { latencies: [], ms: 0, cpuMs: 0 };
    const raw: Phase = { latencies: [], ms: 0, cpuMs: 0 };
    const floor: Phase = { latencies: [], ms: 0, cpuMs: 0 };
    for (let pass = 0; pass < rounds; pass++) {
      const slice = (names: string[]) =>
        names.slice(Math.floor((pass * count) / rounds), Math.floor(((pass + 1) * count) / rounds));
      const steps = [
        () => measure(raw, () => applyRaw(stack.local, applier, slice(rawTenants), CONCURRENCY)),
        () => measure(floor, () => deployFloor(stack.local, applier, slice(floorTenants), CONCURRENCY)),
        async () => {
          stack.recordPorts(true);
          await measure(deploy, () => deployThroughApi(stack, tokens, slice(deployTenants), CONCURRENCY));
          stack.recordPorts(false);
        },
      ];
      if (pass % 2 === 1) steps.reverse();
      for (const step of steps) await step();
      progress(
        `deploy: ${pass + 1}/${rounds} rounds: raw ${round(raw.ms / 1000)} s, floor ${round(floor.ms / 1000)} s, deploy ${round(deploy.ms / 1000)} s`,
      );
    }

    const deployLatencies = sorted(deploy.latencies);
    const rawLatencies = sorted(raw.latencies);
    const meanLatency = deploy.latencies.reduce((sum, ms) => sum + ms, 0) / count;
    const portFigures: Figures = {};
    let inPorts = 0;
    for (const port of PORTS) {
      const ms = (stack.portMs.get(port) ?? 0) / count;
      inPorts += ms;
      portFigures[`deployIn${port[0]!.toUpperCase()}${port.slice(1)}Ms`] = round(ms, 1);
    }
    return {
      tenants: count,
      concurrency: CONCURRENCY,
      objectsPerTenant: renderFirstDeploy(stack.local, 'dep0001').flat().length,
      deploySeconds: round(deploy.ms / 1000),
      deployPerSecond: round(count / (deploy.ms / 1000), 1),
      deployP50Ms: round(percentile(deployLatencies, 50), 1),
      deployP99Ms: round(percentile(deployLatencies, 99), 1),
      deployCpuMsPerTenant: round(deploy.cpuMs / count, 2),
      rawSeconds: round(raw.ms / 1000),
      rawPerSecond: round(count / (raw.ms / 1000), 1),
      rawP50Ms: round(percentile(rawLatencies, 50), 1),
      rawP99Ms: round(percentile(rawLatencies, 99), 1),
      rawCpuMsPerTenant: round(raw.cpuMs / count, 2),
      overheadRatio: round(deploy.ms / raw.ms),
      overheadCpuRatio: round(deploy.cpuMs / raw.cpuMs),
      floorSeconds: round(floor.ms / 1000),
      floorCpuMsPerTenant: round(floor.cpuMs / count, 2),
      floorRatio: round(floor.ms / raw.ms),
      deployOverFloorRatio: round(deploy.ms / floor.ms),
      ...portFigures,
      deployOutsidePortsMs: round(meanLatency - inPorts, 1),
    };
  } finally {
    await stack.stop();
  }
}
