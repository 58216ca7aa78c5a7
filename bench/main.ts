import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  type Bar,
  type BarOutcome,
  checkBar,
  describeBar,
  type Figure,
  type Figures,
  formatFigure,
  formatTable,
  round,
} from './report.ts';

/** Options every benchmark receives. */
export type BenchmarkOptions = {
  /** Shorter runs for a smoke check (`--quick`); figures are noisier. */
  quick: boolean;
  /** Arguments after the benchmark name, minus `--quick`. */
  args: string[];
  /**
   * Sizes that override the full or quick ones, for the output-shape test: `tenants` (deploy), `clusters`
   * (status-sweep), `spawns` (cold-start). Benchmarks ignore the keys they do not know.
   */
  sizes?: { tenants?: number; clusters?: number; spawns?: number };
};

/**
 * A benchmark prints its own details and answers its figures. One that answers nothing has its figures taken from the
 * last JSON object line it printed to stdout (nested objects flattened to dotted keys).
 */
export type Benchmark = {
  description: string;
  /** The first bars its figures are held to; the combined table shows each one's outcome. */
  bars?: readonly Bar[];
  // biome-ignore lint/suspicious/noConfusingVoidType: a benchmark that only prints (zk-proxy) answers Promise<void>.
  run(options: BenchmarkOptions): Promise<Figures | void>;
};

// Benchmarks load lazily so one's imports never slow another; register new ones here, in the order `all` runs them.
export const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  deploy: async () => (await import('./deploy.ts')).deployBenchmark,
  'status-sweep': async () => (await import('./status-sweep.ts')).statusSweepBenchmark,
  'cold-start': async () => (await import('./cold-start.ts')).coldStartBenchmark,
  'zk-proxy': async () => (await import('./zk-proxy.ts')).zkProxyBenchmark,
  flink: async () => (await import('./flink.ts')).flinkBenchmark,
};

// Bound before capturingStdout patches process.stdout.write: calling the patched one from `write` would recurse.
const originalStdoutWrite = process.stdout.write.bind(process.stdout);
const writeStdout = (text: string): void => {
  originalStdoutWrite(text);
};

/** One benchmark's outcome in a run. */
export type BenchmarkOutcome = {
  readonly name: string;
  readonly figures: Figures;
  readonly bars: readonly { bar: Bar; outcome: BarOutcome }[];
  readonly seconds: number;
};

/** The final JSON line: the run's context, every benchmark's figures by name, and every bar's outcome. */
export type RunSummary = {
  date: string;
  quick: boolean;
  cpus: number;
  loadAverage1m: number;
  node: string;
  seconds: number;
  benchmarks: Record<string, Figures>;
  bars: { benchmark: string; figure: string; label: string; bar: string; value: Figure | null; outcome: BarOutcome }[];
};

/**
 * Runs the named benchmarks in sequence, then prints one table of every figure and bar and, as the last line, one
 * JSON object with all of them. `write` receives everything meant for stdout.
 */
export async function runBenchmarks(
  names: readonly string[],
  options: BenchmarkOptions,
  write: (text: string) => void = writeStdout,
): Promise<RunSummary> {
  const started = performance.now();
  const summary: RunSummary = {
    date: new Date().toISOString(),
    quick: options.quick,
    cpus: cpus().length,
    loadAverage1m: round(loadavg()[0]!, 2),
    node: process.version,
    seconds: 0,
    benchmarks: {},
    bars: [],
  };
  const outcomes: BenchmarkOutcome[] = [];
  for (const name of names) {
    const load = BENCHMARKS[name];
    if (!load) throw new Error(`unknown benchmark ${name}`);
    const benchmark = await load();
    process.stderr.write(`\n== ${name}: ${benchmark.description}\n`);
    const benchmarkStarted = performance.now();
    const { result, printed } = await capturingStdout(write, () => benchmark.run(options));
    const figures = result ?? lastJsonFigures(printed);
    if (!figures) throw new Error(`benchmark ${name} answered no figures and printed no JSON line`);
    const bars = (benchmark.bars ?? []).map((bar) => ({ bar, outcome: checkBar(bar, figures, options.quick) }));
    outcomes.push({ name, figures, bars, seconds: round((performance.now() - benchmarkStarted) / 1000, 1) });
    summary.benchmarks[name] = figures;
    for (const { bar, outcome } of bars) {
      const value = figures[bar.figure];
      summary.bars.push({
        benchmark: name,
        figure: bar.figure,
        label: bar.label,
        bar: describeBar(bar),
        value: value === undefined ? null : value,
        outcome,
      });
    }
  }
  summary.seconds = round((performance.now() - started) / 1000, 1);
  write(`\n${combinedTable(outcomes, summary)}\n`);
  write(`${JSON.stringify(summary)}\n`);
  return summary;
}

/** Every figure of every benchmark, one row each, with its bar and outcome where it has one. */
function combinedTable(outcomes: readonly BenchmarkOutcome[], summary: RunSummary): string {
  const rows: string[][] = [];
  for (const outcome of outcomes) {
    const barsByFigure = new Map(outcome.bars.map((entry) => [entry.bar.figure, entry]));
    for (const [key, value] of Object.entries(outcome.figures)) {
      const bar = barsByFigure.get(key);
      rows.push([
        `${outcome.name}  ${key}`,
        formatFigure(value),
        bar ? describeBar(bar.bar) : '',
        bar ? bar.outcome : '',
      ]);
    }
  }
  const passed = summary.bars.filter((bar) => bar.outcome === 'pass').length;
  const missed = summary.bars.filter((bar) => bar.outcome === 'miss').length;
  const heading =
    `Flinkplane benchmarks, ${summary.date}${summary.quick ? ' (--quick)' : ''}: ${summary.cpus} CPUs, ` +
    `load average ${summary.loadAverage1m} at start, Node ${summary.node}, ${summary.seconds} s`;
  const footer = `bars: ${passed} passed, ${missed} missed, ${summary.bars.length - passed - missed} not checked`;
  return `${heading}\n\n${formatTable(['figure', 'value', 'first bar', 'outcome'], rows)}\n\n${footer}`;
}

/** Runs `action` while copying what it writes to stdout, passing it on to `write`. */
async function capturingStdout<T>(
  write: (text: string) => void,
  action: () => Promise<T>,
): Promise<{ result: T; printed: string }> {
  const original = process.stdout.write;
  let printed = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    printed += text;
    write(text);
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await action(), printed };
  } finally {
    process.stdout.write = original;
  }
}

/** The figures of the last line of `printed` that is a JSON object, nested objects flattened to dotted keys. */
export function lastJsonFigures(printed: string): Figures | undefined {
  const lines = printed.split('\n').filter((line) => line.trim().startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return flatten(parsed as object);
    } catch {
      // Not JSON after all: try the line before.
    }
  }
  return undefined;
}

function flatten(value: object, prefix = '', into: Figures = {}): Figures {
  for (const [key, item] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof item === 'number' || typeof item === 'string' || typeof item === 'boolean') into[path] = item;
    else if (item && typeof item === 'object') flatten(item, path, into);
  }
  return into;
}

async function main(argv: readonly string[]): Promise<void> {
  // The SDK warns once per process that Node 20 support ends; the figures are what the run is for.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const quick = argv.includes('--quick');
  const [name, ...args] = argv.filter((arg) => arg !== '--quick');
  if (name === '--help' || name === 'help' || (name !== undefined && !BENCHMARKS[name])) {
    const list = await Promise.all(
      Object.entries(BENCHMARKS).map(async ([key, loader]) => `  ${key.padEnd(14)} ${(await loader()).description}`),
    );
    process.stderr.write(
      `Usage: npm run bench [-- <name>] [--quick]   (no name: all, in this order)\n\nBenchmarks:\n${list.join('\n')}\n`,
    );
    process.exitCode = name === '--help' || name === 'help' ? 0 : 2;
    return;
  }
  await runBenchmarks(name ? [name] : Object.keys(BENCHMARKS), { quick, args });
}

// Run only as the entry point, so the test can import `runBenchmarks`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
