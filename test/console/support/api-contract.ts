// Type-level only: what the server answers must be assignable to what the console reads, so `npm run typecheck`
// fails the moment the API and the console drift apart. Nothing here runs.
import type {
  Catalog,
  Issue as ConsoleIssue,
  PurgeResult,
  RegisteredTenant,
  TenantSummary,
} from '../../../console/src/api-types.ts';
import type { ControlPlane } from '../../../functions/core/control-plane.ts';
import type { Issue } from '../../../functions/core/errors.ts';

type Assignable<Target, Source extends Target> = Source;

export type ContractChecks = [
  Assignable<Catalog, ReturnType<ControlPlane['versions']>>,
  Assignable<ConsoleIssue, Issue>,
  Assignable<readonly TenantSummary[], Awaited<ReturnType<ControlPlane['listTenants']>>['items']>,
  Assignable<RegisteredTenant, Awaited<ReturnType<ControlPlane['registerTenant']>>>,
  Assignable<PurgeResult, Awaited<ReturnType<ControlPlane['purge']>>>,
];
