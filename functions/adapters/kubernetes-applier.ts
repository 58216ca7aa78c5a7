import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  ApiException,
  createConfiguration,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type RequestContext,
  ServerConfiguration,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { DESTROYABLE_KINDS, deleteOnDestroySelector } from '../core/destroy-contract.ts';
import { FlinkplaneError } from '../core/errors.ts';
import type {
  AppliedObjects,
  DeploymentFacts,
  KubeObject,
  KubernetesApplier,
  KubernetesObserver,
  PodFacts,
} from '../core/ports.ts';

/** The one field manager under which the control plane owns the fields it applies. */
export const FIELD_MANAGER = 'flinkplane';

export interface KubernetesApplierOptions {
  /** The cluster's config; called per operation so EKS tokens can be refreshed. */
  readonly kubeConfig: () => Promise<KubeConfig>;
  /** Attempts per call for answers that may pass (429, 5xx, timeouts). @default 5 */
  readonly attempts?: number;
  /** First back-off delay; doubles each attempt. @default 50 ms */
  readonly backoffMs?: number;
  /**
   * How long one request may take before it is aborted and counts as a failed attempt, so an API server that accepts
   * a connection and never answers costs `attempts` times this, not the Lambda's whole timeout. @default 10 s
   */
  readonly requestTimeoutMs?: number;
  /** How long purge waits for a namespace to be gone. @default 60 s */
  readonly namespaceDeletionTimeoutMs?: number;
  /**
   * Called when the API server answers 401, before one more attempt: an EKS token can be refused before its own
   * refresh time (clock skew, a rotated role), and the next `kubeConfig()` should sign a new one. @default none
   */
  readonly onUnauthorized?: () => void;
}

/**
 * Applies a tenant's objects with server-side apply through `@kubernetes/client-node`, and reports their status back
 * as plain facts (the core's observer judges them).
 */
export function createKubernetesApplier(options: KubernetesApplierOptions): KubernetesApplier & KubernetesObserver {
  /** The Deployments as the API server answered each apply, for `observe` (the core holds the key, opaque to it). */
  const appliedDeployments = new WeakMap<AppliedObjects, readonly V1Deployment[]>();
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 50;
  let cached: { config: KubeConfig; api: KubernetesObjectApi } | undefined;
  const api = async () => {
    const config = await options.kubeConfig();
    if (cached?.config !== config) {
      cached = { config, api: KeepAliveObjectApi.forConfig(config, options.requestTimeoutMs ?? 10_000) };
    }
    return cached.api;
  };
  const call = async <T>(what: string, action: (client: KubernetesObjectApi) => Promise<T>): Promise<T> => {
    try {
      return await retrying(what, attempts, backoffMs, async () => action(await api()));
    } catch (error) {
      const refused = error instanceof FlinkplaneError && error.details.status === 401;
      if (!options.onUnauthorized || !refused) throw error;
      options.onUnauthorized();
      return retrying(what, attempts, backoffMs, async () => action(await api()));
    }
  };

  return {
    async apply(stages) {
      const deployments: V1Deployment[] = [];
      let namespace = '';
      for (const stage of stages) {
        const stored = await Promise.all(
          stage.map((object) =>
            call(`apply ${describe(object)}`, (client) =>
              client.patch(
                toClientModel(object),
                undefined,
                undefined,
                FIELD_MANAGER,
                true,
                PatchStrategy.ServerSideApply,
              ),
            ),
          ),
        );
        for (const object of stored) {
          namespace ||= object.metadata?.namespace ?? '';
          if (object.kind === 'Deployment') deployments.push(object as V1Deployment);
        }
      }
      const applied: AppliedObjects = { namespace };
      appliedDeployments.set(applied, deployments);
      return applied;
    },

    async deleteNotRetained(tenant, namespace) {
      const selector = deleteOnDestroySelector(tenant);
      const deleted: string[] = [];
      for (const { apiVersion, kind } of DESTROYABLE_KINDS) {
        const list = await ignoreNotFound(
          call(`list ${kind}`, (client) =>
            client.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector),
          ),
        );
        await Promise.all(
          (list?.items ?? []).map(async (item) => {
            const target = { apiVersion, kind, metadata: { name: item.metadata!.name!, namespace } };
            await ignoreNotFound(
              call(`delete ${kind} ${target.metadata.name}`, (client) =>
                client.delete(target, undefined, undefined, undefined, undefined, 'Background'),
              ),
            );
            deleted.push(`${kind}/${target.metadata.name}`);
          }),
        );
      }
      return deleted.sort();
    },

    async deleteNamespace(namespace) {
      const target = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } };
      await ignoreNotFound(call(`delete namespace ${namespace}`, (client) => client.delete(target)));
      const deadline = Date.now() + (options.namespaceDeletionTimeoutMs ?? 60_000);
      while (Date.now() < deadline) {
        const found = await ignoreNotFound(call(`read namespace ${namespace}`, (client) => client.read(target)));
        if (!found) return;
        await sleep(100);
      }
      throw new FlinkplaneError(
        'dependency_unavailable',
        `Namespace ${namespace} is still terminating; retry the purge`,
        {
          namespace,
        },
      );
    },

    async observe(namespace, applied) {
      const justApplied = applied?.namespace === namespace ? appliedDeployments.get(applied) : undefined;
      // The namespace holds only the tenant's objects: one list of Deployments rather than a read of each.
      const [deployments, pods] = await Promise.all([
        justApplied ??
          call('list deployments', (client) => client.list<V1Deployment>('apps/v1', 'Deployment', namespace)).then(
            (list) => list.items,
          ),
        call('list pods', (client) => client.list<V1Pod>('v1', 'Pod', namespace)),
      ]);
      return { deployments: deployments.map(deploymentFacts), pods: pods.items.map(podFacts) };
    },
  };
}

/**
 * client-node gives every request a new agent without keep-alive, so each call opened a connection (against EKS, a
 * TLS handshake) of its own. This client reuses one keep-alive agent with the same TLS options per kubeconfig. Agents
 * of proxies are left as they are. Every request is aborted after `requestTimeoutMs` (body included).
 */
class KeepAliveObjectApi extends KubernetesObjectApi {
  static forConfig(config: KubeConfig, requestTimeoutMs: number): KubernetesObjectApi {
    let shared: HttpAgent | undefined;
    const reuseConnections = (context: RequestContext) => {
      const agent = context.getAgent();
      if (agent?.constructor !== HttpAgent && agent?.constructor !== HttpsAgent) return;
      // Node keeps an agent's constructor options (the CA, client certificate, servername) in `options`.
      const { options } = agent as HttpAgent & { options?: object };
      shared ??= new (agent.constructor as typeof HttpAgent)({ ...options, keepAlive: true });
      context.setAgent(shared);
    };
    const server = config.getCurrentCluster()?.server;
    if (!server) throw new Error('The kubeconfig has no current cluster');
    const api = new KeepAliveObjectApi(
      createConfiguration({
        baseServer: new ServerConfiguration(server, {}),
        authMethods: {
          default: {
            getName: () => config.getName(),
            applySecurityAuthentication: async (context) => {
              await config.applySecurityAuthentication(context);
              reuseConnections(context);
              context.setSignal(AbortSignal.timeout(requestTimeoutMs));
            },
          },
        },
      }),
    );
    api.setDefaultNamespace(config);
    return api;
  }
}

function deploymentFacts(deployment: V1Deployment): DeploymentFacts {
  const status = deployment.status;
  return {
    name: deployment.metadata?.name ?? '',
    generation: deployment.metadata?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    desired: deployment.spec?.replicas ?? 1,
    replicas: status?.replicas ?? 0,
    updated: status?.updatedReplicas ?? 0,
    ready: status?.readyReplicas ?? 0,
    conditions: (status?.conditions ?? []).map((condition) => ({
      type: condition.type,
      status: condition.status,
      ...(condition.reason ? { reason: condition.reason } : {}),
      ...(condition.message ? { message: condition.message } : {}),
    })),
  };
}

function podFacts(pod: V1Pod): PodFacts {
  const unschedulable = pod.status?.conditions?.find(
    (condition) => condition.type === 'PodScheduled' && condition.status === 'False',
  );
  return {
    name: pod.metadata?.name ?? '',
    containers: (pod.status?.containerStatuses ?? []).map((container) => {
      const waiting = container.state?.waiting;
      const terminated = container.lastState?.terminated;
      return {
        name: container.name,
        ...(waiting ? { waiting: { reason: waiting.reason, message: waiting.message } } : {}),
        ...(terminated ? { lastTerminated: { exitCode: terminated.exitCode, message: terminated.message } } : {}),
      };
    }),
    ...(unschedulable ? { unschedulable: { reason: unschedulable.reason, message: unschedulable.message } } : {}),
  };
}

/**
 * client-node serializes its own model classes, whose field names differ from the wire names in places (a
 * NetworkPolicy rule's `from` is `_from`): a plain object would lose those fields silently, and a NetworkPolicy rule
 * without `from` admits every source. Loading the wire form through the client's YAML loader gives the models.
 */
function toClientModel(object: KubeObject): KubernetesObject {
  return loadYaml<KubernetesObject>(JSON.stringify(object));
}

function describe(object: KubeObject): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  return undefined;
}

function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) {
    // Network failures (reset, refused, timed out) surface as plain errors from fetch.
    return error instanceof Error;
  }
  return status === 429 || status >= 500;
}

async function retrying<T>(what: string, attempts: number, backoffMs: number, action: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      lastError = error;
      if (!isTransient(error) || attempt === attempts) break;
      await sleep(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
  const status = statusOf(lastError);
  if (status === 404) throw lastError;
  const message = kubernetesMessage(lastError);
  throw new FlinkplaneError(
    isTransient(lastError) ? 'dependency_unavailable' : 'internal',
    `Kubernetes refused to ${what}: ${message}`,
    { status: status ?? null },
    { cause: lastError },
  );
}

function kubernetesMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    if (typeof body === 'object' && body?.message) return body.message;
    if (typeof body === 'string') {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 200);
      } catch {
        return body.slice(0, 200);
      }
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function ignoreNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
