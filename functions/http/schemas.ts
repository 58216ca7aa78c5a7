import * as z from 'zod';
import { ERROR_CODES } from '../core/errors.ts';
import { CLUSTER_STATES } from '../core/ports.ts';

export { ClusterSpecInputSchema } from '../core/cluster-spec.ts';

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

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});
