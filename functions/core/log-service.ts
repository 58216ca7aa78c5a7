/** The tenant-facing log reads the routes call; the rules are `logs.ts`. */
import type { ClusterRecords } from './cluster-records.ts';
import { FlinkplaneError } from './errors.ts';
import {
  type LogPodView,
  type LogQueryInput,
  type LogStream,
  type PodLogs,
  parseLogQuery,
  readablePods,
} from './logs.ts';
import { tenantNames } from './naming.ts';
import { authorizeTenant, type Principal } from './principal.ts';

/** The tenant-facing log reads; every call acts only in the principal's own tenant's namespace. */
export class LogService {
  private readonly records: ClusterRecords;
  private readonly podLogs: PodLogs | undefined;

  constructor(records: ClusterRecords, podLogs: PodLogs | undefined) {
    this.records = records;
    this.podLogs = podLogs;
  }

  /** The JobManager, TaskManager and proxy pods of the tenant's cluster, with the containers it may read. */
  async listPods(principal: Principal, tenant: string): Promise<LogPodView[]> {
    const { namespace, podLogs } = await this.namespaceOf(principal, tenant);
    return readablePods(await podLogs.listPods(namespace));
  }

  /**
   * Opens a container's log: the tail (`tailLines`, at most `MAX_TAIL_LINES`, lines not older than `since`,
   * at most 24 h), then, with `follow`, new lines as they come. The container defaults to the pod's only readable one.
   */
  async readLog(principal: Principal, tenant: string, query: LogQueryInput): Promise<LogStream> {
    authorizeTenant(principal, tenant);
    const { request, issues } = parseLogQuery(query);
    if (!request) {
      const summary = issues.map((issue) => `${issue.field} ${JSON.stringify(issue.value)}: ${issue.rule}`);
      throw new FlinkplaneError('invalid_request', `Invalid log query: ${summary.join('; ')}`, { issues });
    }
    const { namespace, podLogs } = await this.namespaceOf(principal, tenant);
    const pod = readablePods(await podLogs.listPods(namespace)).find((found) => found.name === request.pod);
    // A pod of the namespace that is not a JobManager, TaskManager or proxy is as absent as one that does not exist.
    if (!pod) {
      throw new FlinkplaneError(
        'not_found',
        `Tenant ${tenant} has no JobManager, TaskManager or proxy pod ${request.pod}`,
        {
          pod: request.pod,
        },
      );
    }
    const container = request.container || pod.containers[0]!;
    if (!pod.containers.includes(container)) {
      throw new FlinkplaneError(
        'invalid_request',
        `Invalid container: pod ${pod.name} has ${pod.containers.join(', ')}`,
        {
          issues: [{ field: 'container', value: container, rule: `one of ${pod.containers.join(', ')}` }],
        },
      );
    }
    return podLogs.readLog(namespace, { ...request, container });
  }

  private async namespaceOf(principal: Principal, tenant: string) {
    authorizeTenant(principal, tenant);
    await this.records.requireTenant(tenant, principal);
    await this.records.requireCluster(tenant);
    if (!this.podLogs) {
      throw new FlinkplaneError('dependency_unavailable', 'Pod logs are not available on this control plane');
    }
    return { namespace: tenantNames(tenant, this.records.deps.platform).namespace, podLogs: this.podLogs };
  }
}
