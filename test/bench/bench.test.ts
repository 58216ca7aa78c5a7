import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BENCHMARKS, type RunSummary, runBenchmarks } from '../../bench/main.ts';

/** The figures each of our benchmarks documents (zk-proxy's are its own; it is held to the keys its bars name). */
const DOCUMENTED_KEYS: Record<string, readonly string[]> = {
  deploy: [
    'tenants',
    'concurrency',
    'objectsPerTenant',
    'deploySeconds',
    'deployPerSecond',
    'deployP50Ms',
    'deployP99Ms',
    'deployCpuMsPerTenant',
    'rawSeconds',
    'rawPerSecond',
    'rawP50Ms',
    'rawP99Ms',
    'rawCpuMsPerTenant',
    'overheadRatio',
    'overheadCpuRatio',
    'floorSeconds',
    'floorCpuMsPerTenant',
    'floorRatio',
    'deployOverFloorRatio',
    'deployInStoreMs',
    'deployInBucketsMs',
    'deployInZookeeperMs',
    'deployInAccessMs',
    'deployInKubernetesMs',
    'deployOutsidePortsMs',
  ],
  'status-sweep': [
    'clusters',
    'concurrency',
    'firstSweepSeconds',
    'firstSweepChanged',
    'firstSweepMsPerCluster',
    'steadySweepSeconds',
    'steadySweepChanged',
    'steadySweepMsPerCluster',
    'steadySweepClustersPerSecond',
  ],
  'cold-start': [
    'spawns',
    'bareNodeMs',
    'bareNodeCpuMs',
    ...['api', 'reconciler', 'flink-cluster-resource'].flatMap((handler) =>
      ['bundleBytes', 'processMs', 'importMs', 'initOverBareMs', 'initCpuOverBareMs'].map((key) => `${handler}.${key}`),
    ),
  ],
};

/**
 * The flink benchmark's figures. It runs real Flink JVMs in network namespaces (root, minutes) and has no tiny size, so
 * the run below leaves it out; `npm run bench -- flink` runs it.
 */
const FLINK_KEYS = [
  'flinkRelease',
  'jobManagerMemoryMB',
  'taskManagerMemoryMB',
  'taskManagers',
  'deployToUiSeconds',
  'deployToRunningSeconds',
  'runToCheckpointedSeconds',
  'destroySeconds',
  'redeployToUiSeconds',
  'redeployToRunningSeconds',
  'redeployToRestoredSeconds',
  'windowSeconds',
  'checkpointsInWindow',
  'zkRequestsPerSecond',
  'zkRequestsPerCheckpoint',
  'proxyCpuCores',
  'proxyCpuOfAllocation',
  'proxyRssMB',
  'proxyRssOfAllocation',
  'jobManagerRssMB',
  'taskManagerRssMB',
] as const;

// Every benchmark at a handful of tenants, clusters and spawns (zk-proxy at its --quick length): the output's shape,
// never its timings, which a shared machine cannot hold steady.
describe('npm run bench (all benchmarks at tiny sizes; real dynalite, s3rver, ZooKeeper and the Kubernetes stand-in)', () => {
  it('prints one combined table and, as its last line, one JSON object with every figure and bar', async () => {
    let printed = '';
    const summary = await runBenchmarks(
      Object.keys(BENCHMARKS).filter((name) => name !== 'flink'),
      { quick: true, args: [], sizes: { tenants: 5, clusters: 5, spawns: 1 } },
      (text) => {
        printed += text;
      },
    );

    const lines = printed.trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!) as RunSummary;
    expect(last).toEqual(summary);
    expect(Object.keys(last)).toEqual([
      'date',
      'quick',
      'cpus',
      'loadAverage1m',
      'node',
      'seconds',
      'benchmarks',
      'bars',
    ]);
    expect(Number.isNaN(Date.parse(last.date))).toBe(false);
    expect(last.quick).toBe(true);
    expect(Object.keys(last.benchmarks)).toEqual(['deploy', 'status-sweep', 'cold-start', 'zk-proxy']);

    for (const [name, keys] of Object.entries(DOCUMENTED_KEYS)) {
      expect(Object.keys(last.benchmarks[name]!), name).toEqual(keys);
    }
    for (const [name, figures] of Object.entries(last.benchmarks)) {
      expect(Object.keys(figures).length, name).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(figures)) {
        if (typeof value === 'number') expect(Number.isFinite(value), `${name} ${key} = ${value}`).toBe(true);
      }
    }
    expect(last.benchmarks.deploy).toMatchObject({ tenants: 5, objectsPerTenant: expect.any(Number) });
    expect(last.benchmarks['status-sweep']).toMatchObject({ clusters: 5, steadySweepChanged: 0 });

    // Every bar names a figure its benchmark reports, and has an outcome.
    expect(last.bars.length).toBeGreaterThan(0);
    for (const bar of last.bars) {
      expect(last.benchmarks[bar.benchmark]!, `${bar.benchmark} ${bar.figure}`).toHaveProperty([bar.figure]);
      expect(['pass', 'miss', 'not checked']).toContain(bar.outcome);
    }
    expect(last.bars.filter((bar) => bar.benchmark === 'zk-proxy').length).toBeGreaterThan(0);

    const table = lines.slice(lines.findIndex((line) => line.startsWith('Flinkplane benchmarks, ')));
    expect(table[0]).toContain('(--quick)');
    expect(table).toContainEqual(expect.stringMatching(/^figure\s+value\s+first bar\s+outcome$/));
    for (const name of Object.keys(last.benchmarks)) {
      expect(
        table.some((line) => line.startsWith(`${name}  `)),
        name,
      ).toBe(true);
    }
    expect(table.at(-2)).toMatch(/^bars: \d+ passed, \d+ missed, \d+ not checked$/);
  }, 180_000);
});

describe('README figures', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const keysSection = readme.slice(readme.indexOf('### The keys of the JSON line'));

  it('documents every key the deploy, status-sweep, cold-start and flink benchmarks print', () => {
    const undocumented = [...Object.values(DOCUMENTED_KEYS).flat(), ...FLINK_KEYS]
      .map((key) => key.replace(/^(api|reconciler|flink-cluster-resource)\./, '<handler>.'))
      .filter((key) => !keysSection.includes(`\`${key}\``));
    expect(undocumented).toEqual([]);
  });
});
