import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
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
}): ImageTable {
  const proxyImage = options.platform.images.zookeeperProxy;
  const flinkRepository = options.platform.images.flinkRepository;
  let proxyBundle: Promise<string> | undefined;
  return {
    async resolve(_pod: KubeObject, container: JsonRecord): Promise<ContainerLaunch> {
      const image = String(container.image);
      if (image === proxyImage) {
        proxyBundle ??= bundleZooKeeperProxy().catch((error: unknown) => {
          proxyBundle = undefined;
          throw error;
        });
        const appDir = await proxyBundle;
        return {
          command: process.execPath,
          args: ['/app/zk-proxy.mjs'],
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
      return {
        command: `${FLINK_HOME_IN_POD}/${ENTRYPOINT}`,
        args: [],
        imageMounts: [{ hostPath: prepared.home, containerPath: FLINK_HOME_IN_POD }],
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
  if (existsSync(join(dir, 'zk-proxy.mjs'))) return dir;
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
  await rename(work, dir).catch(async (error: unknown) => {
    await rm(work, { recursive: true, force: true });
    if (!existsSync(join(dir, 'zk-proxy.mjs'))) throw error;
  });
  return dir;
}
