import * as z from 'zod';
import { RESTORE_MODES } from '../core/cluster-spec.ts';
import { ERROR_CODES } from '../core/errors.ts';
import { CLUSTER_STATES } from '../core/ports.ts';

export { ClusterSpecInputSchema } from '../core/cluster-spec.ts';

const optionalNumber = (description: string) => z.number().nullable().optional().describe(description);

/**
 * A JSON merge patch (RFC 7396) of the cluster spec: a field it names replaces the current one, `null` resets it to
 * its default, a field it leaves out stays. `restore` is not kept from the last deploy: name `"clean"` to start clean.
 * The merged spec goes through the same validator as a PUT.
 */
export const ClusterMergePatchSchema = z
  .object({
    flinkVersion: z.string().nullable().optional().describe('Flink version from the catalog'),
    zone: z.string().nullable().optional(),
    jobManager: z
      .object({ cpu: optionalNumber('JobManager CPU in cores'), memoryMB: optionalNumber('JobManager memory in MB') })
      .strict()
      .nullable()
      .optional(),
    taskManager: z
      .object({
        cpu: optionalNumber('CPU of each TaskManager in cores'),
        memoryMB: optionalNumber('Memory of each TaskManager in MB'),
        instances: optionalNumber('Number of TaskManagers'),
      })
      .strict()
      .nullable()
      .optional(),
    flinkConfiguration: z
      .record(z.string(), z.unknown())
      .nullable()
      .optional()
      .describe('Keys to set (flat dotted or nested); a key set to null is removed'),
    restore: z.enum(RESTORE_MODES).nullable().optional(),
  })
  .strict();

export const RegisterTenantSchema = z
  .object({ name: z.string().describe('Tenant name: 2 to 24 lowercase letters, digits and hyphens') })
  .strict();

export const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(25).describe('Page size, 1 to 100'),
    cursor: z.string().max(2048).optional().describe('Opaque cursor from the previous page'),
  })
  .strict();

export const PurgeQuerySchema = z
  .object({
    purge: z.literal('true').describe('Must be true: deleting a tenant always purges its retained state'),
    confirm: z.string().describe('The tenant name again, to confirm'),
  })
  .strict();

const ConfigEntrySchema = z.object({
  key: z.string(),
  value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]),
  source: z.enum(['fixed', 'platform', 'default', 'tenant']),
  fixed: z.boolean(),
});

export const ClusterViewSchema = z.object({
  tenant: z.string(),
  state: z.enum(CLUSTER_STATES),
  generation: z.number().int(),
  spec: z.object({
    flinkVersion: z.string(),
    zone: z.string(),
    jobManager: z.object({ cpu: z.number(), memoryMB: z.number() }),
    taskManager: z.object({ cpu: z.number(), memoryMB: z.number(), instances: z.number() }),
    flinkConfiguration: z.record(z.string(), z.unknown()),
    restore: z.enum(['latest-state', 'clean']),
  }),
  flinkConfiguration: z.object({ jobmanager: z.array(ConfigEntrySchema), taskmanager: z.array(ConfigEntrySchema) }),
  uiUrl: z.string(),
  zookeeperProxy: z.string(),
  zookeeperNamespace: z.string(),
  namespace: z.string(),
  bucket: z.string(),
  volume: z.object({ name: z.string(), sizeGiB: z.number() }),
  haClusterId: z.string(),
  previousHaClusterIds: z.array(z.string()),
  retained: z.array(z.object({ kind: z.string(), name: z.string() })),
  observed: z
    .object({
      jobManagerReady: z.boolean(),
      taskManagersReady: z.number(),
      taskManagersDesired: z.number(),
      taskManagersUpdated: z.number(),
      rolledOut: z.boolean(),
      taskManagersRegistered: z.number().optional(),
      flinkVersion: z.string().optional(),
      reason: z.string().optional(),
      failed: z.boolean(),
    })
    .nullable(),
  operation: z
    .object({ kind: z.string(), generation: z.number(), step: z.string(), leaseUntil: z.string() })
    .nullable(),
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deployedAt: z.string().nullable(),
  destroyedAt: z.string().nullable(),
});

export const ClusterViewPageSchema = z.object({ items: z.array(ClusterViewSchema), cursor: z.string().optional() });

export const TenantSummarySchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  clusterState: z.enum(CLUSTER_STATES).nullable(),
});

export const TenantPageSchema = z.object({ items: z.array(TenantSummarySchema), cursor: z.string().optional() });

export const RegisteredTenantSchema = z.object({
  name: z.string(),
  token: z.string().describe('The API token, shown once'),
});

export const PurgeResultSchema = z.object({ tenant: z.string(), purged: z.array(z.string()) });

export const HealthSchema = z.object({ status: z.string(), components: z.record(z.string(), z.unknown()).optional() });

export const CatalogSchema = z.object({
  versions: z.array(
    z.object({
      version: z.string(),
      release: z.string(),
      configFileName: z.string(),
      providedPackages: z.array(z.string()),
    }),
  ),
  defaultVersion: z.string(),
  zones: z.array(z.string()),
  sizing: z.array(
    z.object({
      field: z.string(),
      label: z.string(),
      unit: z.string(),
      default: z.number(),
      minimum: z.number(),
      maximum: z.number(),
      step: z.number(),
    }),
  ),
  fixedSizes: z.record(z.string(), z.unknown()),
  fixedSettings: z.array(z.object({ keys: z.array(z.string()), scope: z.string(), value: z.unknown() })),
});

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});

export type ClusterViewPage = z.infer<typeof ClusterViewPageSchema>;
export type TenantSummaryResponse = z.infer<typeof TenantSummarySchema>;
export type TenantPage = z.infer<typeof TenantPageSchema>;
export type RegisteredTenantResponse = z.infer<typeof RegisteredTenantSchema>;
export type PurgeResultResponse = z.infer<typeof PurgeResultSchema>;
export type HealthResponse = z.infer<typeof HealthSchema>;
export type CatalogResponse = z.infer<typeof CatalogSchema>;
export type ErrorBodyResponse = z.infer<typeof ErrorBodySchema>;
export type ClusterMergePatch = z.infer<typeof ClusterMergePatchSchema>;

// Jobs and JARs (H2): the routes of `routes/jobs.ts`.

export { RunJobInputSchema } from '../core/jobs/run-request.ts';

export const JarSchema = z.object({
  jarId: z.string().describe('The first 16 hex digits of the SHA-256 of the bytes'),
  name: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  uploadedAt: z.string(),
});

export const JarListSchema = z.object({ items: z.array(JarSchema) });

export const JarUploadQuerySchema = z
  .object({
    name: z
      .string()
      .max(200)
      .optional()
      .describe('The file name, ending in .jar; else the Content-Disposition filename'),
  })
  .strict();

export const JarUploadBodySchema = z.string().describe("The JAR file's bytes (at most 500 MiB)");

export const JarUploadRequestSchema = z
  .object({
    name: z.string().describe('The file name, ending in .jar'),
    bytes: z.number().int().describe('The exact size of the file: the URL is signed for it (at most 500 MiB)'),
  })
  .strict();

export const JarUploadSchema = z.object({
  uploadId: z.string().describe('Complete the upload with it once the PUT succeeded'),
  url: z.string().describe('The presigned URL'),
  method: z.literal('PUT'),
  headers: z.record(z.string(), z.string()).describe('Headers the PUT must carry unchanged (they are signed)'),
  expiresAt: z.string(),
  key: z.string().describe("The object the URL writes in the tenant's bucket"),
});

export const JobSummarySchema = z.object({
  jobId: z.string(),
  name: z.string(),
  state: z.string(),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
  durationMs: z.number(),
});

export const JobListSchema = z.object({ items: z.array(JobSummarySchema) });

export const JobRunSchema = z.object({
  jobId: z.string(),
  jarId: z.string(),
  jarName: z.string(),
  entryClass: z.string().optional(),
  args: z.array(z.string()),
  parallelism: z.number().optional(),
  restoreFrom: z.string().optional(),
  allowNonRestoredState: z.boolean(),
  submittedAt: z.string(),
});

export const JobViewSchema = JobSummarySchema.extend({
  restarts: z.number().optional(),
  lastCheckpoint: z
    .object({
      id: z.number(),
      time: z.string().optional(),
      bytes: z.number(),
      path: z.string(),
      savepoint: z.boolean(),
    })
    .optional(),
  restoredFrom: z.string().optional(),
  exceptions: z.array(
    z.object({ time: z.string().optional(), name: z.string(), message: z.string(), task: z.string().optional() }),
  ),
  run: JobRunSchema.optional().describe('How the job was submitted through the API'),
});

export const JobSubmittedSchema = z.object({ jobId: z.string() });

export const StopJobSchema = z
  .object({ drain: z.boolean().optional().describe('Emit every pending window and timer before the savepoint') })
  .strict();

export const JobOperationSchema = z.object({
  operationId: z.string(),
  kind: z.enum(['savepoint', 'stop', 'cancel']),
  jobId: z.string(),
  status: z.enum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED']),
  savepointPath: z.string().optional(),
  failure: z.string().optional().describe("Why it failed, in Flink's words"),
});

export type JarResponse = z.infer<typeof JarSchema>;
export type JarListResponse = z.infer<typeof JarListSchema>;
export type JarUploadResponse = z.infer<typeof JarUploadSchema>;
export type JobSummaryResponse = z.infer<typeof JobSummarySchema>;
export type JobListResponse = z.infer<typeof JobListSchema>;
export type JobViewResponse = z.infer<typeof JobViewSchema>;
export type JobSubmittedResponse = z.infer<typeof JobSubmittedSchema>;
export type JobOperationResponse = z.infer<typeof JobOperationSchema>;
