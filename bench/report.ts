/** One figure a benchmark reports: a count, a duration, a ratio or a label. */
export type Figure = number | string | boolean;
/** A benchmark's figures by key, flat (`p50Ms`, `api.bundleBytes`), as they appear in the final JSON line. */
export type Figures = Record<string, Figure>;

/** A first bar: the figure must stay at or under `max` (or at or over `min`). */
export type Bar = {
  /** The figure's key in the benchmark's figures. */
  readonly figure: string;
  readonly label: string;
  readonly max?: number;
  readonly min?: number;
  /** The bar is stated for the full run's size only (e.g. 1,000 tenants); `--quick` reports it as not checked. */
  readonly fullRunOnly?: boolean;
};

export type BarOutcome = 'pass' | 'miss' | 'not checked';

/** Whether the figure meets the bar; a figure that is missing or not a finite number misses it. */
export function checkBar(bar: Bar, figures: Figures, quick: boolean): BarOutcome {
  if (quick && bar.fullRunOnly) return 'not checked';
  const value = figures[bar.figure];
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'miss';
  if (bar.max !== undefined && value > bar.max) return 'miss';
  if (bar.min !== undefined && value < bar.min) return 'miss';
  return 'pass';
}

/** The bar as a person reads it: `<= 1.25`. */
export function describeBar(bar: Bar): string {
  return [bar.max === undefined ? '' : `<= ${bar.max}`, bar.min === undefined ? '' : `>= ${bar.min}`]
    .filter(Boolean)
    .join(', ');
}

/** The value at percentile `p` (0–100) of ascending `sorted` values, nearest rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Ascending copy, for `percentile`. */
export function sorted(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function median(values: Iterable<number>): number {
  return percentile(sorted(values), 50);
}

/** Rounds to `digits` decimals, so the JSON line stays readable. */
export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function elapsedMs(start: number): number {
  return performance.now() - start;
}

/** Runs `action` on every item with at most `concurrency` in flight, in order of the items. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  action: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await action(items[index]!, index);
    }
  });
  await Promise.all(workers);
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** A figure as the table shows it: integers as they are, other numbers with three significant decimals at most. */
export function formatFigure(value: Figure | undefined): string {
  if (value === undefined) return '–';
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(round(value, Math.abs(value) >= 100 ? 1 : 3));
}

/** Writes one progress line to stderr, so stdout keeps only the table and the JSON line. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
