/** The log routes (issue 11, "Logs"): the pods a tenant may read, and a container's log, tailed or followed. */
import * as z from 'zod';
import { DEFAULT_TAIL_LINES, MAX_SINCE_SECONDS, MAX_TAIL_LINES, READABLE_CONTAINERS } from '../../core/logs.ts';
import type { RouteDeclaration } from '../routes.ts';

const CLUSTER = '/v1/tenants/{tenant}/flink-cluster';

/** The query of the log route as documented; `parseLogQuery` (core) checks it and names every bad field. */
export const LogQuerySchema = z.object({
  pod: z.string().describe('The pod, as GET …/flink-cluster/pods lists it'),
  container: z.string().optional().describe("The container; defaults to the pod's only readable one"),
  tailLines: z
    .string()
    .optional()
    .describe(`Lines from the end, 1 to ${MAX_TAIL_LINES}; default ${DEFAULT_TAIL_LINES}`),
  since: z
    .string()
    .optional()
    .describe(`Only lines newer than this: seconds, or 30s, 15m, 2h; at most ${MAX_SINCE_SECONDS / 3600}h`),
  follow: z.string().optional().describe('true: keep the response open and stream new lines as they come'),
});

export const LogPodSchema = z.object({
  name: z.string(),
  component: z.enum(Object.keys(READABLE_CONTAINERS) as [keyof typeof READABLE_CONTAINERS]),
  containers: z.array(z.string()),
  phase: z.string().nullable(),
  startTime: z.string().nullable(),
});
export const LogPodListSchema = z.object({ pods: z.array(LogPodSchema) });
export type LogPodList = z.infer<typeof LogPodListSchema>;

export const LOG_ROUTES = [
  {
    method: 'GET',
    path: `${CLUSTER}/pods`,
    access: 'tenant',
    summary: 'The JobManager, TaskManager and proxy pods of the cluster, whose logs the tenant may read',
    status: 200,
    response: LogPodListSchema,
    readme: '200 `{"pods":[{"name","component","containers","phase","startTime"}]}`',
  },
  {
    method: 'GET',
    path: `${CLUSTER}/logs`,
    access: 'tenant',
    summary:
      "A container's log as text/plain: the last tailLines lines (since at most 24h ago), and with follow=true new lines as they come (chunked)",
    status: 200,
    request: { query: LogQuerySchema },
    usage: `GET ${CLUSTER}/logs?pod=&container=&since=&tailLines=&follow=`,
    readme: `200 \`text/plain\` log (tailLines 1 to ${MAX_TAIL_LINES}, default ${DEFAULT_TAIL_LINES}; since at most 24h); \`follow=true\` streams new lines; 400 names each bad field, 404 for a pod that is not the tenant's JobManager, TaskManager or proxy`,
  },
] as const satisfies readonly RouteDeclaration[];
