import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { FlinkplaneError } from '../core/errors.ts';
import { COMPONENT_NAMES, PORTS } from '../core/naming.ts';
import type { FlinkJar, FlinkJson, FlinkOverview, FlinkRest, FlinkRunRequest } from '../core/ports.ts';
import { createZooKeeperTunnel } from './zookeeper-tunnel.ts';

/** How long one REST call may take once the tunnel is open. */
const DEFAULT_TIMEOUT_MS = 5_000;
/**
 * How long a JAR upload or a run may take: an upload streams up to 500 MiB, and a run executes the job's `main` on
 * the JobManager to build its graph. A JobManager that stops answering mid-way still fails the call at this bound.
 */
const DEFAULT_LONG_TIMEOUT_MS = 120_000;
/** How much of Flink's error text a `flink_rejected` carries. */
const MAX_FLINK_ERROR_CHARS = 4_000;

/** The JobManager pods of a tenant namespace: the labels its Deployment selects by. */
const JOBMANAGER_SELECTOR = 'app.kubernetes.io/name=flink,app.kubernetes.io/component=jobmanager';

type Method = 'GET' | 'POST' | 'PATCH';

export type FlinkRestOptions = {
  kubeConfig: () => Promise<KubeConfig>;
  /** Each ordinary call (reads, triggers, cancel). @default 5 000 ms */
  timeoutMs?: number;
  /** A JAR upload and a run. @default 120 000 ms */
  longTimeoutMs?: number;
};

/**
 * The tenants' JobManager REST APIs, reached through a port-forward into the Ready JobManager pod (the same channel
 * as the ZooKeeper tunnel): the control plane needs no route into tenant namespaces and their NetworkPolicies stay
 * closed to it. Needs `list` on pods and `create` on `pods/portforward` in tenant namespaces.
 *
 * A 2xx answer is parsed as JSON; 503 (no leader yet) and no answer are `dependency_unavailable`; any other status is
 * `flink_rejected`, with Flink's status and its own error lines in the details.
 */
export function createFlinkRest(options: FlinkRestOptions): FlinkRest {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const longTimeoutMs = options.longTimeoutMs ?? DEFAULT_LONG_TIMEOUT_MS;

  async function withTunnel<T>(namespace: string, action: (address: string) => Promise<T>): Promise<T> {
    const tunnel = createZooKeeperTunnel({
      kubeConfig: options.kubeConfig,
      namespace,
      podLabelSelector: JOBMANAGER_SELECTOR,
      port: PORTS.rest,
      label: 'JobManager REST',
      apiTimeoutMs: timeoutMs,
    });
    try {
      return await action(await tunnel.connectString());
    } finally {
      await tunnel.close();
    }
  }

  async function call(
    namespace: string,
    method: Method,
    path: string,
    body?: unknown,
    deadlineMs = timeoutMs,
  ): Promise<FlinkJson> {
    return withTunnel(namespace, async (address) => {
      let response: Response;
      try {
        response = await fetch(`http://${address}${path}`, {
          method,
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
          signal: AbortSignal.timeout(deadlineMs),
        });
      } catch (error) {
        throw unanswered(namespace, path, error);
      }
      return answer(namespace, path, response.status, await response.text());
    });
  }

  function uploadJar(
    namespace: string,
    fileName: string,
    body: AsyncIterable<Uint8Array>,
    bytes: number,
  ): Promise<FlinkJar> {
    const path = '/jars/upload';
    const boundary = `----flinkplane${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="${fileName}"\r\n` +
        'Content-Type: application/java-archive\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    async function* parts(): AsyncIterable<Uint8Array> {
      yield head;
      yield* body;
      yield tail;
    }
    return withTunnel(namespace, (address) => {
      const [host, port] = address.split(':');
      return new Promise<FlinkJar>((resolve, reject) => {
        // node:http rather than fetch: Flink's multipart decoder is given the exact length, and the body streams.
        const request = httpRequest(
          {
            host,
            port: Number(port),
            method: 'POST',
            path,
            headers: {
              'content-type': `multipart/form-data; boundary=${boundary}`,
              'content-length': head.length + bytes + tail.length,
            },
            timeout: longTimeoutMs,
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', (error) => reject(unanswered(namespace, path, error)));
            response.on('end', () => {
              try {
                const json = answer(namespace, path, response.statusCode ?? 0, Buffer.concat(chunks).toString());
                const filename = String(json.filename ?? '');
                resolve({ id: filename.split('/').at(-1) ?? filename, name: fileName });
              } catch (error) {
                reject(error);
              }
            });
          },
        );
        request.on('timeout', () => request.destroy(new Error(`no answer within ${longTimeoutMs} ms`)));
        request.on('error', (error) => reject(unanswered(namespace, path, error)));
        const source = Readable.from(parts());
        source.on('error', (error) => request.destroy(error));
        source.pipe(request);
      });
    });
  }

  const job = (jobId: string) => `/jobs/${encodeURIComponent(jobId)}`;

  return {
    async overview(namespace): Promise<FlinkOverview> {
      const body = await call(namespace, 'GET', '/overview');
      return {
        taskManagers: Number(body.taskmanagers ?? 0),
        slotsTotal: Number(body['slots-total'] ?? 0),
        flinkVersion: String(body['flink-version'] ?? ''),
        jobsRunning: Number(body['jobs-running'] ?? 0),
      };
    },
    async listJars(namespace) {
      const body = await call(namespace, 'GET', '/jars');
      const files = Array.isArray(body.files) ? (body.files as FlinkJson[]) : [];
      return files.map((file) => ({ id: String(file.id ?? ''), name: String(file.name ?? '') }));
    },
    uploadJar,
    async runJar(namespace, flinkJarId, request: FlinkRunRequest) {
      const body = await call(namespace, 'POST', `/jars/${encodeURIComponent(flinkJarId)}/run`, request, longTimeoutMs);
      return String(body.jobid ?? '');
    },
    jobsOverview: (namespace) => call(namespace, 'GET', '/jobs/overview'),
    job: (namespace, jobId) => call(namespace, 'GET', job(jobId)),
    jobCheckpoints: (namespace, jobId) => call(namespace, 'GET', `${job(jobId)}/checkpoints`),
    jobExceptions: (namespace, jobId) => call(namespace, 'GET', `${job(jobId)}/exceptions`),
    async jobRestarts(namespace, jobId) {
      const body = await call(namespace, 'GET', `${job(jobId)}/metrics?get=numRestarts`);
      const metrics = Array.isArray(body) ? (body as FlinkJson[]) : [];
      const value = Number(metrics.find((metric) => metric.id === 'numRestarts')?.value);
      return Number.isFinite(value) ? value : undefined;
    },
    async triggerSavepoint(namespace, jobId, targetDirectory) {
      const body = await call(namespace, 'POST', `${job(jobId)}/savepoints`, {
        'target-directory': targetDirectory,
        'cancel-job': false,
      });
      return String(body['request-id'] ?? '');
    },
    async stopWithSavepoint(namespace, jobId, targetDirectory, drain) {
      const body = await call(namespace, 'POST', `${job(jobId)}/stop`, { targetDirectory, drain });
      return String(body['request-id'] ?? '');
    },
    savepointStatus: (namespace, jobId, triggerId) =>
      call(namespace, 'GET', `${job(jobId)}/savepoints/${encodeURIComponent(triggerId)}`),
    async cancelJob(namespace, jobId) {
      await call(namespace, 'PATCH', `${job(jobId)}?mode=cancel`);
    },
  };
}

/** A 2xx answer's JSON (an array stays an array); otherwise the error its status means. */
function answer(namespace: string, path: string, status: number, text: string): FlinkJson {
  if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as FlinkJson;
  const flink = flinkErrors(text);
  if (status === 503) {
    throw new FlinkplaneError('dependency_unavailable', `The JobManager in ${namespace} answered ${path} with 503`, {
      namespace,
      path,
      status,
      flink,
    });
  }
  throw new FlinkplaneError(
    'flink_rejected',
    `The JobManager refused ${path.split('?')[0]} (${status}): ${flink[0]?.split('\n')[0]?.slice(0, 300) ?? 'no reason given'}`,
    { status, flink },
  );
}

/** Flink's `{"errors": [...]}` lines, each cut to a bound; a body of another shape is kept as one line. */
function flinkErrors(text: string): string[] {
  let lines: string[];
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    lines = Array.isArray(parsed.errors) ? parsed.errors.map(String) : [text];
  } catch {
    lines = text ? [text] : [];
  }
  let left = MAX_FLINK_ERROR_CHARS;
  const kept: string[] = [];
  for (const line of lines) {
    if (left <= 0) break;
    kept.push(line.slice(0, left));
    left -= line.length;
  }
  return kept;
}

function unanswered(namespace: string, path: string, error: unknown): FlinkplaneError {
  return new FlinkplaneError(
    'dependency_unavailable',
    `The JobManager ${COMPONENT_NAMES.jobManager} in ${namespace} did not answer ${path.split('?')[0]}: ${describe(error)}`,
    { namespace, path: path.split('?')[0] },
    { cause: error },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause =
      error.cause instanceof Error ? ` (${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
