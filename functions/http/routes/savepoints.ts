/**
 * The savepoint ledger's routes: the tenant's savepoints and retained checkpoints with their restorable verdict, the
 * deletion of one, and the tenant's retention setting. Spread into `ROUTES` (`../routes.ts`).
 */
import * as z from 'zod';
import { SNAPSHOT_KINDS } from '../../core/jobs/ledger.ts';
import type { RouteDeclaration } from '../routes.ts';

const SAVEPOINTS = '/v1/tenants/{tenant}/savepoints';

const RetentionFieldsSchema = {
  maxCount: z.number().int().min(1).describe('Snapshots kept per job, newest first'),
  maxAgeDays: z.number().int().min(1).describe('Days a snapshot is kept'),
};
const PolicySchema = z.object(RetentionFieldsSchema);

/** `PUT …/savepoints/retention`: the tenant's whole setting; a field left out takes the platform default. */
export const RetentionSettingSchema = z
  .object({
    maxCount: RetentionFieldsSchema.maxCount.nullable().optional(),
    maxAgeDays: RetentionFieldsSchema.maxAgeDays.nullable().optional(),
  })
  .strict();

export const RetentionViewSchema = z.object({
  ...RetentionFieldsSchema,
  setting: z.object({ maxCount: z.number().optional(), maxAgeDays: z.number().optional() }),
  platformDefault: PolicySchema,
  platformMaximum: PolicySchema,
});

export const SnapshotViewSchema = z.object({
  id: z.string(),
  kind: z.enum(SNAPSHOT_KINDS),
  jobId: z.string(),
  jobName: z.string().optional(),
  takenAt: z.string(),
  bytes: z.number().describe('Bytes under the snapshot directory'),
  path: z.string(),
  restorable: z.boolean().nullable().describe('null while no inspector could check it; `reason` says why'),
  reason: z.string().optional(),
  missing: z.array(z.string()).optional(),
  checkedWith: z.string().optional().describe('The Flink version whose classes read the snapshot'),
});

export const SnapshotListSchema = z.object({ items: z.array(SnapshotViewSchema) });

export type SnapshotViewResponse = z.infer<typeof SnapshotViewSchema>;
export type SnapshotListResponse = z.infer<typeof SnapshotListSchema>;
export type RetentionViewResponse = z.infer<typeof RetentionViewSchema>;

export const SAVEPOINT_ROUTES = [
  {
    method: 'GET',
    path: SAVEPOINTS,
    access: 'tenant',
    summary:
      "Every savepoint and retained checkpoint in the tenant's bucket, across destroy, redeploy and clean start, newest first",
    status: 200,
    response: SnapshotListSchema,
    readme:
      '200 `{"items"}`: id, kind, job id and name, time, bytes, path, `restorable` with the reason (read by the cluster version\'s own classes; every referenced file present)',
  },
  {
    method: 'GET',
    path: `${SAVEPOINTS}/retention`,
    access: 'tenant',
    summary: "The tenant's snapshot retention, its setting and the platform default and maximum",
    status: 200,
    response: RetentionViewSchema,
    readme: '200 `{"maxCount","maxAgeDays","setting","platformDefault","platformMaximum"}`',
  },
  {
    method: 'PUT',
    path: `${SAVEPOINTS}/retention`,
    access: 'tenant',
    summary: "Replace the tenant's snapshot retention; a field left out takes the platform default",
    status: 200,
    request: { body: RetentionSettingSchema, bodyRequired: true },
    response: RetentionViewSchema,
    usage: `PUT ${SAVEPOINTS}/retention\` \`{"maxCount","maxAgeDays"}`,
    readme: '200 + retention; 400 `invalid_request` naming every field below 1 or above the platform maximum',
  },
  {
    method: 'DELETE',
    path: `${SAVEPOINTS}/{id}`,
    access: 'tenant',
    summary: "Delete one snapshot; never its job's newest restorable one",
    status: 204,
    readme:
      "204; 409 `conflict` for the job's newest restorable snapshot (or one not yet checked that may be), 404 `not_found`",
  },
] as const satisfies readonly RouteDeclaration[];
