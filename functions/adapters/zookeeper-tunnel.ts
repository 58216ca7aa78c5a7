import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, type Readable, Writable } from 'node:stream';
import { ApiException, type KubeConfig, KubernetesObjectApi, PortForward, type V1Pod } from '@kubernetes/client-node';
import { FlinkplaneError } from '../core/errors.ts';

/** How long a pod list is reused before the next connection lists again. */
const POD_LIST_TTL_MS = 10_000;
/** How long one Kubernetes API call (a pod list, a port-forward handshake) may take. */
const DEFAULT_API_TIMEOUT_MS = 10_000;

export type ZooKeeperTunnelOptions = {
  /** The API server and credentials; asked again for every pod list and every forward, so a new token is used. */
  kubeConfig: () => Promise<KubeConfig>;
  /** Namespace of the ZooKeeper pods, e.g. `flinkplane-zookeeper`. */
  namespace: string;
  /** Label selector of the ZooKeeper server pods, e.g. `app.kubernetes.io/name=zookeeper`. */
  podLabelSelector: string;
  /** ZooKeeper's client port in the pods, e.g. 2181. */
  port: number;
  /** What the tunnel reaches, in error messages: the same tunnel serves the JobManager's REST API. @default ZooKeeper */
  label?: string;
  /** Limit of one API call (pod list, port-forward handshake); default 10 000 ms. */
  apiTimeoutMs?: number;
  /**
   * Told about forwards that fail after `connectString()` succeeded. Each such failure closes one ZooKeeper
   * connection, which the ZooKeeper client retries; default none (the errors are dropped).
   */
  onError?: (error: FlinkplaneError) => void;
};

export type ZooKeeperTunnel = {
  /**
   * `127.0.0.1:<port>` of the tunnel's local listener (opened on first call), once a Ready pod is found and a
   * port-forward to it opens. Throws `dependency_unavailable` when there is no Ready pod, the API server refuses
   * (401, 403) or cannot be reached.
   */
  connectString(): Promise<string>;
  /** Stops listening and ends every forwarded connection. A later `connectString()` opens a new listener. */
  close(): Promise<void>;
};

/** The Ready pods of the last list, and where round-robin continues. */
type PodList = { names: string[]; next: number; listedAt: number };

/** The slice of the `ws` WebSocket that client-node's `PortForward` resolves with (ws ships no types). */
type ForwardSocket = {
  readonly readyState: number;
  on(event: 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  close(): void;
  terminate(): void;
};

/**
 * A local TCP endpoint for the shared ZooKeeper ensemble, tunnelled through the Kubernetes API server's pod
 * port-forward (the channel `kubectl port-forward` uses), so the control plane reaches ZooKeeper without VPC placement
 * and the ensemble's NetworkPolicy stays closed: forwarded traffic enters the pod's network namespace on loopback.
 *
 * Every accepted connection gets its own port-forward WebSocket to a Ready pod matching the selector, round-robin.
 * When a forward cannot be opened, the pods are listed again (a restarted pod may have moved) and another is tried
 * once. Needs `get`, `list` on `pods` and `get`, `create` on `pods/portforward` in the namespace.
 */
export function createZooKeeperTunnel(options: ZooKeeperTunnelOptions): ZooKeeperTunnel {
  const { namespace, podLabelSelector, port } = options;
  const label = options.label ?? 'ZooKeeper';
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const where = { namespace, podLabelSelector, port };
  let listening: { server: Server; address: Promise<string> } | undefined;
  let pods: PodList | undefined;
  let listing: Promise<PodList> | undefined;
  const connections = new Set<() => void>();

  /** Lists the Ready pods; concurrent callers share one request. */
  function listReadyPods(): Promise<PodList> {
    listing ??= fetchReadyPods().finally(() => {
      listing = undefined;
    });
    return listing;
  }

  async function fetchReadyPods(): Promise<PodList> {
    const config = await options.kubeConfig();
    let items: V1Pod[];
    try {
      // The generic object API, which the applier already uses: the typed CoreV1Api would add ~0.5 MB to the bundle.
      const objects = KubernetesObjectApi.makeApiClient(config);
      const request = objects.list<V1Pod>(
        'v1',
        'Pod',
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        podLabelSelector,
      );
      items = (await withTimeout(request, apiTimeoutMs, `listing the ${label} pods`)).items;
    } catch (error) {
      throw unavailable(label, `could not list the ${label} pods in ${namespace}`, error, where);
    }
    const ready = items.filter(isReady).map((pod) => pod.metadata!.name!);
    if (ready.length === 0) {
      throw new FlinkplaneError(
        'dependency_unavailable',
        `No Ready ${label} pod in namespace ${namespace} matches ${podLabelSelector} (${items.length} matching pods)`,
        { ...where, matchingPods: items.length },
      );
    }
    pods = { names: ready.sort(), next: 0, listedAt: Date.now() };
    return pods;
  }

  /** The next Ready pod, round-robin; lists again when the list is stale or `relist` is set. */
  async function nextPod(relist: boolean): Promise<string> {
    const list = !relist && pods && Date.now() - pods.listedAt <= POD_LIST_TTL_MS ? pods : await listReadyPods();
    const name = list.names[list.next % list.names.length]!;
    list.next++;
    return name;
  }

  /**
   * Opens a port-forward to `pod`: what the pod sends goes to `output`, what `input` yields goes to the pod, and the
   * kubelet's error channel ("connection refused" inside the pod, …) to `onPodError`. Resolves once the WebSocket is
   * open; rejects with `dependency_unavailable` when the API server answers anything but 101 or not in time.
   */
  async function openForward(
    pod: string,
    output: Writable,
    input: Readable,
    onPodError: (message: string) => void,
  ): Promise<ForwardSocket> {
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const message = chunk.toString('utf8').trim();
        if (message !== '') onPodError(message);
        done();
      },
    });
    try {
      const config = await options.kubeConfig();
      const forwarding = new PortForward(config, true).portForward(namespace, pod, [port], output, errors, input);
      const ws = await withTimeout(forwarding, apiTimeoutMs, `opening a port-forward to ${pod}`, (late) => {
        // The handshake finished after we gave up: nobody will read from that WebSocket.
        (late as unknown as ForwardSocket).terminate();
      });
      return ws as unknown as ForwardSocket;
    } catch (error) {
      throw unavailable(label, `could not open a port-forward to ${label} pod ${namespace}/${pod}:${port}`, error, {
        ...where,
        pod,
      });
    }
  }

  /** Pipes one accepted connection through a port-forward; never throws, since nobody awaits it. */
  async function tunnel(socket: Socket): Promise<void> {
    let ws: ForwardSocket | undefined;
    let ended = false;
    const end = () => {
      ended = true;
      socket.destroy();
      if (ws && ws.readyState <= 1) ws.terminate();
    };
    connections.add(end);
    // ZooKeeper clients drop connections on session moves and timeouts; a reset is normal here.
    socket.on('error', () => end());
    socket.on('close', () => {
      connections.delete(end);
      end();
    });
    let lastError: unknown;
    for (let attempt = 0; attempt < 2 && !ended; attempt++) {
      let pod: string;
      try {
        pod = await nextPod(attempt > 0);
      } catch (error) {
        lastError = error;
        break;
      }
      try {
        const onPodError = (message: string) => {
          pods = undefined;
          const details = { ...where, pod };
          report(
            new FlinkplaneError('dependency_unavailable', `The port-forward to ${pod} failed: ${message}`, details),
          );
          end();
        };
        ws = await openForward(pod, socket, socket, onPodError);
      } catch (error) {
        pods = undefined;
        lastError = error;
        // After a timeout the late handshake may still take the socket's data: no second forward on this one.
        if (error instanceof FlinkplaneError && error.details.timedOut) break;
        continue;
      }
      if (ended) {
        ws.terminate();
        return;
      }
      ws.on('error', () => end());
      // The pod side closed (or the API server ended the stream): end the local side after what was written.
      ws.on('close', () => socket.end());
      return;
    }
    if (!ended && lastError !== undefined) report(asUnavailable(label, lastError));
    end();
  }

  function report(error: FlinkplaneError): void {
    try {
      options.onError?.(error);
    } catch {
      // A failing error listener must not take the process down.
    }
  }

  function listen(): Promise<string> {
    if (listening) return listening.address;
    const server = createServer((socket) => void tunnel(socket));
    // A listener that fails after it started (EMFILE on accept, …) is reported, never thrown from an event.
    const address = new Promise<string>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        server.on('error', (error) =>
          report(new FlinkplaneError('internal', `The ${label} tunnel's listener failed: ${error.message}`, where)),
        );
        resolve(`127.0.0.1:${(server.address() as { port: number }).port}`);
      });
    });
    // The tunnel must not keep a process alive on its own; open connections do while they last.
    server.unref();
    const current = { server, address };
    listening = current;
    address.catch(() => {
      if (listening === current) listening = undefined;
    });
    return address;
  }

  return {
    async connectString() {
      const address = await listen();
      // Prove the path once per call: the list (RBAC on pods, a Ready pod) and a forward (RBAC on pods/portforward).
      const pod = await nextPod(true);
      const ignore = new Writable({ write: (_chunk, _encoding, done) => done() });
      const probe = await openForward(pod, ignore, new PassThrough(), () => {}).catch((error: unknown) => {
        pods = undefined;
        throw error;
      });
      probe.on('error', () => {});
      probe.close();
      return address;
    },

    async close() {
      const current = listening;
      listening = undefined;
      pods = undefined;
      for (const end of [...connections]) end();
      connections.clear();
      if (!current) return;
      await new Promise<void>((resolve) => current.server.close(() => resolve()));
    },
  };
}

/** Ready as the endpoints controller sees it: Running, not being deleted, condition Ready True. */
function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    !pod.metadata?.deletionTimestamp &&
    (pod.status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True')
  );
}

function asUnavailable(label: string, error: unknown): FlinkplaneError {
  return error instanceof FlinkplaneError ? error : unavailable(label, 'failed', error, {});
}

/** A `dependency_unavailable` error naming what the API server answered, without the request's credentials. */
function unavailable(label: string, action: string, error: unknown, context: Record<string, unknown>): FlinkplaneError {
  if (error instanceof FlinkplaneError) return error;
  const status = httpStatus(error);
  const timedOut = error instanceof TimeoutError;
  const why =
    status === 401
      ? 'the Kubernetes API server did not accept the credentials (401)'
      : status === 403
        ? 'the Kubernetes API server forbids it (403): check the control plane Role in the namespace'
        : status !== undefined
          ? `the Kubernetes API server answered ${status}`
          : timedOut
            ? `the Kubernetes API server did not answer in time (${errorMessage(error)})`
            : `the Kubernetes API server could not be reached (${errorMessage(error)})`;
  return new FlinkplaneError(
    'dependency_unavailable',
    `The ${label} tunnel ${action}: ${why}`,
    { ...context, ...(status !== undefined ? { status } : timedOut ? { timedOut } : {}) },
    { cause: error },
  );
}

/** The HTTP status from client-node's `ApiException` or from the `ws` handshake error ("Unexpected server response"). */
function httpStatus(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const match = /Unexpected server response: (\d{3})/.exec(errorMessage(error));
  return match ? Number(match[1]) : undefined;
}

/** client-node rejects a failed handshake with the WebSocket `ErrorEvent`, which is no `Error`. */
function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is its cause.
    const cause =
      error.cause instanceof Error ? `: ${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  if (typeof error === 'object' && error !== null) {
    const event = error as { message?: unknown; error?: unknown };
    if (typeof event.message === 'string') return event.message;
    if (event.error instanceof Error) return event.error.message;
  }
  return String(error);
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Rejects when `promise` takes longer than `ms`; a result that arrives later goes to `onLate`. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onLate?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new TimeoutError(`${what} took longer than ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) onLate?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!timedOut) reject(error);
      },
    );
  });
}
