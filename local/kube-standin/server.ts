/**
 * The kube stand-in: an in-process Kubernetes API server for tests and the local control plane. It is the
 * only simulated part of Flinkplane. It speaks the real REST protocol (discovery, get/list/watch, create,
 * replace, JSON/merge/strategic/apply patches, delete, status and scale subresources, `Status` errors), so
 * `@kubernetes/client-node` and `kubectl` talk to it as to a cluster.
 *
 * Where it is simpler than the real API server:
 * - One process, objects in memory, optionally saved to one JSON file. resourceVersion is one global counter;
 *   list ignores `resourceVersion`/`resourceVersionMatch` (always the latest) and continue tokens do not pin
 *   a snapshot. Watch replays from a bounded history (older versions get 410) and sends no bookmarks.
 * - Plain HTTP on loopback, one optional bearer token (kubectl sends no credentials over plain HTTP, so it
 *   only connects to a stand-in started without `token`), no authorization (RBAC objects are stored, not
 *   enforced), JSON and YAML bodies only (no protobuf), no aggregated discovery, no CRDs, only the resources
 *   in resources.ts. OpenAPI v3 documents carry no schemas (enough for `kubectl apply`; not for `kubectl
 *   explain`), there is no OpenAPI v2, and `fieldValidation` is ignored: unknown fields are stored.
 * - Defaulting and validation cover the common fields only (defaults.ts, validation.ts). Some decode-error
 *   messages are paraphrased; NotFound, AlreadyExists, Conflict, Invalid, Forbidden (terminating namespace)
 *   and apply-conflict messages follow the real wording.
 * - Server-side apply (apply.ts) keys only well-known lists (containers, env, ports, volumes, ...; fields.ts)
 *   and treats every other list as atomic; `null` in an apply configuration means "not set"; managedFields
 *   sent by a client are ignored. Strategic merge patch is a merge patch that also merges those keyed lists.
 * - Deletion is immediate for everything but Pods on a node, which are deleted gracefully (deletionTimestamp and
 *   grace period set; the node stops them, then removes them). Foreground behaves as Background; garbage
 *   collection of dependents runs synchronously within the namespace. Finalizers are honoured.
 * - Namespaces: deleting one marks it Terminating, and after `namespaceDeletionDelayMs` its contents and
 *   then the namespace are removed. No `default` ServiceAccount or `kube-root-ca.crt` is created in new
 *   namespaces.
 * - One node. What runs its Pods is a PodRuntime (node/pod-runtime.ts): simulated by default (Pods turn ready after
 *   `readinessDelayMs`; nothing listens on their IPs), or the local kubelet's real processes. The node agent
 *   (node/node-agent.ts) hands the runtime the Pods bound to the node and writes back the status it reports; on
 *   start it starts every Pod bound to the node again, as after a reboot.
 * - Controllers (controllers/): Deployments and StatefulSets derive their status from their Pods only. Deployments
 *   own their Pods directly (no ReplicaSet objects; a revision is the Pods with one `pod-template-hash`); Recreate
 *   and RollingUpdate (maxSurge, maxUnavailable, minReadySeconds, progressDeadlineSeconds) behave as in a cluster.
 *   StatefulSets: OrderedReady or Parallel, one-at-a-time rolling update, no partition, no ControllerRevisions.
 *   No Endpoints, EndpointSlices, ReplicaSets, Jobs, HPA, PDB enforcement, taints or preemption.
 * - The scheduler (scheduler.ts) checks memory requests against the node's allocatable memory only.
 * - Events (`v1`; no `events.k8s.io`) are recorded for scheduling, the kubelet's container lifecycle (from the
 *   runtime) and scaling; they expire after an hour.
 * - `pods/{name}/log` streams from the runtime; `services/{name}/proxy/…` forwards plain HTTP(S) to a ready Pod
 *   (503 with the simulated runtime, whose Pod IPs nothing listens on); no WebSocket upgrade through the proxy.
 * - Faults (errors, latency, lost connections) exist only when a test injects them with `setFaults`.
 * - `pods/{name}/portforward` speaks the kubelet's WebSocket protocol (`v4.channel.k8s.io`; portforward.ts) and
 *   forwards to the local addresses set with `portForwardTargets`/`setPortForwardTarget`, else to the Pod's IP when
 *   the runtime's Pods are reachable (the kubelet runtime). No SPDY (so no `kubectl port-forward`, which needs SPDY
 *   or SPDY over WebSocket), no exec or attach; other upgrade requests get 400. Readiness is not checked, as by the
 *   kubelet: a Running Pod forwards.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { SimulatedPodRuntime } from '../pod-runtimes/simulated/simulated-pod-runtime.ts';
import { type DeleteOptions, KubeApi, PATCH_MEDIA_TYPES, type PatchType, type WriteOptions } from './api.ts';
import { DEPLOYMENTS, DeploymentController } from './controllers/deployment.ts';
import { templateHash } from './controllers/pods.ts';
import { STATEFULSETS, StatefulSetController } from './controllers/statefulset.ts';
import { EventRecorder } from './events.ts';
import { FaultInjector, type KubeFaults } from './faults.ts';
import { NodeAgent } from './node/node-agent.ts';
import type { PodRuntime, ResourceReader } from './node/pod-runtime.ts';
import { createResourceReader } from './node/resource-reader.ts';
import { clone, isRecord, type KubeObject, seededRandom } from './objects.ts';
import { servePodLog } from './pod-logs.ts';
import { PORT_FORWARD_PROTOCOL, PortForwarder } from './portforward.ts';
import {
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  findResource,
  openApiDocument,
  openApiIndex,
  type ResourceDef,
  resourceDef,
  STANDIN_VERSION,
} from './resources.ts';
import { Scheduler } from './scheduler.ts';
import { ServiceProxy } from './service-proxy.ts';
import {
  badRequest,
  type FieldError,
  injectedFailure,
  invalid,
  type KubeStatus,
  KubeStatusError,
  methodNotAllowed,
  pathNotFound,
  requestTooLarge,
  unauthorized,
  unsupportedMediaType,
} from './status.ts';
import { ObjectStore, Persistence, readDataFile, storedJson } from './store.ts';
import { toTable, wantsTable } from './table.ts';
import { serveWatch } from './watch.ts';

export type { KubeFaults } from './faults.ts';
export type { KubeObject } from './objects.ts';

export type KubeStandinOptions = {
  /**
   * Bearer token every request must carry (except /version and health checks); default none (any or no token
   * is accepted). kubectl never sends a token over plain HTTP, so leave it unset where kubectl should connect.
   */
  token?: string;
  /**
   * What runs the Pods: a PodRuntime, or a function that makes one from read access to the stand-in's objects (the
   * local kubelet reads ConfigMaps, Secrets, Services through it). Default a `SimulatedPodRuntime` whose Pods turn
   * ready after `readinessDelayMs`. The stand-in stops the runtime when it stops.
   */
  podRuntime?: PodRuntime | ((resources: ResourceReader) => PodRuntime | Promise<PodRuntime>);
  /** With the default (simulated) runtime: how long Pods take to become ready, in ms. Default 50. */
  readinessDelayMs?: number;
  /** How long a deleted namespace stays Terminating before it and its contents go, in ms. Default 20. */
  namespaceDeletionDelayMs?: number;
  /** JSON file that holds every object: loaded on start, rewritten after changes. Default none (memory only). */
  dataFile?: string;
  /** Longest delay between a change and its write to `dataFile`, in ms. Default 200. */
  persistIntervalMs?: number;
  /** Seed of the PRNGs behind faults and generated names. Default 1. */
  seed?: number;
  /** Port on 127.0.0.1. Default a free one. */
  port?: number;
  /**
   * Serve HTTPS with this key and certificate (PEM), as EKS does, so clients verify the server against the CA in
   * their kubeconfig. Default plain HTTP, which kubectl and client-node accept only with TLS verification skipped.
   */
  tls?: { key: string; cert: string };
  /** Entries kept in `requestLog`, oldest dropped first. Default 100,000. */
  requestLogLimit?: number;
  /** Receives the stand-in's log lines (start, stop). Default silent. */
  log?: (line: string) => void;
  /**
   * Where `pods/{name}/portforward` connects, as `'<namespace>/<pod or *>:<port>'` → `'<host>:<port>'` (a real local
   * server, e.g. a ZooKeeper on 127.0.0.1). A forward to a port without a target fails like a port nothing listens
   * on ("connection refused" on the error channel). Default none.
   */
  portForwardTargets?: Record<string, string>;
};

/** One handled request, for tests to assert on. */
export type KubeRequestLogEntry = {
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /**
   * Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection; `discovery` otherwise. As in
   * the real server it follows the HTTP method, so a WebSocket port-forward (always GET) is `get` on `pods/portforward`.
   */
  verb: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status answered (101 for an accepted port-forward); 0 when the connection was dropped. */
  status: number;
  fieldManager?: string;
  patchType?: PatchType;
  /** Set when a fault was injected: `error` (before any change), `applyThenFail` (after it) or `timeout`. */
  fault?: 'error' | 'applyThenFail' | 'timeout';
  durationMs: number;
};

export type KubeconfigOptions = {
  /** Context, cluster and user name. Default `kube-standin`. */
  contextName?: string;
  /** Default namespace of the context. Default none. */
  namespace?: string;
};

export type KubeStandin = {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The bearer token clients send (the configured one, or a placeholder when none is required). */
  token: string;
  /** A kubeconfig for this server that `@kubernetes/client-node` and `kubectl` accept. */
  kubeconfigYaml(options?: KubeconfigOptions): string;
  /** A loaded `KubeConfig` for this server. */
  kubeConfig(options?: KubeconfigOptions): KubeConfig;
  /** Every request so far (up to `requestLogLimit`), oldest first. */
  readonly requestLog: readonly KubeRequestLogEntry[];
  clearRequestLog(): void;
  /** Injects faults into matching requests until `clearFaults`; reseeds the fault PRNG. */
  setFaults(faults: KubeFaults): void;
  clearFaults(): void;
  /** The runtime that runs the Pods. */
  readonly podRuntime: PodRuntime;
  /**
   * Simulated runtime only (throws otherwise): changes how long Pods take to become ready (applies to Pods not
   * ready yet too).
   */
  setReadinessDelay(ms: number): void;
  /**
   * Simulated runtime only (throws otherwise): makes the Pods of a Deployment's (or StatefulSet's) current template
   * fail with a container waiting `reason` (e.g. ImagePullBackOff, CrashLoopBackOff), until its template changes or
   * `healDeployment`. The Deployment's Progressing condition turns False/ProgressDeadlineExceeded once its
   * `progressDeadlineSeconds` pass without progress, as in a cluster.
   */
  failDeployment(namespace: string, name: string, reason: string, message: string): void;
  /** Undoes `failDeployment`. */
  healDeployment(namespace: string, name: string): void;
  /**
   * Sends port-forwards of `port` on `namespaceAndPod` (`<namespace>/<pod>`, or `<namespace>/*` for every Pod there) to
   * `address` (`<host>:<port>`); `undefined` removes the target. Open forwards keep their connection.
   */
  setPortForwardTarget(namespaceAndPod: string, port: number, address: string | undefined): void;
  /** A deep copy of every stored object, cluster-scoped first, each sorted by namespace and name. */
  objects(): KubeObject[];
  /**
   * The live object store, for in-process readers that must not pay for a copy per request (the local ingress, the
   * service proxy). Read it, subscribe to it; never write to it: writes go through the API.
   */
  readonly store: ObjectStore;
  /** Stops serving, ends watches, writes the data file. */
  stop(): Promise<void>;
};

const DEFAULT_TOKEN = 'kube-standin-token';
const BODY_LIMIT = 3 * 1024 * 1024;
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NAMESPACES = resourceDef('', 'namespaces');
const OPEN_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

/** Starts a kube stand-in on 127.0.0.1 and resolves once it accepts connections. */
export async function startKubeStandin(options: KubeStandinOptions = {}): Promise<KubeStandin> {
  const seed = options.seed ?? 1;
  const store = new ObjectStore();
  const api = new KubeApi(store, {
    namespaceDeletionDelayMs: options.namespaceDeletionDelayMs ?? 20,
    random: seededRandom(seed + 1),
  });
  const faults = new FaultInjector(seed);
  const log: KubeRequestLogEntry[] = [];
  const logLimit = options.requestLogLimit ?? 100_000;
  const print = options.log ?? (() => {});
  const resources = createResourceReader(store);
  const given = options.podRuntime;
  const runtime =
    typeof given === 'function'
      ? await given(resources)
      : (given ?? new SimulatedPodRuntime({ readinessDelayMs: options.readinessDelayMs ?? 50 }));
  const simulated = runtime instanceof SimulatedPodRuntime ? runtime : undefined;
  const events = new EventRecorder(api);
  const deployments = new DeploymentController(api, events, seededRandom(seed + 2));
  const statefulSets = new StatefulSetController(api, events);
  const scheduler = new Scheduler(api, events, () => runtime.node());
  const nodeAgent = new NodeAgent(api, runtime, resources, events, print);
  const simulatedOnly = (what: string): SimulatedPodRuntime => {
    if (!simulated) throw new Error(`kube stand-in: ${what} needs the simulated pod runtime, not ${runtime.kind}`);
    return simulated;
  };

  const saved = options.dataFile ? readDataFile(options.dataFile) : undefined;
  if (saved) {
    store.load(saved);
    simulated?.importFailures((saved.extra as { failures?: unknown } | undefined)?.failures);
    api.resumeNamespaceDeletions();
  }
  const persistence = options.dataFile
    ? new Persistence(options.dataFile, options.persistIntervalMs ?? 200, () =>
        Persistence.format(store.snapshot(), { failures: simulated?.exportFailures() ?? [] }),
      )
    : undefined;
  if (persistence) store.subscribe(() => persistence.changed());
  for (const name of INITIAL_NAMESPACES) {
    if (!store.get(NAMESPACES, undefined, name)) {
      api.create(NAMESPACES, undefined, { metadata: { name } }, { manager: 'kube-apiserver' });
    }
  }
  const flushOnExit = () => persistence?.flushSync();
  if (persistence) process.on('exit', flushOnExit);
  // A failure set on a workload ends with it.
  store.subscribe((event) => {
    if (event.type === 'DELETED' && (event.def === DEPLOYMENTS || event.def === STATEFULSETS)) {
      simulated?.heal(`${event.def.resource}/${event.object.metadata.namespace}/${event.object.metadata.name}`);
    }
  });
  // The kubelet first (it registers the node and restarts the Pods bound to it), then the scheduler and controllers.
  nodeAgent.start();
  scheduler.start();
  deployments.start();
  statefulSets.start();

  const watches = new Set<() => void>();
  const sockets = new Set<Socket>();
  const podsReachable = () => runtime.kind !== 'simulated';
  const portForwards = new PortForwarder(store, options.portForwardTargets, (pod, port) => {
    const ip = isRecord(pod.status) ? pod.status.podIP : undefined;
    return podsReachable() && typeof ip === 'string' ? { host: ip, port } : undefined;
  });
  const serviceProxy = new ServiceProxy(store, podsReachable);
  const context: HandlerContext = { api, faults, token: options.token, watches, portForwards, runtime, serviceProxy };
  const record = (entry: KubeRequestLogEntry, started: number) => {
    entry.durationMs = Math.round((performance.now() - started) * 10) / 10;
    log.push(entry);
    if (log.length > logLimit) log.splice(0, log.length - logLimit);
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    void handle(context, req, res).then((entry) => record(entry, started));
  };
  const server: Server = options.tls ? createTlsServer(options.tls, onRequest) : createServer(onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const started = performance.now();
    void handleUpgrade(context, req, socket, head).then((entry) => record(entry, started));
  });
  server.on(options.tls ? 'secureConnection' : 'connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Port 0 lets the kernel pick a free port atomically (no window for another process to take it).
  await listen(server, options.port ?? 0);
  const actualPort = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${actualPort}`;
  const token = options.token ?? DEFAULT_TOKEN;
  print(`kube stand-in (simulated Kubernetes API server, ${runtime.kind} pod runtime) listening on ${url}`);

  const kubeconfigYaml = (o: KubeconfigOptions = {}) => buildKubeconfig(url, token, o, options.tls?.cert);
  let stopped = false;
  return {
    url,
    port: actualPort,
    token,
    kubeconfigYaml,
    kubeConfig(o) {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfigYaml(o));
      return kc;
    },
    requestLog: log,
    clearRequestLog: () => {
      log.length = 0;
    },
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.clear(),
    podRuntime: runtime,
    setReadinessDelay: (ms) => simulatedOnly('setReadinessDelay').setReadinessDelay(ms),
    failDeployment: (namespace, name, reason, message) => {
      const runtimeToFail = simulatedOnly('failDeployment');
      const def = store.get(DEPLOYMENTS, namespace, name) ? DEPLOYMENTS : STATEFULSETS;
      const workload = store.get(def, namespace, name);
      if (!workload) throw new Error(`kube stand-in: no Deployment or StatefulSet ${namespace}/${name} to fail`);
      const template = isRecord(workload.spec) ? workload.spec.template : undefined;
      runtimeToFail.fail(`${def.resource}/${namespace}/${name}`, { reason, message, hash: templateHash(template) });
    },
    healDeployment: (namespace, name) => {
      const runtimeToHeal = simulatedOnly('healDeployment');
      for (const def of [DEPLOYMENTS, STATEFULSETS]) runtimeToHeal.heal(`${def.resource}/${namespace}/${name}`);
    },
    setPortForwardTarget: (namespaceAndPod, port, address) => portForwards.setTarget(namespaceAndPod, port, address),
    objects: () => clone(store.all()),
    store,
    async stop() {
      if (stopped) return;
      stopped = true;
      statefulSets.stop();
      deployments.stop();
      scheduler.stop();
      await nodeAgent.stop();
      events.stop();
      api.close();
      for (const end of watches) end();
      portForwards.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      if (persistence) {
        await persistence.flush();
        process.off('exit', flushOnExit);
      }
      print(`kube stand-in on ${url} stopped`);
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function buildKubeconfig(url: string, token: string, options: KubeconfigOptions, caCert?: string): string {
  const name = options.contextName ?? 'kube-standin';
  const context: Record<string, string> = { cluster: name, user: name };
  if (options.namespace) context.namespace = options.namespace;
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        // Plain HTTP on loopback; client-node refuses http:// servers unless TLS verification is marked skipped.
        cluster: caCert
          ? { server: url, 'certificate-authority-data': Buffer.from(caCert).toString('base64') }
          : { server: url, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name, user: { token } }],
    contexts: [{ name, context }],
    'current-context': name,
    preferences: {},
  });
}

type HandlerContext = {
  api: KubeApi;
  faults: FaultInjector;
  token: string | undefined;
  watches: Set<() => void>;
  portForwards: PortForwarder;
  runtime: PodRuntime;
  serviceProxy: ServiceProxy;
};

type Route =
  | { kind: 'document'; body: unknown }
  | {
      kind: 'resource';
      def: ResourceDef;
      namespace?: string;
      name?: string;
      subresource?: string;
    }
  | {
      /** `pods/{name}/log` or `services/{name}/proxy/{path}`: answered with a stream, not an object. */
      kind: 'stream';
      def: ResourceDef;
      namespace: string;
      name: string;
      subresource: 'log' | 'proxy';
      /** The path after `/proxy` (raw, as sent), for the service proxy. */
      path: string;
    };

/** The request's URL and method, and its log entry before routing fills in the rest. */
function startEntry(req: IncomingMessage): { url: URL; method: string; entry: KubeRequestLogEntry } {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  const entry: KubeRequestLogEntry = {
    time: new Date().toISOString(),
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    verb: 'discovery',
    status: 0,
    durationMs: 0,
  };
  return { url, method, entry };
}

/**
 * The request's route, described in its log entry, once its token is checked. An unknown path still answers 401
 * before 404, as the real server does, so a caller without a token learns nothing about what exists.
 */
function authorizedRoute(
  ctx: HandlerContext,
  req: IncomingMessage,
  url: URL,
  method: string,
  entry: KubeRequestLogEntry,
): Route {
  let route: Route;
  try {
    route = resolveRoute(url.pathname, req.headers.host ?? '127.0.0.1');
  } catch (error) {
    checkToken(ctx, req, url.pathname);
    throw error;
  }
  if (route.kind !== 'document') describe(entry, route, method, url.searchParams);
  checkToken(ctx, req, url.pathname);
  return route;
}

/** Handles one request and answers its log entry. */
async function handle(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<KubeRequestLogEntry> {
  const { url, method, entry } = startEntry(req);
  let applied = false;
  try {
    const route = authorizedRoute(ctx, req, url, method, entry);
    if (route.kind === 'stream') {
      if (route.subresource === 'log') {
        if (method !== 'GET') throw methodNotAllowed();
        entry.status = await servePodLog(
          ctx.api.store,
          ctx.runtime,
          route.namespace,
          route.name,
          url.searchParams,
          req,
          res,
        );
      } else {
        entry.status = await ctx.serviceProxy.forward(route.namespace, route.name, route.path, url.search, req, res);
      }
      return entry;
    }
    const body = await readBody(req);
    const decision = ctx.faults.decide(method, route.kind === 'resource' ? route.def.resource : undefined);
    if (decision?.latencyMs) await sleep(decision.latencyMs);
    if (decision?.fault?.kind === 'timeout') {
      entry.fault = 'timeout';
      await sleep(decision.fault.hangMs);
      req.socket.destroy();
      return entry;
    }
    if (decision?.fault?.kind === 'error' && !decision.fault.afterApply) {
      entry.fault = 'error';
      throw injectedFailure(decision.fault.status);
    }
    if (route.kind === 'document') {
      if (method !== 'GET') throw methodNotAllowed();
      return send(res, entry, 200, route.body);
    }
    if (isConnect(route)) throw badRequest('Upgrade request required');
    if (entry.verb === 'watch') {
      const end = serveWatch(
        ctx.api.store,
        { def: route.def, namespace: route.namespace, query: url.searchParams },
        res,
      );
      ctx.watches.add(end);
      res.on('close', () => ctx.watches.delete(end));
      entry.status = 200;
      return entry;
    }
    const result = dispatch(ctx.api, route, entry, req, url.searchParams, body);
    applied = true;
    if (decision?.fault?.kind === 'error') {
      entry.fault = 'applyThenFail';
      throw injectedFailure(decision.fault.status);
    }
    const accept = req.headers.accept;
    if (wantsTable(accept) && (entry.verb === 'get' || entry.verb === 'list') && !route.subresource) {
      return send(res, entry, result.status, tableOf(route.def, result.body));
    }
    return send(res, entry, result.status, result.body);
  } catch (error) {
    if (error instanceof KubeStatusError) {
      return send(res, entry, error.status.code, error.status, error.headers);
    }
    console.error(`kube stand-in: ${method} ${url.pathname} failed${applied ? ' after applying' : ''}:`, error);
    return send(res, entry, 500, internalError().status);
  }
}

/**
 * Handles a request to upgrade the connection: a WebSocket `pods/{name}/portforward` is forwarded (portforward.ts);
 * everything else, and every check that fails, is answered with a `Status` and the connection closed.
 */
async function handleUpgrade(
  ctx: HandlerContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<KubeRequestLogEntry> {
  const { url, method, entry } = startEntry(req);
  // A client may drop the connection mid-handshake; there is nothing to clean up then.
  socket.on('error', () => {});
  try {
    const route = authorizedRoute(ctx, req, url, method, entry);
    if (route.kind !== 'resource' || !isConnect(route)) {
      throw badRequest('the kube stand-in upgrades connections only for pods/{name}/portforward');
    }
    // `pods/portforward`, not `pods`, so a test can fault port-forwards without faulting the pod list.
    const decision = ctx.faults.decide(method, `${route.def.resource}/${route.subresource}`);
    if (decision?.latencyMs) await sleep(decision.latencyMs);
    if (decision?.fault?.kind === 'timeout') {
      entry.fault = 'timeout';
      await sleep(decision.fault.hangMs);
      socket.destroy();
      return entry;
    }
    if (decision?.fault?.kind === 'error') {
      entry.fault = 'error';
      throw injectedFailure(decision.fault.status);
    }
    const request = ctx.portForwards.prepare(route.namespace!, route.name!, url.searchParams);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || method !== 'GET') {
      throw badRequest(
        `the kube stand-in forwards ports over WebSocket (GET, ${PORT_FORWARD_PROTOCOL}) only, not ${method} ${req.headers.upgrade ?? ''}`,
      );
    }
    ctx.portForwards.checkHandshake(req);
    entry.status = await ctx.portForwards.accept(req, socket, head, request);
    return entry;
  } catch (error) {
    if (!(error instanceof KubeStatusError)) {
      console.error(`kube stand-in: upgrade of ${method} ${url.pathname} failed:`, error);
    }
    const status = error instanceof KubeStatusError ? error : internalError();
    entry.status = status.status.code;
    refuseUpgrade(socket, status.status, status.headers);
    return entry;
  }
}

/** Writes a `Status` answer straight to an upgrade request's socket and closes it. */
function refuseUpgrade(socket: Duplex, status: KubeStatus, headers: Record<string, string>): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(status);
  const lines = [
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-cache, private',
    `Audit-Id: ${randomUUID()}`,
    'X-Kube-Standin: flinkplane',
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function internalError(): KubeStatusError {
  return new KubeStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Internal error occurred: the kube stand-in failed; see its log',
    reason: 'InternalError',
    code: 500,
  });
}

function isConnect(route: Extract<Route, { kind: 'resource' }>): boolean {
  return route.subresource !== undefined && (route.def.connectSubresources as string[]).includes(route.subresource);
}

/** Authentication comes before everything else, as in the real server; 401 even for unknown paths. */
function checkToken(ctx: HandlerContext, req: IncomingMessage, pathname: string): void {
  if (ctx.token === undefined || OPEN_PATHS.has(pathname)) return;
  if (req.headers.authorization !== `Bearer ${ctx.token}`) throw unauthorized();
}

function tableOf(def: ResourceDef, body: unknown): unknown {
  if (!isRecord(body)) return body;
  if (Array.isArray(body.items)) {
    const meta = isRecord(body.metadata) ? body.metadata : {};
    const items = (body.items as KubeObject[]).map((i) => ({ ...i, apiVersion: '', kind: '' }));
    const { resourceVersion, ...extra } = meta;
    return toTable(def, items, String(resourceVersion ?? ''), extra);
  }
  const obj = body as KubeObject;
  return toTable(def, [obj], String(obj.metadata?.resourceVersion ?? ''));
}

function send(
  res: ServerResponse,
  entry: KubeRequestLogEntry,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): KubeRequestLogEntry {
  entry.status = status;
  if (res.headersSent) {
    res.end();
    return entry;
  }
  const text =
    typeof body === 'string'
      ? body
      : isRecord(body) && isRecord(body.metadata) && typeof body.kind === 'string'
        ? storedJson(body as KubeObject)
        : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    'X-Kube-Standin': 'flinkplane',
    ...headers,
  });
  res.end(text);
  return entry;
}

function resolveRoute(pathname: string, host: string): Route {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  if (pathname === '/version' || pathname === '/version/') return { kind: 'document', body: STANDIN_VERSION };
  if (['/healthz', '/livez', '/readyz'].includes(pathname)) return { kind: 'document', body: 'ok' };
  if (pathname === '/openapi/v3') return { kind: 'document', body: openApiIndex() };
  if (parts[0] === 'openapi' && parts[1] === 'v3') {
    const doc = openApiDocument(parts.slice(3).join('/'));
    if (!doc) throw pathNotFound();
    return { kind: 'document', body: doc };
  }
  let gv: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { kind: 'document', body: apiVersions(host) };
    gv = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { kind: 'document', body: apiGroupList() };
    if (parts.length === 2) {
      const group = apiGroupDocument(parts[1]!);
      if (!group) throw pathNotFound();
      return { kind: 'document', body: group };
    }
    gv = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else {
    throw pathNotFound();
  }
  if (rest.length === 0) {
    const list = apiResourceList(gv);
    if (!list) throw pathNotFound();
    return { kind: 'document', body: list };
  }
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
  ) {
    if (rest.length > 5 && !(rest[2] === 'services' && rest[4] === 'proxy')) throw pathNotFound();
    [, namespace, resource, name, subresource] = rest as [string, string, string, string?, string?];
  } else {
    if (rest.length > 3) throw pathNotFound();
    [resource, name, subresource] = rest as [string, string?, string?];
  }
  const def = findResource(gv, resource);
  if (!def) throw pathNotFound();
  if (def.namespaced && namespace === undefined && name !== undefined) throw pathNotFound();
  if (!def.namespaced && namespace !== undefined) throw pathNotFound();
  const subresources: string[] = [...def.subresources, ...def.connectSubresources, ...def.streamSubresources];
  if (subresource !== undefined && !subresources.includes(subresource)) throw pathNotFound();
  if (subresource === 'log' || subresource === 'proxy') {
    // The proxied path as sent: everything after `/proxy`, still encoded, trailing slash kept.
    const raw = pathname.split('/');
    const path = subresource === 'proxy' ? `/${raw.slice(raw.indexOf('proxy', 7) + 1).join('/')}` : '';
    return { kind: 'stream', def, namespace: namespace!, name: name!, subresource, path };
  }
  return { kind: 'resource', def, namespace, name, subresource };
}

function describe(
  entry: KubeRequestLogEntry,
  route: Exclude<Route, { kind: 'document' }>,
  method: string,
  query: URLSearchParams,
): void {
  const { def, namespace, name, subresource } = route;
  entry.group = def.group;
  entry.version = def.version;
  entry.resource = def.resource;
  if (subresource) entry.subresource = subresource;
  if (namespace !== undefined) entry.namespace = namespace;
  if (name !== undefined) entry.name = name;
  const fieldManager = query.get('fieldManager');
  if (fieldManager !== null) entry.fieldManager = fieldManager;
  const watch = query.get('watch');
  entry.verb =
    method === 'GET'
      ? name !== undefined
        ? 'get'
        : watch === 'true' || watch === '1'
          ? 'watch'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : method === 'DELETE'
              ? name !== undefined
                ? 'delete'
                : 'deletecollection'
              : method.toLowerCase();
}

function dispatch(
  api: KubeApi,
  route: Extract<Route, { kind: 'resource' }>,
  entry: KubeRequestLogEntry,
  req: IncomingMessage,
  query: URLSearchParams,
  body: Buffer,
): { status: number; body: unknown } {
  const { def, namespace, name, subresource } = route;
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (def.namespaced && namespace === undefined && entry.verb !== 'list') throw methodNotAllowed();
  const named = ['get', 'update', 'patch', 'delete'].includes(entry.verb);
  if (named !== (name !== undefined)) throw methodNotAllowed();
  switch (entry.verb) {
    case 'get':
      return { status: 200, body: api.get(def, namespace, name!, subresource) };
    case 'list':
      return {
        status: 200,
        body: api.list(def, namespace, {
          labelSelector: query.get('labelSelector'),
          fieldSelector: query.get('fieldSelector'),
          limit: query.has('limit') ? Number(query.get('limit')) : undefined,
          continueToken: query.get('continue'),
        }),
      };
    case 'create': {
      if (subresource) throw methodNotAllowed();
      const options = writeOptions(req, query, 'CreateOptions', false);
      return { status: 201, body: api.create(def, namespace, decodeBody(def, body, contentType), options) };
    }
    case 'update': {
      const options = writeOptions(req, query, 'UpdateOptions', false);
      return {
        status: 200,
        body: api.replace(def, namespace, name!, subresource, decodeBody(def, body, contentType), options),
      };
    }
    case 'patch': {
      const patchType = PATCH_MEDIA_TYPES[contentType];
      if (!patchType) throw unsupportedMediaType(contentType, Object.keys(PATCH_MEDIA_TYPES));
      entry.patchType = patchType;
      const options = writeOptions(req, query, 'PatchOptions', patchType === 'apply');
      const patch = decodePatch(body, patchType);
      const { object, created } = api.patch(def, namespace, name!, subresource, patchType, patch, options);
      return { status: created ? 201 : 200, body: object };
    }
    case 'delete': {
      if (subresource) throw methodNotAllowed();
      const options = deleteOptions(query, body);
      const result = api.delete(def, namespace, name!, options);
      return { status: 200, body: result };
    }
    case 'deletecollection': {
      if (def.resource === 'namespaces') throw methodNotAllowed();
      const options = deleteOptions(query, body);
      const list = { labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector') };
      return { status: 200, body: api.deleteCollection(def, namespace, list, options) };
    }
    default:
      throw methodNotAllowed();
  }
}

/** The write query parameters, validated as the real server validates Create/Update/PatchOptions. */
function writeOptions(req: IncomingMessage, query: URLSearchParams, kind: string, apply: boolean): WriteOptions {
  const errors: FieldError[] = [];
  const fieldManager = query.get('fieldManager') ?? undefined;
  const force = query.get('force');
  if (kind === 'PatchOptions' && !apply && force !== null) {
    errors.push({ type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch' });
  }
  if (apply && !fieldManager) {
    errors.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' });
  }
  if (fieldManager && fieldManager.length > 128) {
    errors.push({ type: 'FieldValueTooLong', field: 'fieldManager', detail: 'may not be more than 128 bytes' });
  }
  const dryRun = query.getAll('dryRun');
  for (const value of dryRun) {
    if (value !== 'All') {
      errors.push({ type: 'FieldValueNotSupported', field: 'dryRun', value, detail: 'supported values: "All"' });
    }
  }
  if (errors.length > 0) throw invalid({ group: 'meta.k8s.io', kind }, '', errors);
  const userAgent = req.headers['user-agent'] ?? '';
  const manager = fieldManager ?? (userAgent.split('/')[0]!.slice(0, 128) || 'unknown');
  return { manager, dryRun: dryRun.length > 0, force: force === 'true' || force === '1' };
}

function deleteOptions(query: URLSearchParams, body: Buffer): DeleteOptions {
  let options: Record<string, unknown> = {};
  if (body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (isRecord(parsed)) options = parsed;
    } catch (error) {
      throw badRequest(`error decoding DeleteOptions: ${(error as Error).message}`);
    }
  }
  const propagationPolicy = query.get('propagationPolicy') ?? (options.propagationPolicy as string | undefined);
  if (propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(propagationPolicy)) {
    throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
      {
        type: 'FieldValueNotSupported',
        field: 'propagationPolicy',
        value: propagationPolicy,
        detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
      },
    ]);
  }
  const orphan = query.get('orphanDependents') ?? options.orphanDependents;
  const grace = query.get('gracePeriodSeconds') ?? options.gracePeriodSeconds;
  const gracePeriodSeconds = grace === undefined || grace === null ? undefined : Number(grace);
  if (gracePeriodSeconds !== undefined && !Number.isInteger(gracePeriodSeconds)) {
    throw badRequest(`gracePeriodSeconds must be an integer, not ${String(grace)}`);
  }
  const dryRun = query.getAll('dryRun').length > 0 || (Array.isArray(options.dryRun) && options.dryRun.length > 0);
  return {
    propagationPolicy: propagationPolicy ?? (orphan === 'true' || orphan === true ? 'Orphan' : undefined),
    gracePeriodSeconds,
    dryRun,
    preconditions: isRecord(options.preconditions)
      ? (options.preconditions as DeleteOptions['preconditions'])
      : undefined,
  };
}

function decodeBody(def: ResourceDef, body: Buffer, contentType: string): unknown {
  if (contentType.includes('protobuf') || contentType === 'application/cbor') {
    throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  }
  const text = body.toString('utf8');
  try {
    return contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${def.kind}): couldn't get version/kind; json parse error: ${(error as Error).message}`,
    );
  }
}

function decodePatch(body: Buffer, patchType: PatchType): unknown {
  const text = body.toString('utf8');
  try {
    if (patchType !== 'apply') return JSON.parse(text);
    const trimmed = text.trimStart();
    return trimmed.startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const what = patchType === 'apply' ? 'error decoding YAML' : 'error decoding patch';
    throw badRequest(`${what}: ${(error as Error).message}`);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw requestTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
