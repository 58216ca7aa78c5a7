// The API's shapes as the console reads them. Pure types, no DOM. The cluster view and spec are the server's own
// types; for the console's narrower shapes `test/console/support/api-contract.ts` checks that what the server answers
// is assignable to them, so the console cannot drift from the API.

// The server's own types where the console reads them unchanged (type-only imports: nothing of the server is bundled).
export type { ClusterSpec, RestoreMode } from '../../functions/core/cluster-spec.ts';
export type { ClusterView, RetainedResource } from '../../functions/core/cluster-view.ts';
export type { ConfigEntry } from '../../functions/core/flink-configuration.ts';
export type { ClusterState } from '../../functions/core/ports.ts';

import type { RestoreMode } from '../../functions/core/cluster-spec.ts';

export type SizingPath =
  | 'jobManager.cpu'
  | 'jobManager.memoryMB'
  | 'taskManager.cpu'
  | 'taskManager.memoryMB'
  | 'taskManager.instances';

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

/** `GET …/flink-cluster/pods`: the route table's response type. */
export type { LogPodList } from '../../functions/http/routes/logs.ts';
/** `GET /v1/tenants`' items, `POST /v1/tenants` and the purge's answer: the route table's response types. */
export type {
  PurgeResultResponse as PurgeResult,
  RegisteredTenantResponse as RegisteredTenant,
  TenantSummaryResponse as TenantSummary,
} from '../../functions/http/routes.ts';

export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor?: string | undefined;
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

/** `POST /v1/auth/flink-ui/sign-in`: where the browser goes to be signed in at the vhost (once, within a minute). */
export interface FlinkUiSignIn {
  readonly url: string;
  readonly expiresAt: string;
}
