/**
 * The ports through which the control-plane core talks to the world. Adapters (DynamoDB, S3, Kubernetes, ZooKeeper,
 * EKS) implement them; the core never imports an SDK.
 */
import type { ClusterSpec } from './cluster-spec.ts';

export const CLUSTER_STATES = ['DEPLOYING', 'RUNNING', 'DEGRADED', 'FAILED', 'DESTROYING', 'DESTROYED'] as const;
export type ClusterState = (typeof CLUSTER_STATES)[number];

/** `purge` only holds the tenant while the operator's purge runs; the operator retries it, nothing re-drives it. */
export type OperationKind = 'deploy' | 'destroy' | 'purge';

/** A request being carried out; its lease keeps a second request out until it ends or the lease expires. */
export interface ActiveOperation {
  readonly kind: OperationKind;
  readonly generation: number;
  /** The last step that completed, so a re-drive after a crash can be logged and tested. */
  readonly step: string;
  /** ISO time after which another request or the reconciler may take the operation over. */
  readonly leaseUntil: string;
}

/** What Kubernetes (and, once every pod is ready, the JobManager) reported at the last observation. */
export interface ObservedStatus {
  /** A JobManager pod of the current spec is ready. */
  readonly jobManagerReady: boolean;
  /** TaskManager pods that are ready, of any revision; with `taskManagersUpdated` this is the rollout's progress. */
  readonly taskManagersReady: number;
  readonly taskManagersDesired: number;
  /** TaskManager pods of the current spec (the Deployment's `updatedReplicas` once it has seen the spec). */
  readonly taskManagersUpdated: number;
  /**
   * Every Deployment has seen its current spec, and all its desired pods are of that spec and ready, with no old one
   * left. Until then the change is still rolling out, whatever number of old pods is ready.
   */
  readonly rolledOut: boolean;
  /**
   * TaskManagers registered with the JobManager, as its REST API says; set once every pod is ready and a Flink REST
   * port is wired. RUNNING needs every desired TaskManager registered, not only its pod ready.
   */
  readonly taskManagersRegistered?: number;
  /** The Flink release the JobManager reports (`flink-version` of `/overview`). */
  readonly flinkVersion?: string;
  /** Why the cluster is not healthy, from pod and deployment conditions. */
  readonly reason?: string;
  readonly failed: boolean;
}

export interface LastError {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** One tenant's cluster, as the cluster store keeps it. */
export interface ClusterRecord {
  readonly tenant: string;
  readonly state: ClusterState;
  /** Incremented by every accepted deploy, update or destroy request. */
  readonly generation: number;
  /** The spec of the last accepted deploy (kept through destroy, so a redeploy can reuse it). */
  readonly spec: ClusterSpec;
  /** The HA epoch in use; `restore: clean` moves to the next one. */
  readonly haEpoch: number;
  /** HA cluster ids of earlier epochs, kept with their state after clean starts. */
  readonly previousHaClusterIds: readonly string[];
  readonly operation?: ActiveOperation;
  readonly observed?: ObservedStatus;
  readonly lastError?: LastError;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deployedAt?: string;
  readonly destroyedAt?: string;
}

/** A registered tenant. Its API token is stored only as a hash. */
export interface TenantRecord {
  readonly name: string;
  readonly tokenHash: string;
  readonly createdAt: string;
}

/** A stored value with the version the store holds it at, for conditional writes. */
export interface Versioned<T> {
  readonly value: T;
  readonly version: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor?: string;
}

/**
 * Tenants and their clusters. Writes are conditional on the version read (optimistic concurrency); a lost race throws
 * `FlinkplaneError('conflict')`.
 */
export interface ClusterStore {
  getTenant(name: string): Promise<TenantRecord | undefined>;
  /** Throws `tenant_exists` when the name is taken. */
  createTenant(tenant: TenantRecord): Promise<void>;
  listTenants(limit: number, cursor?: string): Promise<Page<TenantRecord>>;
  /** Removes the tenant and its cluster record. */
  deleteTenant(name: string): Promise<void>;
  getCluster(tenant: string): Promise<Versioned<ClusterRecord> | undefined>;
  /** Writes the record if the stored version is `expectedVersion` (0: no record yet); returns the new version. */
  putCluster(record: ClusterRecord, expectedVersion: number): Promise<number>;
  listClusters(limit: number, cursor?: string): Promise<Page<Versioned<ClusterRecord>>>;
}

/** The tenant's object storage bucket for checkpoints, savepoints and HA state. */
export interface BucketStore {
  /** Creates the bucket if missing, with encryption, a public access block, versioning and tenant tags. */
  ensureBucket(name: string, tenant: string): Promise<void>;
  bucketExists(name: string): Promise<boolean>;
  /** Operator purge only: deletes every object version and the bucket. */
  deleteBucket(name: string): Promise<void>;
}

export interface ZooKeeperIdentity {
  readonly user: string;
  readonly password: string;
}

/** The tenant's namespace (chroot node) in the shared ZooKeeper. */
export interface ZooKeeperNamespaces {
  /** Creates the chroot node (and its parents) with a digest ACL for the tenant's proxy identity. Idempotent. */
  ensureNamespace(chroot: string, identity: ZooKeeperIdentity): Promise<void>;
  namespaceExists(chroot: string): Promise<boolean>;
  /** Operator purge only: deletes the chroot and everything under it. */
  deleteNamespace(chroot: string): Promise<void>;
}

/** A Kubernetes object as plain data. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/**
 * What the API server answered an apply with, opaque to the core: `observe` starts from the objects as they were just
 * stored instead of reading them again.
 */
export interface AppliedObjects {
  readonly namespace: string;
}

/** Applies and deletes the tenant's Kubernetes objects. */
export interface KubernetesApplier {
  /** Applies each stage in order (server-side apply, one field manager); objects within a stage in parallel. */
  apply(stages: readonly (readonly KubeObject[])[]): Promise<AppliedObjects>;
  /** Deletes the tenant's objects not marked as retained; returns what was deleted. Idempotent. */
  deleteNotRetained(tenant: string, namespace: string): Promise<string[]>;
  /** Operator purge only: deletes the namespace and with it everything in it. */
  deleteNamespace(namespace: string): Promise<void>;
}

/** A condition of a Deployment or a pod, as the API server reports it. */
export interface ConditionFact {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** One Deployment's spec and status, as plain numbers. */
export interface DeploymentFacts {
  readonly name: string;
  /** `metadata.generation`: bumped by every change of the spec. */
  readonly generation: number;
  /** `status.observedGeneration`: the generation the controller has acted on (0 before it has). */
  readonly observedGeneration: number;
  /** `spec.replicas`. */
  readonly desired: number;
  /** `status.replicas`: pods of every revision, not counting those terminating. */
  readonly replicas: number;
  /** `status.updatedReplicas`: pods of the current revision. */
  readonly updated: number;
  /** `status.readyReplicas`: ready pods of any revision. */
  readonly ready: number;
  readonly conditions: readonly ConditionFact[];
}

/** One container's state, where it says why it does not run. */
export interface ContainerFacts {
  readonly name: string;
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  /** How the previous run of the container ended, when it has restarted. */
  readonly lastTerminated?: { readonly exitCode: number; readonly message?: string };
}

/** One pod's facts that explain a cluster that is not ready. */
export interface PodFacts {
  readonly name: string;
  readonly containers: readonly ContainerFacts[];
  /** The `PodScheduled=False` condition, when no node takes the pod. */
  readonly unschedulable?: { readonly reason?: string; readonly message?: string };
}

/** The namespace's Deployments and pods, reported as they are; the core's observer decides what they mean. */
export interface KubernetesFacts {
  readonly deployments: readonly DeploymentFacts[];
  readonly pods: readonly PodFacts[];
}

/** Reads back what Kubernetes made of the tenant's objects. */
export interface KubernetesObserver {
  /**
   * Reads the Deployments' and pods' status back. Given the answer of an apply to this namespace, it takes the
   * Deployments from it, as they were stored a moment ago, and reads only the pods.
   */
  observe(namespace: string, applied?: AppliedObjects): Promise<KubernetesFacts>;
}

/** What the JobManager's REST API says of its cluster (`GET /overview`). */
export interface FlinkOverview {
  readonly taskManagers: number;
  readonly slotsTotal: number;
  readonly flinkVersion: string;
  readonly jobsRunning: number;
}

/** A JAR a JobManager holds (`GET /jars`): Flink's id for it and the file name it was uploaded as. */
export interface FlinkJar {
  readonly id: string;
  readonly name: string;
}

/** The body of `POST /jars/{id}/run`. */
export interface FlinkRunRequest {
  readonly entryClass?: string;
  readonly programArgsList: readonly string[];
  readonly parallelism?: number;
  readonly savepointPath?: string;
  readonly allowNonRestoredState?: boolean;
}

/** A JSON answer of the JobManager as Flink sends it; the core's job views read the fields they need. */
export type FlinkJson = Readonly<Record<string, unknown>>;

/**
 * The tenant's JobManager REST API, reached through the Kubernetes API (a port-forward into the JobManager pod), so
 * the control plane needs no network path into tenant namespaces. Every call throws `dependency_unavailable` when no
 * JobManager answers, and `flink_rejected` (Flink's status and its `errors` in the details) when it answers 4xx/5xx.
 */
export interface FlinkRest {
  overview(namespace: string): Promise<FlinkOverview>;
  /** `GET /jars`. */
  listJars(namespace: string): Promise<FlinkJar[]>;
  /** `POST /jars/upload`, multipart, the body streamed as it is read. */
  uploadJar(namespace: string, fileName: string, body: AsyncIterable<Uint8Array>, bytes: number): Promise<FlinkJar>;
  /** `POST /jars/{id}/run`; answers the new job's id. */
  runJar(namespace: string, flinkJarId: string, request: FlinkRunRequest): Promise<string>;
  /** `GET /jobs/overview`. */
  jobsOverview(namespace: string): Promise<FlinkJson>;
  /** `GET /jobs/{id}`, `/jobs/{id}/checkpoints`, `/jobs/{id}/exceptions`, `/jobs/{id}/metrics?get=numRestarts`. */
  job(namespace: string, jobId: string): Promise<FlinkJson>;
  jobCheckpoints(namespace: string, jobId: string): Promise<FlinkJson>;
  jobExceptions(namespace: string, jobId: string): Promise<FlinkJson>;
  jobRestarts(namespace: string, jobId: string): Promise<number | undefined>;
  /** `POST /jobs/{id}/savepoints`; answers the trigger id. */
  triggerSavepoint(namespace: string, jobId: string, targetDirectory: string): Promise<string>;
  /** `POST /jobs/{id}/stop`; answers the trigger id. */
  stopWithSavepoint(namespace: string, jobId: string, targetDirectory: string, drain: boolean): Promise<string>;
  /** `GET /jobs/{id}/savepoints/{triggerId}` (the same for a stop). */
  savepointStatus(namespace: string, jobId: string, triggerId: string): Promise<FlinkJson>;
  /** `PATCH /jobs/{id}?mode=cancel`. */
  cancelJob(namespace: string, jobId: string): Promise<void>;
}

/** One object of a tenant bucket, as a listing or a head reports it. */
export interface StoredObject {
  readonly key: string;
  readonly bytes: number;
  /** ISO time. */
  readonly lastModified: string;
  /** User metadata (`x-amz-meta-*`); only a head or a get reads it. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Objects in the tenant buckets (JARs, run records, snapshot listings). Every call names the bucket's expected owner,
 * as the bucket store does.
 */
export interface ObjectStore {
  /** Streams `body` into a new object; answers the bytes written. A failed upload leaves no object. */
  put(
    bucket: string,
    key: string,
    body: AsyncIterable<Uint8Array>,
    metadata: Readonly<Record<string, string>>,
  ): Promise<number>;
  /** Server-side copy, replacing the metadata. */
  copy(bucket: string, from: string, to: string, metadata: Readonly<Record<string, string>>): Promise<void>;
  head(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** The object's bytes as a stream, or undefined when there is no such object. */
  get(bucket: string, key: string): Promise<{ object: StoredObject; body: AsyncIterable<Uint8Array> } | undefined>;
  /** Every object under `prefix`, all pages. */
  list(bucket: string, prefix: string): Promise<StoredObject[]>;
  /** Idempotent. */
  delete(bucket: string, key: string): Promise<void>;
}

/** A PUT of one object a client sends straight to the store, without the control plane's credentials. */
export interface PresignedPut {
  readonly url: string;
  /** Headers the PUT must carry exactly as given: they are part of the signature. */
  readonly headers: Readonly<Record<string, string>>;
  /** ISO time after which the store refuses the URL. */
  readonly expiresAt: string;
}

/**
 * Signs uploads into a tenant bucket (S3 presigned URLs): the signature covers the bucket, the key and `headers`, so
 * the URL writes that one object and nothing else.
 */
export interface UploadSigner {
  presignPut(
    bucket: string,
    key: string,
    headers: Readonly<Record<string, string>>,
    expiresInSeconds: number,
  ): Promise<PresignedPut>;
}

/** The tenant pods' access to the tenant bucket (EKS Pod Identity associations). */
export interface TenantAccess {
  grant(tenant: string, namespace: string, serviceAccount: string): Promise<void>;
  revoke(tenant: string, namespace: string, serviceAccount: string): Promise<void>;
  hasAccess(tenant: string, namespace: string, serviceAccount: string): Promise<boolean>;
}

/** Derives secrets from the platform's key, so a retry or redeploy gets the same identity without storing it. */
export interface SecretSource {
  zookeeperIdentity(tenant: string): ZooKeeperIdentity;
}

export interface Clock {
  now(): Date;
}
