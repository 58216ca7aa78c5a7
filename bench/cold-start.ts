import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { bundleHandler, HANDLER_ENTRIES, type HandlerName } from '../functions/handlers/bundle.ts';
import type { Benchmark, BenchmarkOptions } from './main.ts';
import { type Bar, type Figures, median, progress, round } from './report.ts';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HANDLERS = Object.keys(HANDLER_ENTRIES) as HandlerName[];
const FULL_SPAWNS = 21;
const QUICK_SPAWNS = 7;
/** The first bars: 1 MB (10^6 bytes) per bundle, 150 ms of import and init over a bare Node start. */
const MAX_BUNDLE_BYTES = 1_000_000;
const MAX_INIT_OVER_BARE_MS = 150;
/** A loopback port nothing listens on: every endpoint the handlers might reach stays on this machine. */
const NOWHERE = 'http://127.0.0.1:9';

/**
 * The environment the handlers parse at cold start (functions/handlers/environment.ts), every endpoint on loopback.
 * Nothing is contacted during init: the SDK clients, the logger and the ZooKeeper adapter connect on first use.
 */
const HANDLER_ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AWS_ENDPOINT_URL_DYNAMODB: NOWHERE,
  AWS_ENDPOINT_URL_S3: NOWHERE,
  AWS_ENDPOINT_URL_EKS: NOWHERE,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: NOWHERE,
  CLUSTER_TABLE: 'flinkplane-clusters',
  PLATFORM_SETTINGS: JSON.stringify({ domain: 'flink.example.com' }),
  EKS_CLUSTER_NAME: 'platform',
  TENANT_ROLE_ARN: 'arn:aws:iam::111111111111:role/flinkplane-tenant-pods',
  ZOOKEEPER_CONNECT: '127.0.0.1:9',
  PLATFORM_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:flinkplane-platform-key',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};

/**
 * Imports the bundle as the Lambda runtime does (a dynamic import of the handler module), checks it exports a
 * handler, and prints how long the import took inside the process and the process's CPU time so far.
 */
const IMPORTER = `
const started = performance.now();
const module = await import(process.argv[2]);
const importMs = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('no handler export');
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ importMs, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;
/** Bare Node: nothing imported, the same CPU report. */
const BARE =
  'const cpu = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000 }));';

export const coldStartBenchmark: Benchmark = {
  description: 'cold start of each bundled Lambda handler (bundle size, import and init in a fresh Node) vs bare Node',
  bars: HANDLERS.flatMap((name): Bar[] => [
    { figure: `${name}.bundleBytes`, label: `${name} bundle size (bytes)`, max: MAX_BUNDLE_BYTES },
    { figure: `${name}.initOverBareMs`, label: `${name} import and init over bare Node`, max: MAX_INIT_OVER_BARE_MS },
  ]),
  run: (options) => runColdStart(options),
};

/** The figures of one run; `sizes.spawns` overrides how many fresh processes each median is taken over. */
export async function runColdStart(options: BenchmarkOptions): Promise<Figures> {
  const spawns = options.sizes?.spawns ?? (options.quick ? QUICK_SPAWNS : FULL_SPAWNS);
  // Inside node_modules, so the bundles resolve the external AWS SDK as the Lambda runtime provides it.
  const outDir = mkdtempSync(join(REPO, 'node_modules', '.flinkplane-bench-bundles-'));
  try {
    const importer = join(outDir, 'import-handler.mjs');
    writeFileSync(importer, IMPORTER);
    const bundles = new Map<HandlerName, { file: string; bytes: number }>();
    for (const name of HANDLERS) {
      const bundle = await bundleHandler(name, outDir);
      bundles.set(name, bundle);
      progress(`cold-start: ${name}.mjs ${bundle.bytes} bytes; largest inputs: ${largestPackages(bundle.metafile)}`);
    }
    progress(`cold-start: ${spawns} spawns each, interleaved with bare Node`);

    const runs = new Map<HandlerName | 'bare', Spawned[]>();
    for (const name of ['bare', ...HANDLERS] as const) runs.set(name, []);
    // One spawn of each per pass, so drift on the machine lands on every handler and on the baseline alike.
    for (let pass = 0; pass < spawns + 1; pass++) {
      const bare = await timeSpawn(['-e', BARE], outDir);
      const handlers: [HandlerName, Spawned][] = [];
      for (const name of HANDLERS) handlers.push([name, await timeSpawn([importer, bundles.get(name)!.file], outDir)]);
      // The first pass warms the file cache and is not counted.
      if (pass === 0) continue;
      runs.get('bare')!.push(bare);
      for (const [name, run] of handlers) runs.get(name)!.push(run);
    }

    const bare = runs.get('bare')!;
    const bareMs = median(bare.map((run) => run.ms));
    const bareCpuMs = median(bare.map((run) => run.cpuMs));
    const figures: Figures = { spawns, bareNodeMs: round(bareMs, 1), bareNodeCpuMs: round(bareCpuMs, 1) };
    for (const name of HANDLERS) {
      const handlerRuns = runs.get(name)!;
      const processMs = median(handlerRuns.map((run) => run.ms));
      figures[`${name}.bundleBytes`] = bundles.get(name)!.bytes;
      figures[`${name}.processMs`] = round(processMs, 1);
      figures[`${name}.importMs`] = round(median(handlerRuns.map((run) => run.importMs)), 1);
      figures[`${name}.initOverBareMs`] = round(processMs - bareMs, 1);
      figures[`${name}.initCpuOverBareMs`] = round(median(handlerRuns.map((run) => run.cpuMs)) - bareCpuMs, 1);
    }
    return figures;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** One fresh process: wall time from spawn to exit, time of the import inside it, its CPU time. */
type Spawned = { ms: number; importMs: number; cpuMs: number };

/** Runs a fresh `node <args>` with the handlers' environment only. */
async function timeSpawn(args: readonly string[], cwd: string): Promise<Spawned> {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...HANDLER_ENV },
  });
  const ms = performance.now() - started;
  const printed = JSON.parse(stdout) as { importMs?: number; cpuMs: number };
  return { ms, importMs: printed.importMs ?? 0, cpuMs: printed.cpuMs };
}

/** The five packages (or source folders) that take the most bytes of a bundle, e.g. `zod 103.7 KB`. */
function largestPackages(metafile: Metafile): string {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split('/').slice(0, 2).join('/');
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, size]) => `${name} ${(size / 1000).toFixed(1)} KB`)
    .join(', ');
}
