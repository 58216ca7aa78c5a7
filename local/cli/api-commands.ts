import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ClusterView } from '../../functions/core/cluster-view.ts';
import {
  type CatalogResponse,
  MERGE_PATCH_CONTENT_TYPE,
  type PurgeResultResponse,
  type RegisteredTenantResponse,
  type TenantPage,
} from '../../functions/http/routes.ts';
import { CliUsageError } from './render.ts';

export type Writable = { write(text: string): unknown };

export interface Connection {
  readonly url: string;
  readonly token: string;
  readonly json: boolean;
}

export const COMMON_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** An error the API answered; the CLI prints its code, message and each issue's field. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } },
  ) {
    super(body.error?.message ?? `HTTP ${status}`);
  }
}

export function connection(values: { url?: string; token?: string; json?: boolean }): Connection {
  const url = values.url ?? process.env.FLINKPLANE_URL ?? 'http://127.0.0.1:8080';
  const token = values.token ?? process.env.FLINKPLANE_TOKEN;
  if (!token) throw new CliUsageError('Give a token with --token or FLINKPLANE_TOKEN');
  return { url: url.replace(/\/+$/, ''), token, json: values.json ?? false };
}

export async function call(
  connection: Connection,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const response = await fetch(`${connection.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${connection.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) throw new ApiCallError(response.status, (parsed ?? {}) as ApiCallError['body']);
  return parsed;
}

/** Runs one of the API commands; returns the exit code. */
export async function runApiCommand(command: string, args: readonly string[], out: Writable): Promise<number> {
  switch (command) {
    case 'versions': {
      const { values } = parseArgs({ args: [...args], strict: true, options: COMMON_OPTIONS });
      const conn = connection(values);
      const catalog = (await call(conn, 'GET', '/v1/flink-versions')) as CatalogResponse;
      if (conn.json) return print(out, catalog);
      out.write('VERSION  RELEASE  CONFIG FILE\n');
      for (const v of catalog.versions) {
        out.write(
          `${v.version.padEnd(9)}${v.release.padEnd(9)}${v.configFileName}${v.version === catalog.defaultVersion ? '  (default)' : ''}\n`,
        );
      }
      out.write('\nFIELD                   DEFAULT  MINIMUM  MAXIMUM\n');
      for (const s of catalog.sizing) {
        out.write(
          `${s.field.padEnd(24)}${String(s.default).padEnd(9)}${String(s.minimum).padEnd(9)}${s.maximum} ${s.unit}\n`,
        );
      }
      return 0;
    }
    case 'deploy': {
      const { values } = parseArgs({
        args: [...args],
        strict: true,
        options: {
          ...COMMON_OPTIONS,
          tenant: { type: 'string' },
          spec: { type: 'string' },
          'flink-version': { type: 'string' },
          zone: { type: 'string' },
          'jm-cpu': { type: 'string' },
          'jm-memory': { type: 'string' },
          'tm-cpu': { type: 'string' },
          'tm-memory': { type: 'string' },
          'tm-instances': { type: 'string' },
          clean: { type: 'boolean', default: false },
        },
      });
      const conn = connection(values);
      const tenant = requireTenant(values.tenant);
      const spec = values.spec ? (JSON.parse(readFileSync(values.spec, 'utf8')) as Record<string, unknown>) : {};
      const jobManager = { ...(spec.jobManager as object) } as Record<string, number>;
      const taskManager = { ...(spec.taskManager as object) } as Record<string, number>;
      if (values['flink-version']) spec.flinkVersion = values['flink-version'];
      if (values.zone) spec.zone = values.zone;
      if (values['jm-cpu']) jobManager.cpu = numberOption('jm-cpu', values['jm-cpu']);
      if (values['jm-memory']) jobManager.memoryMB = numberOption('jm-memory', values['jm-memory']);
      if (values['tm-cpu']) taskManager.cpu = numberOption('tm-cpu', values['tm-cpu']);
      if (values['tm-memory']) taskManager.memoryMB = numberOption('tm-memory', values['tm-memory']);
      if (values['tm-instances']) taskManager.instances = numberOption('tm-instances', values['tm-instances']);
      if (Object.keys(jobManager).length) spec.jobManager = jobManager;
      if (Object.keys(taskManager).length) spec.taskManager = taskManager;
      if (values.clean) spec.restore = 'clean';
      const path = `/v1/tenants/${encodeURIComponent(tenant)}/flink-cluster`;
      // On an existing cluster only what the user named changes: a PUT would reset every other field to its default.
      const existing = await call(conn, 'GET', `${path}?optional=true`);
      const view =
        existing === null || existing === undefined
          ? await call(conn, 'PUT', path, spec)
          : await call(conn, 'PATCH', path, spec, { 'content-type': MERGE_PATCH_CONTENT_TYPE });
      return conn.json ? print(out, view) : printView(out, view);
    }
    case 'patch': {
      const { values, positionals } = parseArgs({
        args: [...args],
        strict: true,
        allowPositionals: true,
        options: {
          ...COMMON_OPTIONS,
          tenant: { type: 'string' },
          file: { type: 'string' },
          'if-match': { type: 'string' },
        },
      });
      const conn = connection(values);
      const tenant = requireTenant(values.tenant);
      const text = values.file ? readFileSync(values.file, 'utf8') : positionals[0];
      if (text === undefined) throw new CliUsageError('Give the merge patch as JSON, or --file patch.json');
      let patch: unknown;
      try {
        patch = JSON.parse(text);
      } catch (error) {
        throw new CliUsageError(`The merge patch is not valid JSON: ${(error as Error).message}`);
      }
      const ifMatch = values['if-match'];
      if (ifMatch !== undefined && !/^\d+$/.test(ifMatch)) {
        throw new CliUsageError(`--if-match takes the generation you read, a number; got "${ifMatch}"`);
      }
      const view = await call(conn, 'PATCH', `/v1/tenants/${encodeURIComponent(tenant)}/flink-cluster`, patch, {
        'content-type': MERGE_PATCH_CONTENT_TYPE,
        ...(ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` }),
      });
      return conn.json ? print(out, view) : printView(out, view);
    }
    case 'status':
    case 'destroy': {
      const { values } = parseArgs({
        args: [...args],
        strict: true,
        options: { ...COMMON_OPTIONS, tenant: { type: 'string' } },
      });
      const conn = connection(values);
      const tenant = requireTenant(values.tenant);
      const view = await call(
        conn,
        command === 'status' ? 'GET' : 'DELETE',
        `/v1/tenants/${encodeURIComponent(tenant)}/flink-cluster`,
      );
      return conn.json ? print(out, view) : printView(out, view);
    }
    case 'tenants':
      return tenants(args, out);
    default:
      throw new CliUsageError(`Unknown command "${command}"`);
  }
}

async function tenants(args: readonly string[], out: Writable): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: [...rest],
    strict: true,
    allowPositionals: true,
    options: { ...COMMON_OPTIONS, confirm: { type: 'string' } },
  });
  const conn = connection(values);
  switch (sub) {
    case 'register': {
      const name = requireTenant(positionals[0]);
      const created = (await call(conn, 'POST', '/v1/tenants', { name })) as RegisteredTenantResponse;
      if (conn.json) return print(out, created);
      out.write(`Registered tenant ${created.name}.\nToken (shown once; keep it secret): ${created.token}\n`);
      return 0;
    }
    case 'list': {
      const items: TenantPage['items'] = [];
      let cursor: string | undefined;
      do {
        const page = (await call(
          conn,
          'GET',
          `/v1/tenants?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        )) as TenantPage;
        items.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      if (conn.json) return print(out, items);
      out.write('TENANT                    CLUSTER     REGISTERED\n');
      for (const t of items) out.write(`${t.name.padEnd(26)}${(t.clusterState ?? '-').padEnd(12)}${t.createdAt}\n`);
      return 0;
    }
    case 'purge': {
      const name = requireTenant(positionals[0]);
      // The API's own refusal names its query parameter; the CLI's user types a flag.
      if (values.confirm !== name) {
        throw new CliUsageError(
          `Purging deletes every retained resource of ${name}; confirm with --confirm ${name}${
            values.confirm === undefined ? '' : ` (--confirm was "${values.confirm}")`
          }`,
        );
      }
      const confirm = name;
      const result = await call(
        conn,
        'DELETE',
        `/v1/tenants/${encodeURIComponent(name)}?purge=true&confirm=${encodeURIComponent(confirm)}`,
      );
      if (conn.json) return print(out, result);
      out.write(`Purged ${name}: ${(result as PurgeResultResponse).purged.join('; ')}\n`);
      return 0;
    }
    default:
      throw new CliUsageError('Use: tenants register <name> | tenants list | tenants purge <name> --confirm <name>');
  }
}

function printView(out: Writable, view: unknown): number {
  const v = view as ClusterView;
  const rows: [string, string][] = [
    ['Tenant', v.tenant],
    ['State', `${v.state} (generation ${v.generation})`],
    ['Flink', `${v.spec.flinkVersion} in ${v.spec.zone}`],
    ['JobManager', `${v.spec.jobManager.cpu} CPU, ${v.spec.jobManager.memoryMB} MB`],
    [
      'TaskManagers',
      `${v.spec.taskManager.instances} × ${v.spec.taskManager.cpu} CPU, ${v.spec.taskManager.memoryMB} MB`,
    ],
    ['Flink UI', v.uiUrl],
    ['HA cluster id', v.haClusterId],
    ['Bucket', v.bucket],
    ['ZooKeeper proxy', v.zookeeperProxy],
  ];
  if (v.retained.length) rows.push(['Retained', v.retained.map((r) => `${r.kind} ${r.name}`).join(', ')]);
  if (v.lastError) rows.push(['Last error', `${v.lastError.code}: ${v.lastError.message}`]);
  for (const [label, value] of rows) out.write(`${label.padEnd(17)}${value}\n`);
  return 0;
}

export function print(out: Writable, value: unknown): number {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

export function requireTenant(value: string | undefined): string {
  if (!value) throw new CliUsageError('Name the tenant (--tenant <name>, or the positional name)');
  return value;
}

export function numberOption(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number)) throw new CliUsageError(`--${name} must be a number, got "${value}"`);
  return number;
}

/** The text the CLI prints for an API error: code, message, and one line per issue with its field. */
export function formatApiError(error: ApiCallError): string {
  const body = error.body.error;
  const lines = [`Error ${error.status} ${body?.code ?? 'unknown'}: ${body?.message ?? error.message}`];
  const issues = (body?.details?.issues ?? []) as { code: string; path: string; value: unknown; rule: string }[];
  for (const issue of issues)
    lines.push(`  ${issue.path}: ${issue.code} (value ${JSON.stringify(issue.value)}; ${issue.rule})`);
  return `${lines.join('\n')}\n`;
}
