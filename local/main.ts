import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { checkOperatorToken } from '../functions/http/authenticator.ts';
import { startLocalControlPlane } from './local-control-plane.ts';
import { serveLocalPlane } from './local-server.ts';
import { progressLine } from './maven/progress-line.ts';
import { checkNetworkNamespaceSupport } from './pod-runtimes/kubelet/network.ts';

/** `npm start`: the API and the console on one port, on embedded stores kept in the data dir. */
async function main(): Promise<void> {
  const dataDir = resolve(process.env.FLINKPLANE_DATA_DIR ?? '.flinkplane');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const port = Number(process.env.PORT ?? 8080);
  const host = process.env.HOST ?? '127.0.0.1';
  const adminToken = process.env.FLINKPLANE_ADMIN_TOKEN ?? keptSecret(join(dataDir, 'admin-token'));
  checkOperatorToken(adminToken);
  const platformKey = keptSecret(join(dataDir, 'platform-key'));
  const kubeconfigPath = process.env.FLINKPLANE_KUBECONFIG ?? process.env.KUBECONFIG;

  let kubeConfig: KubeConfig | undefined;
  if (kubeconfigPath) {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
  }
  // Real pods by default; simulated ones on request (FLINKPLANE_PODS=simulated) or where namespaces cannot be made.
  let pods: 'kubelet' | 'simulated' = process.env.FLINKPLANE_PODS === 'simulated' ? 'simulated' : 'kubelet';
  let podsNote = pods === 'simulated' ? 'simulated, as FLINKPLANE_PODS asks' : 'real processes';
  if (!kubeConfig && pods === 'kubelet') {
    const support = await checkNetworkNamespaceSupport();
    if (!support.ok) {
      pods = 'simulated';
      podsNote = `SIMULATED: nothing runs Flink, because ${support.reason}`;
      console.error(`Pods are simulated: ${support.reason}.`);
    }
  }
  const progress = progressLine();
  const local = await startLocalControlPlane({
    pods,
    progress: progress.update,
    dataDir,
    adminToken,
    platformKey,
    platform: {
      domain: process.env.FLINKPLANE_DOMAIN ?? 'flink.localhost',
      ...(process.env.FLINKPLANE_POD_CIDR ? { podCidr: process.env.FLINKPLANE_POD_CIDR } : {}),
      // On the stand-in the local ingress serves the Flink UI vhosts on this same port, over HTTP.
      ...(kubeConfig ? {} : { ui: { scheme: 'http' as const, port } }),
    },
    ...(kubeConfig ? { kubeConfig } : {}),
  });
  progress.end();
  let standinKubeconfig: string | undefined;
  if (local.kube) {
    standinKubeconfig = join(dataDir, 'kubeconfig');
    writeFileSync(standinKubeconfig, local.kube.kubeconfigYaml(), { mode: 0o600 });
  }

  const log = (message: string, context: Record<string, unknown>) =>
    console.error(JSON.stringify({ level: 'error', message, ...context }));
  const consoleUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const served = await serveLocalPlane(local, { port, host, adminToken, consoleUrl, log }).catch(
    async (error: unknown) => {
      await local.stop();
      throw error;
    },
  );

  const health = (await local.health()).components as Record<
    string,
    { runsOn?: string; hint?: string; status: string }
  >;
  const lines = [
    `Flinkplane is running at http://${host}:${port}  (console and API; OpenAPI at /openapi.json)`,
    `Operator token: ${adminToken}${process.env.FLINKPLANE_ADMIN_TOKEN ? ' (from FLINKPLANE_ADMIN_TOKEN)' : ` (kept in ${join(dataDir, 'admin-token')})`}`,
    `Data dir:       ${dataDir}`,
    ...(local.kube ? [`Pods:           ${podsNote}`] : []),
    ...(local.kube
      ? [
          `Flink UI:       http://flink-cluster-ui-<tenant>.${local.platform.domain}:${port}  (same port; sign in through the console)`,
        ]
      : []),
    ...Object.entries(health).map(
      ([name, part]) => `${`${name}:`.padEnd(16)}${part.status === 'ok' ? part.runsOn : `UNAVAILABLE — ${part.hint}`}`,
    ),
    ...(standinKubeconfig
      ? [`kubeconfig:     ${standinKubeconfig}  (kubectl --kubeconfig ${standinKubeconfig} get deployments -A)`]
      : []),
  ];
  console.log(lines.join('\n'));

  // The reconciler runs on a schedule in AWS; locally it sweeps every second, never two sweeps at once.
  let sweeping = false;
  const reconciler = setInterval(
    () => {
      if (sweeping) return;
      sweeping = true;
      local.plane
        .reconcile()
        .catch((error: unknown) => log('reconcile failed', { error: String(error) }))
        .finally(() => {
          sweeping = false;
        });
    },
    Number(process.env.FLINKPLANE_RECONCILE_MS ?? 1000),
  );

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(reconciler);
    console.log(`\n${reason}: stopping…`);
    // The stores and ZooKeeper also end by themselves once this process is gone, so a stuck close is cut short.
    setTimeout(() => {
      console.error(`Not stopped within ${STOP_TIMEOUT_MS} ms; exiting anyway.`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    await served.close();
    await local.stop();
    process.exit(0);
  };
  // Stopping because npm went away may write to a pipe nobody reads any more: that must not end the stop half-way.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  watchParent(() => void stop('parent process gone'));
}

/** How long a stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Calls `gone` once the process that started this one has exited: a `kill -9` of npm (or of tsx) cannot forward a
 * signal, and without this the plane would keep its port as an orphan. `process.ppid` is read once by Node, so the
 * live parent comes from /proc; elsewhere the parent is probed with signal 0.
 */
function watchParent(gone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (parentPid() !== parent) {
      clearInterval(timer);
      gone();
    }
  }, PARENT_POLL_MS);
  timer.unref();
  const parentPid = (): number | undefined => {
    try {
      // The fields after the command name, which may itself hold spaces and parentheses: state, ppid, …
      const stat = readFileSync('/proc/self/stat', 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      try {
        process.kill(parent, 0);
        return parent;
      } catch {
        return undefined;
      }
    }
  };
}

/** How often the parent is checked. */
const PARENT_POLL_MS = 500;

/** A secret generated on first start and kept (mode 0600) so a restart keeps it. */
function keptSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

try {
  await main();
} catch (error) {
  // A start that fails (a bad operator token, a port in use, a store that cannot open its data) is one line, not a
  // stack: whatever had started was stopped on the way out.
  console.error(`Flinkplane did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
