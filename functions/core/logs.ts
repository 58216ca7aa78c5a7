/**
 * The tenant's pod logs: which pods and containers a tenant may read (only its own namespace's JobManager,
 * TaskManagers and ZooKeeper proxy), the caps on how much it may ask for, and the port. The logs
 * themselves come through the {@link PodLogs} port (the Kubernetes pods/log API; the local kubelet's real process
 * output, or EKS). Pure: the console's types reach this file, so it imports nothing; the service is `log-service.ts`.
 */

/** The most lines a tail may ask for. */
export const MAX_TAIL_LINES = 10_000;
/** The lines a tail answers when it names none. */
export const DEFAULT_TAIL_LINES = 500;
/** The furthest back `since` may reach: 24 hours. */
export const MAX_SINCE_SECONDS = 24 * 60 * 60;

/**
 * The pods a tenant may read, by their `app.kubernetes.io/component` label, and the containers of each. Everything
 * else in the namespace (and any other container a pod may grow) stays unreadable.
 */
export const READABLE_CONTAINERS = {
  jobmanager: ['jobmanager'],
  taskmanager: ['taskmanager'],
  'zookeeper-proxy': ['zookeeper-proxy'],
} as const satisfies Record<string, readonly string[]>;

export type LogComponent = keyof typeof READABLE_CONTAINERS;

const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** A pod as the port lists it. */
export interface PodSummary {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly phase?: string;
  readonly containers: readonly string[];
  readonly startTime?: string;
}

/** A pod a tenant may read the logs of, as the API answers it. */
export interface LogPodView {
  readonly name: string;
  readonly component: LogComponent;
  readonly containers: readonly string[];
  readonly phase: string | null;
  readonly startTime: string | null;
}

/** What a log read asks the port for; every bound already checked. */
export interface LogRequest {
  readonly pod: string;
  readonly container: string;
  readonly tailLines: number;
  readonly sinceSeconds?: number;
  readonly follow: boolean;
}

/** A log as it comes: chunks of text, ended by the container, or by `close` (the reader went away). */
export interface LogStream extends AsyncIterable<Uint8Array> {
  close(): void;
}

/** The Kubernetes pods and pods/log API of one namespace at a time. */
export interface PodLogs {
  listPods(namespace: string): Promise<readonly PodSummary[]>;
  /**
   * Opens a container's log; rejects (`not_found`, `conflict` for a container not started) before any text is sent,
   * so the caller still answers with an error body.
   */
  readLog(namespace: string, request: LogRequest): Promise<LogStream>;
}

/** A query parameter that broke a rule: the field, the value given and the rule in words. */
export interface LogQueryIssue {
  readonly field: string;
  readonly value: unknown;
  readonly rule: string;
}

/** The query of `GET …/flink-cluster/logs` as it comes in: strings, any of them missing. */
export type LogQueryInput = Readonly<Record<string, string | undefined>>;

/** The parsed query: every issue found, not only the first, so one 400 names them all. */
export function parseLogQuery(query: LogQueryInput): { request?: LogRequest; issues: LogQueryIssue[] } {
  const issues: LogQueryIssue[] = [];
  const pod = query.pod;
  if (pod === undefined || pod === '') issues.push({ field: 'pod', value: pod ?? null, rule: 'required' });
  else if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(pod)) {
    issues.push({ field: 'pod', value: pod, rule: 'a Kubernetes pod name' });
  }
  const container = query.container;
  if (container !== undefined && container !== '' && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(container)) {
    issues.push({ field: 'container', value: container, rule: 'a Kubernetes container name' });
  }
  let tailLines = DEFAULT_TAIL_LINES;
  if (query.tailLines !== undefined) {
    const given = /^\d{1,9}$/.test(query.tailLines) ? Number(query.tailLines) : Number.NaN;
    if (!Number.isInteger(given) || given < 1 || given > MAX_TAIL_LINES) {
      issues.push({ field: 'tailLines', value: query.tailLines, rule: `an integer from 1 to ${MAX_TAIL_LINES}` });
    } else tailLines = given;
  }
  let sinceSeconds: number | undefined;
  if (query.since !== undefined) {
    sinceSeconds = parseDuration(query.since);
    if (sinceSeconds === undefined || sinceSeconds < 1 || sinceSeconds > MAX_SINCE_SECONDS) {
      issues.push({
        field: 'since',
        value: query.since,
        rule: `a duration from 1s to 24h (seconds, or a number with s, m or h)`,
      });
    }
  }
  let follow = false;
  if (query.follow !== undefined) {
    if (!['true', 'false', '1', '0'].includes(query.follow)) {
      issues.push({ field: 'follow', value: query.follow, rule: 'true or false' });
    } else follow = query.follow === 'true' || query.follow === '1';
  }
  if (issues.length > 0) return { issues };
  return {
    issues,
    request: {
      pod: pod!,
      container: container ?? '',
      tailLines,
      ...(sinceSeconds === undefined ? {} : { sinceSeconds }),
      follow,
    },
  };
}

/** `90`, `90s`, `15m`, `2h` in seconds; undefined for anything else. */
function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})([smh]?)$/.exec(text);
  if (!match) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600 }[match[2] as '' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/** The pods of a namespace a tenant may read, with only their readable containers, by component then name. */
export function readablePods(pods: readonly PodSummary[]): LogPodView[] {
  const order = Object.keys(READABLE_CONTAINERS);
  return pods
    .flatMap((pod): LogPodView[] => {
      const component = pod.labels[COMPONENT_LABEL];
      if (component === undefined || !Object.hasOwn(READABLE_CONTAINERS, component)) return [];
      const allowed: readonly string[] = READABLE_CONTAINERS[component as LogComponent];
      const containers = pod.containers.filter((name) => allowed.includes(name));
      if (containers.length === 0) return [];
      return [
        {
          name: pod.name,
          component: component as LogComponent,
          containers,
          phase: pod.phase ?? null,
          startTime: pod.startTime ?? null,
        },
      ];
    })
    .sort((a, b) => order.indexOf(a.component) - order.indexOf(b.component) || a.name.localeCompare(b.name));
}
