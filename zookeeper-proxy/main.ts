import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_FRAME_BYTES } from './jute.ts';
import type { AclId } from './protocol.ts';
import {
  type HostPort,
  jsonStderrLogger,
  parseDigestIdentity,
  parseHostPort,
  startZooKeeperProxy,
  type ZooKeeperProxyOptions,
} from './proxy.ts';

const USAGE = `Usage: zk-proxy --listen HOST:PORT --upstream HOST:PORT[,HOST:PORT...] --chroot /path [options]

A ZooKeeper proxy that confines one tenant to its chroot. The tenant's digest identity (user:password) comes from
--auth-file or the ZK_PROXY_AUTH environment variable, never from the command line.

Options:
  --listen HOST:PORT          where clients connect (default 127.0.0.1:2181)
  --upstream LIST             ZooKeeper servers, tried in turn when one is down
  --chroot PATH               the tenant's root node; it must already exist
  --auth-file FILE            file holding user:password
  --no-auth                   no upstream identity (local development only)
  --metrics HOST:PORT         serve Prometheus metrics at /metrics and a health check at /healthz
  --max-frame-bytes N         largest frame accepted (default ${DEFAULT_MAX_FRAME_BYTES})
  --max-path-bytes N          longest server-side path (default 4096)
  --max-connections N         client connections at once (default 1024)
  --idle-timeout-ms N         close clients silent this long (default: the session timeout + 1 s)
  --handshake-timeout-ms N    time to complete the handshake (default 10000)
  --keep-open-acls            keep world:anyone ACLs instead of giving them to the tenant identity
  --grant-acl-file FILE       the same grants from a file, one SCHEME:ID a line (for ids that are password hashes)
  --grant-acl SCHEME:ID       also give ALL to this identity where world:anyone was rewritten (repeatable),
                              e.g. the control plane's digest id, so it can purge the tenant's tree
  --help                      this text
`;

/** A command-line mistake, reported with the usage text and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type CommandLine = { proxy: ZooKeeperProxyOptions; metrics: HostPort | undefined };

/** Parses the command line and the environment into proxy options; throws UsageError on mistakes. */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): CommandLine {
  let values: ReturnType<typeof parseFlags>['values'];
  try {
    values = parseFlags(argv).values;
  } catch (error) {
    // parseArgs quotes the offending argument; an argument could be a secret typed in the wrong place.
    const flag = String((error as Error).message).match(/'(--?[\w-]+)/)?.[1] ?? 'an argument';
    throw new UsageError(`unknown or malformed option ${flag}`);
  }
  if (values.help) throw new UsageError('');
  if (!values.upstream) throw new UsageError('--upstream is required');
  if (!values.chroot) throw new UsageError('--chroot is required');
  const auth = readIdentity(values, env, readFile);
  return {
    proxy: {
      listen: parseHostPort(values.listen ?? '127.0.0.1:2181'),
      upstreams: values.upstream.split(',').map((entry) => parseHostPort(entry.trim())),
      chroot: values.chroot,
      auth,
      rewriteOpenAcls: auth !== undefined && !values['keep-open-acls'],
      openAclGrants: [...(values['grant-acl'] ?? []), ...readGrantFile(values['grant-acl-file'], readFile)].map(
        parseAclId,
      ),
      maxFrameBytes: positive(values['max-frame-bytes'], '--max-frame-bytes'),
      maxPathBytes: positive(values['max-path-bytes'], '--max-path-bytes'),
      maxConnections: positive(values['max-connections'], '--max-connections'),
      idleTimeoutMs: positive(values['idle-timeout-ms'], '--idle-timeout-ms'),
      handshakeTimeoutMs: positive(values['handshake-timeout-ms'], '--handshake-timeout-ms'),
    },
    metrics: values.metrics ? parseHostPort(values.metrics) : undefined,
  };
}

function parseFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: 'string' },
      upstream: { type: 'string' },
      chroot: { type: 'string' },
      'auth-file': { type: 'string' },
      'no-auth': { type: 'boolean' },
      metrics: { type: 'string' },
      'max-frame-bytes': { type: 'string' },
      'max-path-bytes': { type: 'string' },
      'max-connections': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'handshake-timeout-ms': { type: 'string' },
      'keep-open-acls': { type: 'boolean' },
      'grant-acl': { type: 'string', multiple: true },
      'grant-acl-file': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

/** Grants from a file, one `SCHEME:ID` a line: a digest id is a password hash, which belongs in a Secret, not in argv. */
function readGrantFile(file: string | undefined, readFile: (path: string) => string): string[] {
  if (!file) return [];
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    // An absent file grants nothing more: the proxy then keeps rewritten ACLs to the tenant alone.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

function readIdentity(
  values: ReturnType<typeof parseFlags>['values'],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string,
): ZooKeeperProxyOptions['auth'] {
  if (values['no-auth']) {
    if (values['auth-file'] || env.ZK_PROXY_AUTH)
      throw new UsageError('--no-auth conflicts with a configured identity');
    return undefined;
  }
  const text = values['auth-file'] ? readFile(values['auth-file']) : env.ZK_PROXY_AUTH;
  if (!text) throw new UsageError('the tenant identity is required: --auth-file FILE or ZK_PROXY_AUTH=user:password');
  try {
    return parseDigestIdentity(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseAclId(text: string): AclId {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) throw new UsageError(`--grant-acl needs SCHEME:ID, got ${text}`);
  return { scheme: text.slice(0, colon), id: text.slice(colon + 1) };
}

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${flag} needs a positive integer, got ${text}`);
  return value;
}

/** How long a stopping proxy lets its clients close their sessions; well inside the pod's 30 s grace period. */
const DRAIN_MS = 15_000;

/** Runs the proxy until SIGTERM or SIGINT, then stops accepting, closes connections and exits 0. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const log = jsonStderrLogger;
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (!error.message) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    process.stderr.write(`zk-proxy: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.on('uncaughtException', (error) => {
    log({ level: 'error', msg: 'uncaught exception, exiting', error: error.message });
    process.exit(1);
  });

  const proxy = await startZooKeeperProxy({ ...commandLine.proxy, logger: log });
  log({
    level: 'info',
    msg: 'proxy started',
    chroot: commandLine.proxy.chroot,
    upstreams: commandLine.proxy.upstreams.map((upstream) => `${upstream.host}:${upstream.port}`),
    authenticated: commandLine.proxy.auth !== undefined,
    rewriteOpenAcls: commandLine.proxy.rewriteOpenAcls,
  });
  const metricsServer = commandLine.metrics
    ? await serveMetrics(commandLine.metrics, () => proxy.metrics())
    : undefined;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log({ level: 'info', msg: 'shutting down', signal, connections: proxy.stats().connectionsCurrent });
    metricsServer?.close();
    // A pod's processes get SIGTERM together: give Flink's ZooKeeper client the time to close its session through us,
    // or its leader nodes outlive it until the session times out and a redeploy waits for them.
    await proxy.close({ drainMs: DRAIN_MS });
    log({ level: 'info', msg: 'stopped' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function serveMetrics(address: HostPort, render: () => string): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render());
    } else if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      const bound = server.address() as AddressInfo;
      jsonStderrLogger({ level: 'info', msg: 'metrics listening', host: bound.address, port: bound.port });
      resolve(server);
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2), process.env);
}
