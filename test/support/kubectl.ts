import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../local/maven/resolve.ts';

/**
 * The kubectl the tests drive the kube stand-in with: Debian's `kubernetes-client` (1.20 on bookworm, what a fresh
 * Debian machine gets), unpacked into the project's cache by the test setup, so every machine tests the same kubectl
 * rather than whichever one is on its PATH.
 */

const run = promisify(execFile);
const PACKAGE = 'kubernetes-client';

/** Where the unpacked package lives. */
export const KUBECTL_DIR = join(cacheDir(), PACKAGE);
/** Absolute path of the pinned kubectl. */
export const KUBECTL = join(KUBECTL_DIR, 'usr', 'bin', 'kubectl');

/**
 * Makes {@link KUBECTL} present: as root, `apt-get download kubernetes-client` (after one `apt-get update` when the
 * package lists lack it) and `dpkg-deb -x` into the cache. Anyone else is told the commands, at once.
 */
export async function installKubectl(progress: (line: string) => void): Promise<void> {
  if (existsSync(KUBECTL)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The kubectl tests need Debian's ${PACKAGE} unpacked at ${KUBECTL_DIR}: run \`mkdir -p ${KUBECTL_DIR} && cd ${KUBECTL_DIR} && apt-get download ${PACKAGE} && dpkg-deb -x ${PACKAGE}_*.deb . && rm ${PACKAGE}_*.deb\` (after \`sudo apt-get update\` if apt cannot find it), or run the tests as root.`,
    );
  }
  await mkdir(cacheDir(), { recursive: true });
  const work = await mkdtemp(join(cacheDir(), `.${PACKAGE}-`));
  try {
    progress(`Fetching Debian's ${PACKAGE} for kubectl: apt-get download ${PACKAGE}`);
    try {
      await run('apt-get', ['download', '-qq', PACKAGE], { cwd: work });
    } catch {
      progress(`Fetching Debian's ${PACKAGE} for kubectl: apt-get update`);
      await run('apt-get', ['update', '-qq'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      progress(`Fetching Debian's ${PACKAGE} for kubectl: apt-get download ${PACKAGE}`);
      await run('apt-get', ['download', '-qq', PACKAGE], { cwd: work });
    }
    const deb = (await readdir(work)).find((name) => name.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${PACKAGE} left no .deb in ${work}`);
    progress(`Fetching Debian's ${PACKAGE} for kubectl: dpkg-deb -x ${deb}`);
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-x', join(work, deb), tree]);
    if (!existsSync(join(tree, 'usr', 'bin', 'kubectl'))) throw new Error(`${deb} holds no usr/bin/kubectl`);
    await writeFile(join(tree, 'package'), `${deb}\n`);
    // Concurrent setups each unpack into their own directory; the first rename wins.
    await rename(tree, KUBECTL_DIR).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(KUBECTL)) throw error;
    });
    progress(`Fetched Debian's ${PACKAGE}: ${deb}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
