import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { settingsMarkdown } from '../../functions/core/settings-doc.ts';
import { routeTableMarkdown } from '../../functions/http/routes.ts';
import { ApiCallError, formatApiError, runApiCommand } from './api-commands.ts';
import { CliUsageError, formatIssues, renderManifests } from './render.ts';

/** Every command's usage: what `<command> --help` prints, and together the CLI's usage. */
const COMMANDS: Readonly<Record<string, string>> = {
  versions: `versions [--json]
      The Flink versions, defaults, minimums and quota.`,
  deploy: `deploy --tenant <name> [--spec file.json] [--flink-version V] [--zone Z] [--jm-cpu N] [--jm-memory MB]
         [--tm-cpu N] [--tm-memory MB] [--tm-instances N] [--clean] [--json]
      Deploys the tenant's Flink cluster. --spec is a cluster spec as JSON; the flags override its fields. On an
      existing cluster it sends them as a merge patch (PATCH): a field you do not name keeps its value.
      --clean starts with a new HA cluster id (the old state is kept and listed) instead of recovering the jobs.`,
  patch: `patch --tenant <name> (<json> | --file patch.json) [--if-match <generation>] [--json]
      Changes only what the JSON merge patch (RFC 7396) names, e.g. '{"taskManager":{"instances":3}}'; null resets a
      field to its default. --if-match refuses the change (412) if the cluster moved past that generation.`,
  status: `status --tenant <name> [--json]
      The cluster's state and resources.`,
  destroy: `destroy --tenant <name> [--json]
      Destroys the cluster; the bucket, the ZooKeeper state and the volume are kept.`,
  tenants: `tenants register <name> [--json]
      Registers a tenant (operator) and prints its token once.
  tenants list [--json]
      Every tenant with its cluster state (operator).
  tenants purge <name> --confirm <name> [--json]
      Deletes a destroyed tenant's retained state (operator); --confirm repeats the tenant's name.`,
  render: `render --tenant <name> [--spec file.json] [--flink-version V] [--platform file.json] [--out dir]
      Prints (or writes to <dir>/<tenant>.yaml) the tenant's Kubernetes manifests as multi-document YAML. Offline.`,
  docs: `docs [routes]
      Prints the tables of defaults, minimums, fixed settings and versions; with routes, the API's route table.`,
};

/** The commands that call the API, and so take the connection options. */
const API_COMMANDS = new Set(['versions', 'deploy', 'patch', 'status', 'destroy', 'tenants']);

const CONNECTION = `API commands take --url <url> (or FLINKPLANE_URL; default http://127.0.0.1:8080) and --token <token>
(or FLINKPLANE_TOKEN), and print JSON with --json.`;

const EXIT_CODES = 'Exit codes: 0 ok, 1 failure, 2 invalid input or usage.';

const USAGE = `Usage: npm run -s flinkplane -- <command> [options]   (<command> --help, or help <command>, for one)

Commands:
${Object.values(COMMANDS)
  .map((usage) => `  ${usage}`)
  .join('\n')}

${CONNECTION}

${EXIT_CODES}`;

/** What `<command> --help` prints. */
function commandUsage(command: string): string {
  const usage = `Usage: npm run -s flinkplane -- ${COMMANDS[command]}`;
  return [usage, ...(API_COMMANDS.has(command) ? [CONNECTION] : []), EXIT_CODES].join('\n\n');
}

/** Runs the CLI and returns its exit code; output goes to the given streams so tests can read it. */
export async function runCli(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command && Object.hasOwn(COMMANDS, command) && (rest.includes('--help') || rest.includes('-h'))) {
    out.write(`${commandUsage(command)}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'render':
        return render(rest, out, err);
      case 'versions':
      case 'deploy':
      case 'patch':
      case 'status':
      case 'destroy':
      case 'tenants':
        return await runApiCommand(command, rest, out);
      case 'docs':
        out.write(`${rest[0] === 'routes' ? routeTableMarkdown() : settingsMarkdown()}\n`);
        return 0;
      case 'help':
        if (rest[0] && Object.hasOwn(COMMANDS, rest[0])) {
          out.write(`${commandUsage(rest[0])}\n`);
          return 0;
        }
        out.write(`${USAGE}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
        out.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        err.write(`Unknown command "${command}".\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ApiCallError) {
      err.write(formatApiError(error));
      return error.status >= 500 ? 1 : 2;
    }
    if (error instanceof TypeError && /fetch failed/.test(error.message)) {
      err.write(`Cannot reach the API: ${(error.cause as Error | undefined)?.message ?? error.message}\n`);
      return 1;
    }
    if (error instanceof CliUsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

function render(args: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      tenant: { type: 'string' },
      spec: { type: 'string' },
      'flink-version': { type: 'string' },
      platform: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const result = renderManifests({
    tenant: values.tenant,
    specFile: values.spec,
    flinkVersion: values['flink-version'],
    platformFile: values.platform,
    out: values.out,
  });
  if (!result.ok) {
    err.write(`Invalid input (${result.issues.length} issue${result.issues.length === 1 ? '' : 's'}):\n`);
    err.write(`${formatIssues(result.issues)}\n`);
    return 2;
  }
  if (result.file) err.write(`Wrote ${result.file}\n`);
  else out.write(result.yaml);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = await runCli(process.argv.slice(2));
}
