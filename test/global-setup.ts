import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { prepareFlinkImage } from '../local/flink-runtime/flink-image.ts';
import { progressLine } from '../local/maven/progress-line.ts';
import { resolveMavenSet } from '../local/maven/resolve.ts';
import { resolveZooKeeper } from '../local/zookeeper-artifacts.ts';
import { installKubectl } from './support/kubectl.ts';
import { CURATOR_ARTIFACTS } from './zookeeper-proxy/support/java.ts';

/**
 * Runs once before any test file: fetches what the tests run on, so parallel workers find it ready instead of racing
 * to fetch it, and a missing piece stops the run at once with one message.
 */

const run = promisify(execFile);

/** One thing the tests need on this machine; `prepare` makes it present, reporting on one progress line. */
type SetupStep = { readonly name: string; readonly prepare: (progress: (line: string) => void) => Promise<unknown> };

const CHROMIUM = '/usr/bin/chromium';

/** Every step, in order; adding a prerequisite is one line here. */
export const SETUP_STEPS: readonly SetupStep[] = [
  { name: 'ZooKeeper', prepare: (progress) => resolveZooKeeper({ progress }) },
  { name: 'Curator', prepare: (progress) => resolveMavenSet(CURATOR_ARTIFACTS, { progress }) },
  // The real-Flink suites run the default version and the newest 2.x.
  { name: 'Flink 1.20', prepare: (progress) => prepareFlinkImage('1.20', { progress }).then(() => undefined) },
  { name: 'Flink 2.2', prepare: (progress) => prepareFlinkImage('2.2', { progress }).then(() => undefined) },
  { name: 'Chromium', prepare: installChromium },
  // The kubectl suites drive the kube stand-in with Debian's kubectl, not whichever one is on the PATH.
  { name: 'kubectl', prepare: installKubectl },
];

export async function setup(): Promise<void> {
  for (const step of SETUP_STEPS) {
    const line = progressLine();
    try {
      await step.prepare(line.update);
    } finally {
      line.end();
    }
  }
}

/** Debian's Chromium for the console's browser tests: installed here when running as root, else named. */
async function installChromium(progress: (line: string) => void): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      `The console's browser tests need Chromium at ${CHROMIUM}: run \`sudo apt-get install chromium\`, then the tests again.`,
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  progress('Installing Chromium from Debian: apt-get update');
  await run('apt-get', ['update', '-qq'], { env });
  progress('Installing Chromium from Debian: apt-get install chromium');
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, yet ${CHROMIUM} is not there`);
}
