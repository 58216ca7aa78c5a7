import type { KubeConfig } from '@kubernetes/client-node';
import { FlinkplaneError } from '../core/errors.ts';
import { COMPONENT_NAMES, PORTS } from '../core/naming.ts';
import type { FlinkOverview, FlinkRest } from '../core/ports.ts';
import { createZooKeeperTunnel } from './zookeeper-tunnel.ts';

/** How long one REST call may take once the tunnel is open. */
const DEFAULT_TIMEOUT_MS = 5_000;

/** The JobManager pods of a tenant namespace: the labels its Deployment selects by. */
const JOBMANAGER_SELECTOR = 'app.kubernetes.io/name=flink,app.kubernetes.io/component=jobmanager';

/**
 * The tenants' JobManager REST APIs, reached through a port-forward into the Ready JobManager pod (the same channel
 * as the ZooKeeper tunnel): the control plane needs no route into tenant namespaces and their NetworkPolicies stay
 * closed to it. Needs `list` on pods and `create` on `pods/portforward` in tenant namespaces.
 */
export function createFlinkRest(options: { kubeConfig: () => Promise<KubeConfig>; timeoutMs?: number }): FlinkRest {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function get(namespace: string, path: string): Promise<unknown> {
    const tunnel = createZooKeeperTunnel({
      kubeConfig: options.kubeConfig,
      namespace,
      podLabelSelector: JOBMANAGER_SELECTOR,
      port: PORTS.rest,
      label: 'JobManager REST',
      apiTimeoutMs: timeoutMs,
    });
    try {
      const address = await tunnel.connectString();
      let response: Response;
      try {
        response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        throw new FlinkplaneError(
          'dependency_unavailable',
          `The JobManager ${COMPONENT_NAMES.jobManager} in ${namespace} did not answer ${path}: ${describe(error)}`,
          { namespace, path },
          { cause: error },
        );
      }
      const text = await response.text();
      if (!response.ok) {
        throw new FlinkplaneError(
          'dependency_unavailable',
          `The JobManager in ${namespace} answered ${path} with ${response.status}`,
          { namespace, path, status: response.status, flink: text.slice(0, 500) },
        );
      }
      return JSON.parse(text) as unknown;
    } finally {
      await tunnel.close();
    }
  }

  return {
    async overview(namespace): Promise<FlinkOverview> {
      const body = (await get(namespace, '/overview')) as Record<string, unknown>;
      return {
        taskManagers: Number(body.taskmanagers ?? 0),
        slotsTotal: Number(body['slots-total'] ?? 0),
        flinkVersion: String(body['flink-version'] ?? ''),
        jobsRunning: Number(body['jobs-running'] ?? 0),
      };
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause =
      error.cause instanceof Error ? ` (${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
