import { seededRandom } from './objects.ts';

/** Faults to inject into matching requests; every draw comes from a PRNG seeded by `setFaults`. */
export type KubeFaults = {
  /** Share (0..1) of matching requests answered with one of `statuses` before they change anything. Default 0. */
  errorRate?: number;
  /** Statuses to pick from, uniformly. Default [500, 503, 429]. */
  statuses?: number[];
  /** Delay before a matching request is handled: fixed, or uniform in [min, max]. Default none. */
  latencyMs?: number | [number, number];
  /** Share (0..1) of matching requests that hang for `hangMs` and then lose their connection. Default 0. */
  timeoutRate?: number;
  /** How long a timed-out request hangs before its socket is destroyed. Default 100. */
  hangMs?: number;
  /** Error faults on writes are applied first and then answered with the error, like a lost response. */
  applyThenFail?: boolean;
  /** Only requests with these HTTP methods (upper case). Default all. */
  methods?: string[];
  /**
   * Only requests for these resources (plural names, e.g. `deployments`; `pods/portforward` for port-forwards, which
   * `pods` does not match). Default all.
   */
  resources?: string[];
  /** Stop injecting errors and timeouts after this many. Default unlimited. */
  maxFaults?: number;
  /** Also fault discovery (`/api`, `/apis/...`, `/version`). Default false. */
  includeDiscovery?: boolean;
  /** Reseeds the PRNG; default the stand-in's `seed`. */
  seed?: number;
};

export type FaultDecision = {
  latencyMs: number;
  fault?: { kind: 'error'; status: number; afterApply: boolean } | { kind: 'timeout'; hangMs: number };
};

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class FaultInjector {
  private faults: KubeFaults | undefined;
  private random: () => number;
  private injected = 0;

  constructor(private readonly seed: number) {
    this.random = seededRandom(seed);
  }

  set(faults: KubeFaults): void {
    for (const rate of [faults.errorRate, faults.timeoutRate]) {
      if (rate !== undefined && (rate < 0 || rate > 1))
        throw new Error('kube stand-in fault rates must be within 0..1');
    }
    this.faults = faults;
    this.random = seededRandom(faults.seed ?? this.seed);
    this.injected = 0;
  }

  clear(): void {
    this.faults = undefined;
  }

  /** What to do to one request; undefined when no fault setting matches it. */
  decide(method: string, resource: string | undefined): FaultDecision | undefined {
    const f = this.faults;
    if (!f) return undefined;
    if (resource === undefined && !f.includeDiscovery) return undefined;
    if (f.methods && !f.methods.includes(method)) return undefined;
    if (f.resources && (resource === undefined || !f.resources.includes(resource))) return undefined;
    const decision: FaultDecision = { latencyMs: this.latency(f.latencyMs) };
    if (f.maxFaults !== undefined && this.injected >= f.maxFaults) return decision;
    if (f.timeoutRate && this.random() < f.timeoutRate) {
      this.injected++;
      decision.fault = { kind: 'timeout', hangMs: f.hangMs ?? 100 };
    } else if (f.errorRate && this.random() < f.errorRate) {
      this.injected++;
      const statuses = f.statuses?.length ? f.statuses : [500, 503, 429];
      const status = statuses[Math.floor(this.random() * statuses.length)]!;
      decision.fault = { kind: 'error', status, afterApply: (f.applyThenFail ?? false) && WRITES.has(method) };
    }
    return decision;
  }

  private latency(setting: KubeFaults['latencyMs']): number {
    if (setting === undefined) return 0;
    if (typeof setting === 'number') return setting;
    const [min, max] = setting;
    return min + this.random() * (max - min);
  }
}
