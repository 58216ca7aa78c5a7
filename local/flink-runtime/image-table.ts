import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { PlatformSettings } from '../../functions/core/platform.ts';
import type { ContainerLaunch, ImageTable } from '../kube-standin/node/pod-runtime.ts';
import type { JsonRecord, KubeObject } from '../kube-standin/objects.ts';
import { cacheDir } from '../maven/resolve.ts';
import { ENTRYPOINT, FLINK_HOME_IN_POD, flinkImageFor, prepareFlinkImage } from './flink-image.ts';

/**
 * What each image runs on the local kubelet: the one table for the platform's images. The Flink images become the
 * local Flink image of their catalog version (resolved from Maven Central), started through the image's entrypoint;
 * the ZooKeeper proxy image becomes the same esbuild bundle its Dockerfile builds, run by this machine's Node.
 */
export function createLocalImageTable(options: {
  readonly platform: PlatformSettings;
  /** Receives one progress line while an image is prepared for the first time (a Maven download). */
  readonly progress?: (line: string) => void;
  /**
   * Environment a pod gets from outside its spec, as EKS Pod Identity injects credentials into the pods of an
   * associated service account. @default none
   */
  readonly environment?: (pod: KubeObject) => Readonly<Record<string, string>>;
}): ImageTable {
  const proxyImage = options.platform.images.zookeeperProxy;
  const flinkRepository = options.platform.images.flinkRepository;
  let proxyBundle: Promise<string> | undefined;
  let accounts: Promise<string> | undefined;
  return {
    async resolve(pod: KubeObject, container: JsonRecord): Promise<ContainerLaunch> {
      const image = String(container.image);
      if (image === proxyImage) {
        proxyBundle ??= bundleZooKeeperProxy().catch((error: unknown) => {
          proxyBundle = undefined;
          throw error;
        });
        const appDir = await proxyBundle;
        return {
          command: '/app/zk-proxy',
          args: [],
          imageMounts: [{ hostPath: appDir, containerPath: '/app' }],
          env: { NODE_ENV: 'production' },
        };
      }
      const version = image.startsWith(`${flinkRepository}:`) ? flinkImageFor(image) : undefined;
      if (!version) {
        throw new Error(
          `image "${image}" is not one the local kubelet runs: it runs ${flinkRepository}:<catalog tag> and ${proxyImage}`,
        );
      }
      const prepared = await prepareFlinkImage(version, options.progress ? { progress: options.progress } : {});
      accounts ??= imageAccounts();
      const etc = await accounts;
      return {
        command: `${FLINK_HOME_IN_POD}/${ENTRYPOINT}`,
        args: [],
        imageMounts: [
          { hostPath: prepared.home, containerPath: FLINK_HOME_IN_POD },
          { hostPath: join(etc, 'passwd'), containerPath: '/etc/passwd', file: true },
          { hostPath: join(etc, 'group'), containerPath: '/etc/group', file: true },
        ],
        env: { ...options.environment?.(pod) },
      };
    },
  };
}

/**
 * Bundles the proxy as its Dockerfile does (esbuild, one ESM file) into the shared cache, once per source version,
 * so pods run what the image runs rather than the TypeScript sources through a loader.
 */
async function bundleZooKeeperProxy(): Promise<string> {
  const sourceDir = fileURLToPath(new URL('../../zookeeper-proxy/', import.meta.url));
  const hash = createHash('sha256');
  for (const file of (await readdir(sourceDir)).filter((name) => name.endsWith('.ts')).sort()) {
    hash.update(file).update(await readFile(join(sourceDir, file)));
  }
  const dir = join(cacheDir(), `zookeeper-proxy-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(join(dir, 'zk-proxy'))) return dir;
  const work = `${dir}.${process.pid}`;
  await mkdir(work, { recursive: true, mode: 0o755 });
  await build({
    entryPoints: [join(sourceDir, 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: join(work, 'zk-proxy.mjs'),
    logLevel: 'silent',
  });
  // The image's ENTRYPOINT ["node", "/app/zk-proxy.mjs"]: a pod's args replace only what follows it.
  await writeFile(join(work, 'zk-proxy'), `#!/bin/sh\nexec ${process.execPath} /app/zk-proxy.mjs "$@"\n`);
  await chmod(join(work, 'zk-proxy'), 0o755);
  await rename(work, dir).catch(async (error: unknown) => {
    await rm(work, { recursive: true, force: true });
    if (!existsSync(join(dir, 'zk-proxy'))) throw error;
  });
  return dir;
}

/** The image's `flink` user and group (uid and gid 9999), as the official image's Dockerfile adds them. */
const FLINK_USER = 'flink:x:9999:9999::/opt/flink:/bin/sh';
const FLINK_GROUP = 'flink:x:9999:';

/**
 * The official image's `/etc/passwd` and `/etc/group` know the `flink` user the pods run as; Hadoop's login (the S3
 * file system) fails for a user id without a name. The host's accounts plus that user, once, in the shared cache.
 */
async function imageAccounts(): Promise<string> {
  const dir = join(cacheDir(), 'flink-image-etc');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [file, line] of [
    ['passwd', FLINK_USER],
    ['group', FLINK_GROUP],
  ] as const) {
    const host = (await readFile(`/etc/${file}`, 'utf8'))
      .split('\n')
      .filter((entry) => entry && !/^flink:/.test(entry));
    const temporary = join(dir, `${file}.${process.pid}`);
    await writeFile(temporary, `${[...host, line].join('\n')}\n`, { mode: 0o644 });
    await rename(temporary, join(dir, file));
  }
  return dir;
}
