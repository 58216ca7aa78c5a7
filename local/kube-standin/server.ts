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
 *   in resources.ts. OpenAPI v3 and v2 documents carry no schemas (enough for `kubectl apply`, kubectl 1.20's
 *   included; not for `kubectl explain`). `fieldValidation` is honoured against the field lists of client-node's
 *   models (schema.ts): unknown fields are dropped with a `Warning` (Warn, the default), dropped (Ignore) or refused
 *   with 400 (Strict) on create, update, patch and apply; duplicate JSON keys are not detected (the last wins).
 * - Defaulting and validation cover the common fields only (defaults.ts, validation.ts), including a bound
 *   PersistentVolumeClaim's immutable spec, quantities and NetworkPolicy CIDRs. Some decode-error
 *   messages are paraphrased; NotFound, AlreadyExists, Conflict, Invalid, Forbidden (terminating namespace)
 *   and apply-conflict messages follow the real wording.
 * - Server-side apply (apply.ts) keys only well-known lists (containers, env, volumes, ...; ports by port and
 *   protocol; `finalizers` as a set; fields.ts) and treats every other list as atomic; `null` in an apply
 *   configuration means "not set"; managedFields sent by a client are ignored. Strategic merge patch is a merge patch that also merges those keyed lists.
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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { SimulatedPodRuntime } from '../pod-runtimes/simulated/simulated-pod-runtime.ts';
import { KubeApi } from './api.ts';
import { DEPLOYMENTS, DeploymentController } from './controllers/deployment.ts';
import { templateHash } from './controllers/pods.ts';
import { STATEFULSETS, StatefulSetController } from './controllers/statefulset.ts';
import { EventRecorder } from './events.ts';
import { FaultInjector, type KubeFaults } from './faults.ts';
import { type HandlerContext, handle, handleUpgrade } from './handler.ts';
import { buildKubeconfig, type KubeconfigOptions } from './kubeconfig.ts';
import { NodeAgent } from './node/node-agent.ts';
import type { PodRuntime, ResourceReader } from './node/pod-runtime.ts';
import { createResourceReader } from './node/resource-reader.ts';
import { clone, isRecord, type KubeObject, seededRandom } from './objects.ts';
import { PortForwarder } from './portforward.ts';
import type { KubeRequestLogEntry } from './request-info.ts';
import { resourceDef } from './resources.ts';
import { Scheduler } from './scheduler.ts';
import { ServiceProxy } from './service-proxy.ts';
import { ObjectStore, Persistence, readDataFile } from './store.ts';

export type { KubeFaults } from './faults.ts';
export type { KubeconfigOptions } from './kubeconfig.ts';
export type { KubeObject } from './objects.ts';
export type { KubeRequestLogEntry } from './request-info.ts';

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
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NAMESPACES = resourceDef('', 'namespaces');

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
