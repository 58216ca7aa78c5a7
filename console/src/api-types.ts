// The API's shapes as the console reads them. Pure types, no DOM: `test/console/support/api-contract.ts` checks
// that what the server answers is assignable to them, so the console cannot drift from the API.

export type ClusterState = 'DEPLOYING' | 'RUNNING' | 'DEGRADED' | 'FAILED' | 'DESTROYING' | 'DESTROYED';
export type RestoreMode = 'latest-state' | 'clean';
export type SizingPath =
  | 'jobManager.cpu'
  | 'jobManager.memoryMB'
  | 'taskManager.cpu'
  | 'taskManager.memoryMB'
  | 'taskManager.instances';

type ConfigScalar = string | number | boolean;

export interface ClusterSpec {
  readonly flinkVersion: string;
  readonly zone: string;
  readonly jobManager: { readonly cpu: number; readonly memoryMB: number };
  readonly taskManager: { readonly cpu: number; readonly memoryMB: number; readonly instances: number };
  readonly flinkConfiguration: Readonly<Record<string, ConfigScalar | readonly ConfigScalar[]>>;
  readonly restore: RestoreMode;
}

/** A deploy request as the form sends it: a blank or unreadable number goes as `null`, so the server names it. */
export interface ClusterSpecInput {
  readonly flinkVersion?: string;
  readonly zone?: string;
  readonly jobManager?: { readonly cpu?: number | null; readonly memoryMB?: number | null };
  readonly taskManager?: {
    readonly cpu?: number | null;
    readonly memoryMB?: number | null;
    readonly instances?: number | null;
  };
  readonly flinkConfiguration?: Readonly<Record<string, string>>;
  readonly restore?: RestoreMode;
}

export interface ConfigEntry {
  readonly key: string;
  readonly value: ConfigScalar | readonly ConfigScalar[];
  readonly source: 'fixed' | 'platform' | 'default' | 'tenant';
  readonly fixed: boolean;
}

export interface RetainedResource {
  readonly kind: 'bucket' | 'zookeeper-namespace' | 'volume' | 'ha-state';
  readonly name: string;
}

export interface ClusterView {
  readonly tenant: string;
  readonly state: ClusterState;
  readonly generation: number;
  readonly spec: ClusterSpec;
  readonly flinkConfiguration: {
    readonly jobmanager: readonly ConfigEntry[];
    readonly taskmanager: readonly ConfigEntry[];
  };
  readonly uiUrl: string;
  readonly zookeeperProxy: string;
  readonly zookeeperNamespace: string;
  readonly namespace: string;
  readonly bucket: string;
  readonly volume: { readonly name: string; readonly sizeGiB: number };
  readonly haClusterId: string;
  readonly previousHaClusterIds: readonly string[];
  readonly retained: readonly RetainedResource[];
  readonly observed: {
    readonly jobManagerReady: boolean;
    readonly taskManagersReady: number;
    readonly taskManagersDesired: number;
    readonly reason?: string;
    readonly failed: boolean;
  } | null;
  readonly operation: { readonly kind: string; readonly step: string } | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deployedAt: string | null;
  readonly destroyedAt: string | null;
}

export interface SizingField {
  readonly field: SizingPath;
  readonly label: string;
  readonly unit: string;
  readonly default: number;
  readonly minimum: number;
  readonly maximum: number;
  readonly step: number;
}

/** `GET /v1/flink-versions`: what a deploy may choose, with the defaults, minimums and quota. */
export interface Catalog {
  readonly versions: readonly { readonly version: string; readonly release: string }[];
  readonly defaultVersion: string;
  readonly zones: readonly string[];
  readonly sizing: readonly SizingField[];
}

export interface TenantSummary {
  readonly name: string;
  readonly createdAt: string;
  readonly clusterState: ClusterState | null;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor?: string | undefined;
}

export interface RegisteredTenant {
  readonly name: string;
  readonly token: string;
}

export interface PurgeResult {
  readonly tenant: string;
  readonly purged: readonly string[];
}

interface HealthComponent {
  readonly status: string;
  readonly runsOn?: string;
  readonly hint?: string;
  readonly simulated?: boolean;
}

/** `GET /healthz` (public); the local control plane adds which components it runs on. */
export interface Health {
  readonly status: string;
  readonly components?: { readonly kubernetes?: HealthComponent; readonly zookeeper?: HealthComponent };
}

/** One validation finding of `invalid_cluster_spec` or `fixed_setting`. */
export interface Issue {
  readonly code: string;
  /** Dotted field path, e.g. `taskManager.memoryMB` or `flinkConfiguration.rest.port`. */
  readonly path: string;
  readonly value: unknown;
  readonly rule: string;
  readonly message: string;
  readonly limit?: unknown;
}

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}
