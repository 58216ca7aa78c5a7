import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startZooKeeperServer } from '../local/zookeeper-server.ts';
import { digestAclId } from '../zookeeper-proxy/codec.ts';
import type { HostPort } from '../zookeeper-proxy/proxy.ts';
import { OPEN_ACL, PERMS_ALL, RawZooKeeperClient, ZooKeeperError } from '../zookeeper-proxy/raw-client.ts';
import type { Benchmark, BenchmarkOptions } from './main.ts';

const CLIENTS = 32;
const CHROOT = '/bench/tenant';
const IDENTITY = { user: 'bench', password: 'bench-secret' };
const NODES_PER_CLIENT = 16;
const DATA = Buffer.alloc(128, 'x');
/** In the latency phases each client sends one request per PACE_MS (3 200 requests/s in all), well below capacity. */
const PACE_MS = 10;

type Mode = 'direct' | 'proxy';
const MODES: readonly Mode[] = ['direct', 'proxy'];
type Target = { address: HostPort; prefix: string };
/** CPU time of the processes involved, in seconds. */
type Cpu = { zooKeeper: number; proxy: number; bench: number };
type Phase = { mode: Mode; ops: number; errors: number; seconds: number; latenciesMs: Float64Array; cpu: Cpu };
type Pids = { zooKeeper: number | undefined; proxy: number | undefined };

/** Throughput and latency through the proxy against direct connections to the same ZooKeeper, in one run. */
export const zkProxyBenchmark: Benchmark = {
  description: 'tenant ZooKeeper proxy vs direct: 32 clients, mixed getData/setData/create/delete',
  bars: [
    { figure: 'throughputRatio', label: 'throughput through the proxy / direct, saturated', min: 0.9 },
    {
      figure: 'p99AddedMs',
      label: `p99 latency the proxy adds at ${(CLIENTS * 1000) / PACE_MS} requests/s (ms)`,
      max: 1,
    },
  ],
  run,
};

async function run(options: BenchmarkOptions): Promise<void> {
  const phaseSeconds = options.quick ? 2 : 8;
  const rounds = options.quick ? 1 : 3;
  const workDir = await mkdtemp(join(tmpdir(), 'zk-proxy-bench-'));
  // On tmpfs fsync costs nothing, so the figures show the proxy rather than the disk's jitter.
  const dataDir = existsSync('/dev/shm') ? await mkdtemp('/dev/shm/zk-proxy-bench-') : join(workDir, 'zk');
  const zk = await startZooKeeperServer({ dataDir });
  let proxy: ChildProcess | undefined;
  const killProxy = () => proxy?.kill('SIGKILL');
  process.once('exit', killProxy);
  try {
    await prepareTree({ host: zk.host, port: zk.port });
    const started = await startBundledProxy(workDir, { host: zk.host, port: zk.port });
    proxy = started.child;
    const pids: Pids = { zooKeeper: zk.pid, proxy: proxy.pid };
    const targets: Record<Mode, Target> = {
      direct: { address: { host: zk.host, port: zk.port }, prefix: CHROOT },
      proxy: { address: started.address, prefix: '' },
    };
    const machine = { cpus: cpus().length, loadAverage1m: round(loadavg()[0]!) };
    process.stderr.write(`${machine.cpus} CPUs, load average ${machine.loadAverage1m}; warming up\n`);
    for (const mode of MODES) await runPhase(mode, targets[mode], pids, options.quick ? 1 : 3);
    // Alternate modes so drift (JIT, GC, whatever else the machine runs) lands on both.
    const saturated: Phase[] = [];
    const paced: Phase[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const mode of MODES) {
        const phase = await runPhase(mode, targets[mode], pids, phaseSeconds);
        process.stderr.write(`  ${mode.padEnd(6)} saturated, round ${round + 1}: ${perSecond(phase)} ops/s\n`);
        saturated.push(phase);
      }
      for (const mode of MODES) {
        const phase = await runPhase(mode, targets[mode], pids, phaseSeconds, PACE_MS);
        process.stderr.write(`  ${mode.padEnd(6)} paced, round ${round + 1}: ${perSecond(phase)} ops/s\n`);
        paced.push(phase);
      }
    }
    report(saturated, paced, { quick: options.quick, ...machine });
  } finally {
    killProxy();
    process.off('exit', killProxy);
    await zk.stop();
    await rm(workDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Creates the tenant root the way the control plane does, and one subtree per client. */
async function prepareTree(zk: HostPort): Promise<void> {
  const admin = await RawZooKeeperClient.connect(zk);
  const tenantAcl = [{ perms: PERMS_ALL, scheme: 'digest', id: digestAclId(IDENTITY.user, IDENTITY.password) }];
  await admin.create('/bench', null);
  await admin.create(CHROOT, null, 0, tenantAcl);
  await admin.auth('digest', `${IDENTITY.user}:${IDENTITY.password}`);
  for (let client = 0; client < CLIENTS; client++) {
    await admin.create(`${CHROOT}/c${client}`, null, 0, OPEN_ACL);
    for (let node = 0; node < NODES_PER_CLIENT; node++) await admin.create(`${CHROOT}/c${client}/n${node}`, DATA);
  }
  await admin.close();
}

/** Bundles the proxy as the container image does and runs it in its own process. */
async function startBundledProxy(
  workDir: string,
  upstream: HostPort,
): Promise<{ child: ChildProcess; address: HostPort }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundle = join(workDir, 'zk-proxy.mjs');
  await build({
    entryPoints: [join(here, '../zookeeper-proxy/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    logLevel: 'warning',
  });
  const child = spawn(
    process.execPath,
    [bundle, '--listen', '127.0.0.1:0', '--upstream', `${upstream.host}:${upstream.port}`, '--chroot', CHROOT],
    {
      env: { ...process.env, ZK_PROXY_AUTH: `${IDENTITY.user}:${IDENTITY.password}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const address = await new Promise<HostPort>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; host?: string; port?: number };
      if (record.msg === 'listening') resolve({ host: record.host!, port: record.port! });
    });
    child.once('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
  });
  return { child, address };
}

/**
 * 32 clients with one request in flight each, for `seconds`: back to back (saturating ZooKeeper, for throughput)
 * or one request per `paceMs` each (for latency without queueing).
 */
async function runPhase(mode: Mode, target: Target, pids: Pids, seconds: number, paceMs?: number): Promise<Phase> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = await RawZooKeeperClient.connect(target.address);
      // Direct clients need the tenant identity the proxy would otherwise add.
      if (mode === 'direct') await client.auth('digest', `${IDENTITY.user}:${IDENTITY.password}`);
      return client;
    }),
  );
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = sampleCpu(pids);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    clients.map(async (client, index) => {
      const base = `${target.prefix}/c${index}`;
      const created: string[] = [];
      let sequence = 0;
      let next = started + Math.random() * (paceMs ?? 0);
      while (performance.now() < deadline) {
        if (paceMs) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          next += paceMs;
        }
        const roll = Math.random();
        const node = `${base}/n${sequence % NODES_PER_CLIENT}`;
        const t0 = performance.now();
        try {
          if (roll < 0.5) await client.getData(node);
          else if (roll < 0.8) await client.setData(node, DATA);
          else if (roll < 0.9 || created.length === 0) created.push(await client.create(`${base}/t-`, DATA, 2));
          // create answers direct clients with a server path and proxied ones with a client path: both delete as given.
          else await client.delete(created.shift()!);
        } catch (error) {
          if (!(error instanceof ZooKeeperError)) throw error;
          errors++;
        }
        latencies.push(performance.now() - t0);
        sequence++;
      }
      for (const path of created) await client.delete(path).catch(() => undefined);
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = sampleCpu(pids);
  await Promise.all(clients.map((client) => client.close()));
  return {
    mode,
    ops: latencies.length,
    errors,
    seconds: elapsed,
    latenciesMs: Float64Array.from(latencies),
    cpu: {
      zooKeeper: cpuAfter.zooKeeper - cpuBefore.zooKeeper,
      proxy: cpuAfter.proxy - cpuBefore.proxy,
      bench: cpuAfter.bench - cpuBefore.bench,
    },
  };
}

/** CPU seconds so far of ZooKeeper, the proxy and this process (Linux /proc; zero where unreadable). */
function sampleCpu(pids: Pids): Cpu {
  const usage = process.cpuUsage();
  return {
    zooKeeper: processCpuSeconds(pids.zooKeeper),
    proxy: processCpuSeconds(pids.proxy),
    bench: (usage.user + usage.system) / 1e6,
  };
}

function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 per second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function merge(phases: Phase[], mode: Mode): Phase {
  const mine = phases.filter((phase) => phase.mode === mode);
  const latencies = new Float64Array(mine.reduce((sum, phase) => sum + phase.latenciesMs.length, 0));
  let at = 0;
  for (const phase of mine) {
    latencies.set(phase.latenciesMs, at);
    at += phase.latenciesMs.length;
  }
  latencies.sort();
  const total = (pick: (phase: Phase) => number) => mine.reduce((sum, phase) => sum + pick(phase), 0);
  return {
    mode,
    ops: total((phase) => phase.ops),
    errors: total((phase) => phase.errors),
    seconds: total((phase) => phase.seconds),
    latenciesMs: latencies,
    cpu: {
      zooKeeper: total((phase) => phase.cpu.zooKeeper),
      proxy: total((phase) => phase.cpu.proxy),
      bench: total((phase) => phase.cpu.bench),
    },
  };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

type Row = {
  opsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  /** Average CPU cores used while the phase ran. */
  cores: { zooKeeper: number; proxy: number; bench: number };
};

function summarize(phase: Phase): Row {
  const sorted = phase.latenciesMs;
  const cores = (seconds: number) => round(seconds / phase.seconds);
  return {
    opsPerSecond: perSecond(phase),
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    p999Ms: round(percentile(sorted, 99.9)),
    errors: phase.errors,
    cores: { zooKeeper: cores(phase.cpu.zooKeeper), proxy: cores(phase.cpu.proxy), bench: cores(phase.cpu.bench) },
  };
}

function report(saturated: Phase[], paced: Phase[], context: { quick: boolean; cpus: number; loadAverage1m: number }) {
  const proxyPhase = merge(saturated, 'proxy');
  const throughput = { direct: summarize(merge(saturated, 'direct')), proxy: summarize(proxyPhase) };
  const latency = { direct: summarize(merge(paced, 'direct')), proxy: summarize(merge(paced, 'proxy')) };
  const throughputRatio = round(throughput.proxy.opsPerSecond / throughput.direct.opsPerSecond);
  const p50AddedMs = round(latency.proxy.p50Ms - latency.direct.p50Ms);
  const p99AddedMs = round(latency.proxy.p99Ms - latency.direct.p99Ms);
  const proxyCpuMicrosPerRequest = round((proxyPhase.cpu.proxy * 1e6) / proxyPhase.ops);
  const errors = [throughput, latency].reduce((sum, pair) => sum + pair.direct.errors + pair.proxy.errors, 0);
  const paceLabel = `${1000 / PACE_MS}/s per client`;
  const columns = ['ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'zk cores', 'proxy cores', 'bench cores'];
  const line = (name: string, row: Row) =>
    [
      name.padEnd(24),
      ...[row.opsPerSecond, row.p50Ms, row.p90Ms, row.p99Ms, row.p999Ms].map((value, i) =>
        (i === 0 ? String(value) : value.toFixed(3)).padStart(columns[i]!.length + 2),
      ),
      ...[row.cores.zooKeeper, row.cores.proxy, row.cores.bench].map((value, i) =>
        value.toFixed(2).padStart(columns[5 + i]!.length + 2),
      ),
    ].join('');
  const lines = [
    '',
    ['mode'.padEnd(24), ...columns.map((column) => column.padStart(column.length + 2))].join(''),
    line('direct, saturated', throughput.direct),
    line('proxy, saturated', throughput.proxy),
    line(`direct, ${paceLabel}`, latency.direct),
    line(`proxy, ${paceLabel}`, latency.proxy),
    '',
    `throughput ratio (proxy/direct, saturated): ${throughputRatio.toFixed(3)}  (target >= 0.9)`,
    `added latency at ${(CLIENTS * 1000) / PACE_MS} requests/s: p50 ${p50AddedMs.toFixed(3)} ms, p99 ${p99AddedMs.toFixed(3)} ms  (target p99 < 1 ms)`,
    `proxy CPU per request: ${proxyCpuMicrosPerRequest.toFixed(1)} µs; machine: ${context.cpus} CPUs, load average ${context.loadAverage1m} at start`,
    `errors: ${errors}`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const summary = {
    benchmark: 'zk-proxy',
    ...context,
    clients: CLIENTS,
    mix: { getData: 0.5, setData: 0.3, create: 0.1, delete: 0.1 },
    saturated: throughput,
    paced: { requestsPerSecond: (CLIENTS * 1000) / PACE_MS, ...latency },
    throughputRatio,
    p50AddedMs,
    p99AddedMs,
    proxyCpuMicrosPerRequest,
    errors,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

function perSecond(phase: Phase): number {
  return Math.round(phase.ops / phase.seconds);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
