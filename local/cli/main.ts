import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { settingsMarkdown } from '../../functions/core/settings-doc.ts';
import { routeTableMarkdown } from '../../functions/http/routes.ts';
import { ApiCallError, formatApiError, runApiCommand } from './api-commands.ts';
import { CliWaitTimeout, jarsCommand, jobsCommand } from './job-commands.ts';
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
  jars: `jars upload <file.jar> --tenant <name> [--name N] [--presigned] [--json]
      Uploads a JAR (at most 500 MiB), streamed through the API; --presigned PUTs it straight to the tenant's bucket
      through a presigned URL instead (on AWS, where API Gateway takes at most 10 MB), then registers it.
  jars list --tenant <name> [--json]
      The tenant's JARs, newest first.
  jars delete <jarId> --tenant <name> [--json]
      Deletes a JAR; running jobs keep their copy.`,
  jobs: `jobs list --tenant <name> [--json]
      The cluster's jobs and their states.
  jobs run --tenant <name> --jar <jarId> [--entry-class C] [--arg A]... [--parallelism N]
           [--restore-from <savepoint path>|latest] [--allow-non-restored-state] [--json]
      Runs a JAR as a job; --arg once per program argument (--arg=--flag for one that starts with a dash);
      --restore-from latest takes the newest snapshot of jobs run with the same entry class.
  jobs savepoint <jobId> --tenant <name> [--wait [--timeout S]] [--json]
      Triggers a savepoint into the tenant's bucket.
  jobs stop <jobId> --tenant <name> [--drain] [--wait [--timeout S]] [--json]
      Stops the job with a savepoint; --drain first emits every pending window and timer.
  jobs cancel <jobId> --tenant <name> [--wait [--timeout S]] [--json]
      Cancels the job without a savepoint.
      With --wait each polls the operation until it SUCCEEDED (exit 0) or FAILED (exit 1), at most --timeout seconds
      (default 300).`,
  render: `render --tenant <name> [--spec file.json] [--flink-version V] [--platform file.json] [--out dir]
      Prints (or writes to <dir>/<tenant>.yaml) the tenant's Kubernetes manifests as multi-document YAML. Offline.`,
  docs: `docs [routes]
      Prints the tables of defaults, minimums, fixed settings and versions; with routes, the API's route table.`,
};

/** The commands that call the API, and so take the connection options. */
const API_COMMANDS = new Set(['versions', 'deploy', 'patch', 'status', 'destroy', 'tenants', 'jars', 'jobs']);

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
      case 'jars':
        return await jarsCommand(rest, out);
      case 'jobs':
        return await jobsCommand(rest, out);
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
    // An upload goes through node:http, which fails with the socket's own error.
    if (['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET'].includes((error as { code?: string }).code ?? '')) {
      err.write(`Cannot reach the API: ${(error as Error).message}\n`);
      return 1;
    }
    if (error instanceof CliWaitTimeout) {
      err.write(`${error.message}\n`);
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
