import type { Readable } from 'node:stream';
import type { JsonRecord, KubeObject } from '../objects.ts';

/**
 * The seam between the Kubernetes stand-in's API side and whatever runs its Pods, in the style of virtual-kubelet's
 * provider interface. The API server, the scheduler and the workload controllers never know how a Pod runs; a
 * runtime decides: simulated readiness on a timer (benchmarks, thousands of tenants) or a real process per
 * container (the local kubelet). Status flows one way: runtime → `onPodStatus` → the Pod's status in the store →
 * the Deployment and StatefulSet controllers → the control plane's observer.
 */
export interface PodRuntime {
  /** `simulated` or `kubelet`; shown on `/healthz` and in the console banner. */
  readonly kind: 'simulated' | 'kubelet';
  /** The node this runtime offers: its name, capacity and allocatable resources (memory measured, not assumed). */
  node(): NodeInfo;
  /**
   * Starts a Pod the scheduler has bound to this node (`spec.nodeName` set). Resolves once the runtime has taken it
   * on (not when it is running); progress arrives through `onPodStatus`.
   */
  createPod(pod: KubeObject): Promise<void>;
  /** The Pod object changed (labels, annotations, the mutable parts of its spec). Most runtimes ignore it. */
  updatePod(pod: KubeObject): Promise<void>;
  /**
   * Stops a Pod: every container gets SIGTERM, then SIGKILL once `gracePeriodSeconds` have passed. Resolves once
   * nothing of it runs and its network and volumes are released. Deleting an unknown Pod resolves at once.
   */
  deletePod(pod: KubeObject, gracePeriodSeconds: number): Promise<void>;
  /** The last status the runtime reported for a Pod, or undefined when it does not run it. */
  getPodStatus(namespace: string, name: string): JsonRecord | undefined;
  /** Registers the one callback the runtime calls with a Pod's full `status` each time it changes. */
  onPodStatus(callback: PodStatusCallback): void;
  /**
   * Registers the one callback the runtime calls for what the kubelet would record as an Event on a Pod (Pulling,
   * Created, Started, Killing, BackOff, Unhealthy …). Optional: a runtime without it records none.
   */
  onEvent?(callback: PodEventCallback): void;
  /**
   * Gives the runtime read access to the stand-in's objects (ConfigMaps, Secrets, PVCs, Services) before the first
   * `createPod`, as a kubelet reads what it mounts. Optional: a runtime that mounts nothing ignores it.
   */
  useResources?(reader: ResourceReader): void;
  /** A container's log, as `kubectl logs` reads it; undefined when the runtime keeps none for it. */
  readLogs?(namespace: string, name: string, container: string, options: LogOptions): Readable | undefined;
  /** Stops every Pod (as a node shutdown would) and releases what the runtime holds. */
  stop(): Promise<void>;
}

export type PodStatusCallback = (namespace: string, name: string, uid: string, status: JsonRecord) => void;

/** An Event about a Pod as the kubelet reports it; the stand-in adds the object reference, counts and times. */
export interface PodEvent {
  readonly type: 'Normal' | 'Warning';
  /** `Pulling`, `Pulled`, `Created`, `Started`, `Killing`, `BackOff`, `Unhealthy`, `Failed` … */
  readonly reason: string;
  readonly message: string;
  /** The container it is about, as `spec.containers{name}`. */
  readonly fieldPath?: string;
}

export type PodEventCallback = (namespace: string, name: string, uid: string, event: PodEvent) => void;

/** Read-only access to stored objects by API group and plural resource (`''`, `configmaps`). */
export interface ResourceReader {
  get(group: string, resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(group: string, resource: string, namespace?: string): KubeObject[];
  /**
   * Calls `listener` after every stored change (the kubelet runtime rewrites pods' hosts files when Services and Pods
   * change); returns the unsubscribe. Optional: without it such a runtime re-reads every few seconds.
   */
  subscribe?(listener: (group: string, resource: string, object: KubeObject) => void): () => void;
}

export interface NodeInfo {
  readonly name: string;
  /** Quantities as the Node object carries them: `{ cpu: '2', memory: '24571656Ki', pods: '110' }`. */
  readonly capacity: Readonly<Record<string, string>>;
  readonly allocatable: Readonly<Record<string, string>>;
  /** The node's address in the pod network (the bridge's gateway), or loopback for a simulated node. */
  readonly address: string;
}

/** The options of `GET /api/v1/namespaces/{ns}/pods/{name}/log`. */
export interface LogOptions {
  readonly follow?: boolean;
  readonly previous?: boolean;
  readonly tailLines?: number;
  readonly sinceSeconds?: number;
  readonly timestamps?: boolean;
  readonly limitBytes?: number;
}

/**
 * What a container of an image runs on the local kubelet: the table lives next to the Flink runtime resolution
 * (`local/flink-runtime/`), not in the stand-in, which stays generic Kubernetes.
 */
export interface ImageTable {
  /**
   * How to run `container` of `pod`; throws an error whose message the Pod shows (`ErrImagePull` /
   * `CreateContainerConfigError`) when the image is unknown or cannot be prepared (e.g. a Maven download failed).
   * May take long the first time (a download); the Pod stays `ContainerCreating` meanwhile.
   */
  resolve(pod: KubeObject, container: JsonRecord): Promise<ContainerLaunch>;
}

/** A container as a process: what to exec, with which environment, and the image's own files. */
export interface ContainerLaunch {
  /** Absolute path of the program, as seen inside the pod (after the image mounts below are in place). */
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the container's `env` from the Pod spec (the spec's own values win). */
  readonly env?: Readonly<Record<string, string>>;
  /** Host directories the image consists of, bound read-only into the pod's mount namespace (`/opt/flink` …). */
  readonly imageMounts?: readonly {
    readonly hostPath: string;
    readonly containerPath: string;
    /** A single file of the image (its `/etc/passwd`), bound read-only over the host's. @default false: a directory */
    readonly file?: boolean;
  }[];
  /** Working directory inside the pod. @default / */
  readonly workingDir?: string;
}
