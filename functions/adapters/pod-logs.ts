import { PassThrough } from 'node:stream';
import { ApiException, CoreV1Api, type KubeConfig, Log } from '@kubernetes/client-node';
import { FlinkplaneError } from '../core/errors.ts';
import type { LogRequest, LogStream, PodLogs, PodSummary } from '../core/logs.ts';

export type PodLogsOptions = {
  kubeConfig: () => Promise<KubeConfig>;
};

/**
 * The Kubernetes pods and pods/log API (`kubectl logs`): lists a namespace's pods and streams a container's log,
 * following it while asked. Needs `list` on pods and `get` on `pods/log` in tenant namespaces.
 */
export function createPodLogs(options: PodLogsOptions): PodLogs {
  return {
    async listPods(namespace) {
      const kubeConfig = await options.kubeConfig();
      const core = kubeConfig.makeApiClient(CoreV1Api);
      const list = await core.listNamespacedPod({ namespace }).catch((error: unknown) => {
        throw kubernetesError(error, `listing the pods of ${namespace}`);
      });
      return list.items
        .filter((pod) => !pod.metadata?.deletionTimestamp)
        .map(
          (pod): PodSummary => ({
            name: pod.metadata?.name ?? '',
            labels: pod.metadata?.labels ?? {},
            ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
            containers: (pod.spec?.containers ?? []).map((container) => container.name),
            ...(pod.status?.startTime ? { startTime: new Date(pod.status.startTime).toISOString() } : {}),
          }),
        );
    },

    async readLog(namespace, request: LogRequest): Promise<LogStream> {
      const kubeConfig = await options.kubeConfig();
      const output = new PassThrough();
      // The API server's own bound on a follow is the connection; the reader's going away aborts the request.
      const controller = await new Log(kubeConfig)
        .log(namespace, request.pod, request.container, output, {
          follow: request.follow,
          tailLines: request.tailLines,
          ...(request.sinceSeconds === undefined ? {} : { sinceSeconds: request.sinceSeconds }),
        })
        .catch((error: unknown) => {
          output.destroy();
          throw kubernetesError(error, `reading the log of ${request.pod}/${request.container}`, request);
        });
      return {
        [Symbol.asyncIterator]: () => output[Symbol.asyncIterator](),
        close() {
          controller.abort();
          output.end();
        },
      };
    },
  };
}

function kubernetesError(error: unknown, doing: string, request?: LogRequest): FlinkplaneError {
  const status = error instanceof ApiException ? error.code : undefined;
  if (status === 404 && request) {
    return new FlinkplaneError('not_found', `There is no pod ${request.pod}`, { pod: request.pod });
  }
  if (status === 400 && request) {
    // The kubelet answers 400 for a container that has not started yet (or is being pulled).
    return new FlinkplaneError('conflict', `Container ${request.container} of pod ${request.pod} has not started yet`, {
      pod: request.pod,
      container: request.container,
    });
  }
  return new FlinkplaneError('dependency_unavailable', `The Kubernetes API failed while ${doing}`, {
    ...(status === undefined ? {} : { status }),
  });
}
