import type { ReconcileSummary } from '../functions/core/control-plane.ts';
import { deployThroughApi, startBenchStack, tenantNames } from './deploy.ts';
import type { Benchmark, BenchmarkOptions } from './main.ts';
import { elapsedMs, type Figures, median, progress, round } from './report.ts';

const FULL_CLUSTERS = 1000;
const QUICK_CLUSTERS = 200;
/** The reconciler Lambda's parallelism (functions/handlers/reconciler.ts). */
const CONCURRENCY = 16;
const STEADY_SWEEPS = 3;
/** The stand-in's simulated pods turn ready after this long. */
const READINESS_DELAY_MS = 50;

/**
 * `plane.reconcile()` over many clusters on the local stack: the first sweep after the deploys (every cluster turns
 * from DEPLOYING to RUNNING, so each is read and written back) and steady sweeps (read, nothing changed).
 */
export const statusSweepBenchmark: Benchmark = {
  description: `reconciler status sweep (plane.reconcile) of ${FULL_CLUSTERS} clusters, concurrency ${CONCURRENCY}`,
  bars: [
    { figure: 'steadySweepSeconds', label: `steady sweep of ${FULL_CLUSTERS} clusters`, max: 5, fullRunOnly: true },
    {
      figure: 'firstSweepSeconds',
      label: `first sweep of ${FULL_CLUSTERS} clusters (all change)`,
      max: 5,
      fullRunOnly: true,
    },
  ],
  run: (options) => runStatusSweep(options),
};

/** The figures of one run; `sizes.clusters` overrides the number of clusters. */
export async function runStatusSweep(options: BenchmarkOptions): Promise<Figures> {
  const count = options.sizes?.clusters ?? (options.quick ? QUICK_CLUSTERS : FULL_CLUSTERS);
  const stack = await startBenchStack({ readinessDelayMs: READINESS_DELAY_MS });
  try {
    const tenants = tenantNames('sweep', count);
    progress(`status-sweep: registering and deploying ${count} clusters (not measured)`);
    const tokens = await stack.registerTenants(tenants, CONCURRENCY);
    await deployThroughApi(stack, tokens, tenants, CONCURRENCY);
    await waitForDeploymentsReady(stack.local.kube!);
    const plane = stack.local.plane;

    const first = await sweep(() => plane.reconcile({ concurrency: CONCURRENCY }));
    if (first.summary.checked !== count || first.summary.failed > 0) {
      throw new Error(`first sweep: ${JSON.stringify(first.summary)}, expected ${count} checked and none failed`);
    }
    progress(`status-sweep: first sweep ${round(first.ms / 1000)} s, ${first.summary.changed} changed`);
    const steady: number[] = [];
    let steadyChanged = 0;
    for (let pass = 0; pass < STEADY_SWEEPS; pass++) {
      const next = await sweep(() => plane.reconcile({ concurrency: CONCURRENCY }));
      steady.push(next.ms);
      steadyChanged += next.summary.changed;
      progress(`status-sweep: steady sweep ${pass + 1}/${STEADY_SWEEPS}: ${round(next.ms / 1000)} s`);
    }
    const steadyMs = median(steady);
    return {
      clusters: count,
      concurrency: CONCURRENCY,
      firstSweepSeconds: round(first.ms / 1000),
      firstSweepChanged: first.summary.changed,
      firstSweepMsPerCluster: round(first.ms / count),
      steadySweepSeconds: round(steadyMs / 1000),
      steadySweepChanged: steadyChanged,
      steadySweepMsPerCluster: round(steadyMs / count),
      steadySweepClustersPerSecond: round(count / (steadyMs / 1000), 1),
    };
  } finally {
    await stack.stop();
  }
}

async function sweep(action: () => Promise<ReconcileSummary>): Promise<{ ms: number; summary: ReconcileSummary }> {
  const started = performance.now();
  const summary = await action();
  return { ms: elapsedMs(started), summary };
}

type StandinObject = {
  kind: string;
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; observedGeneration?: number };
};

/** Waits until every Deployment in the stand-in (JobManager, TaskManagers, ZooKeeper proxy) has all replicas ready. */
async function waitForDeploymentsReady(kube: { objects(): readonly object[] }): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const deployments = (kube.objects() as StandinObject[]).filter((object) => object.kind === 'Deployment');
    const waiting = deployments.filter(
      (object) =>
        object.status?.observedGeneration !== object.metadata.generation ||
        (object.status?.readyReplicas ?? 0) < (object.spec?.replicas ?? 1),
    ).length;
    if (waiting === 0) return;
    if (Date.now() > deadline) throw new Error(`${waiting} of ${deployments.length} Deployments never turned ready`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
