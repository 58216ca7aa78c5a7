import { createHash } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FLINK_VERSIONS,
  type FlinkVersion,
  findFlinkVersion,
  missingLocalProcessArtifacts,
} from '../../functions/core/catalog.ts';
import { cacheDir, MavenResolutionError, resolveMavenSet } from '../maven/resolve.ts';
import { imageArtifacts, imageDirectorySets } from './image-artifacts.ts';

/**
 * The local stand-in for the platform's Flink image: a directory laid out like the image's `/opt/flink` (`lib/`,
 * `plugins/<name>/`, empty `conf/` and `log/` mount points, `bin/flink-entrypoint.sh`), built from the catalog's
 * artifacts on Maven Central, once per release, under the shared cache.
 */

/** Where the image's home is mounted in a pod, and what the entrypoint defaults `FLINK_HOME` to. */
export const FLINK_HOME_IN_POD = '/opt/flink';

/** The entrypoint inside an image home. */
export const ENTRYPOINT = 'bin/flink-entrypoint.sh';

const ENTRYPOINT_SOURCE = new URL('./flink-entrypoint.sh', import.meta.url);
const MANIFEST = 'image.json';

export interface FlinkImage {
  readonly version: FlinkVersion;
  /** The directory to mount at `/opt/flink`. */
  readonly home: string;
  /** Jar file names in `lib/`, sorted. */
  readonly lib: readonly string[];
  /** Plugin directory name (`s3-fs-hadoop`) → its jar file names. */
  readonly plugins: Readonly<Record<string, readonly string[]>>;
  /** Library coordinates of the catalog the local Maven Central does not serve; the image runs without them. */
  readonly withoutLibraries: readonly string[];
}

/** Why a version's image cannot be prepared here; `missing` names the coordinates when Maven Central lacks them. */
export class FlinkImageUnavailableError extends Error {
  constructor(
    message: string,
    readonly missing: readonly string[],
  ) {
    super(message);
    this.name = 'FlinkImageUnavailableError';
  }
}

/**
 * The catalog version a platform image reference (`<repository>:<imageTag>`, as `flinkImage()` writes it) stands
 * for, or undefined when the tag is no catalog version's.
 */
export function flinkImageFor(imageRef: string): FlinkVersion | undefined {
  const tag = imageRef.slice(imageRef.lastIndexOf(':') + 1);
  if (tag === imageRef || tag.includes('/')) return undefined;
  return FLINK_VERSIONS.find((version) => version.imageTag === tag);
}

/**
 * Prepares the image of a version (`1.20`, or a catalog entry) and returns its home. The first call resolves the
 * artifacts from Maven Central (one progress line through `progress`); later calls answer from the cache. A
 * version whose process artifacts the local Maven Central lacks is refused, naming them.
 */
export async function prepareFlinkImage(
  version: string | FlinkVersion,
  options: { progress?: (line: string) => void; root?: string } = {},
): Promise<FlinkImage> {
  const entry = typeof version === 'string' ? findFlinkVersion(version) : version;
  if (!entry) {
    throw new FlinkImageUnavailableError(
      `Flink ${String(version)} is not in the catalog (${FLINK_VERSIONS.map((v) => v.version).join(', ')})`,
      [],
    );
  }
  const missing = missingLocalProcessArtifacts(entry);
  if (missing.length > 0) {
    throw new FlinkImageUnavailableError(
      `Flink ${entry.version} (${entry.release}) is not served locally: Maven Central here lacks ${missing.join(', ')}, ` +
        'which its JobManager and TaskManagers need. Choose another version to run it locally.',
      missing,
    );
  }
  const root = options.root ?? cacheDir();
  const home = join(root, `flink-image-${entry.release}`);
  const withoutLibraries = entry.missingLocally;
  const sets = imageDirectorySets(entry, 'local');
  const entrypoint = await readFile(ENTRYPOINT_SOURCE, 'utf8');
  const identity = createHash('sha256').update(JSON.stringify({ sets, entrypoint })).digest('hex');

  const existing = await readManifest(home);
  if (existing?.identity === identity) return { version: entry, home, ...existing.contents, withoutLibraries };

  const resolved = [];
  for (const { destination, set } of sets) {
    try {
      resolved.push({ destination, ...(await resolveMavenSet(set, { root, progress: options.progress })) });
    } catch (error) {
      if (error instanceof MavenResolutionError) {
        throw new FlinkImageUnavailableError(
          `Flink ${entry.version} (${entry.release}): the image cannot be prepared. ${error.message}`,
          error.missing,
        );
      }
      throw error;
    }
  }

  // Built beside the target and renamed into place, so a concurrent reader sees a whole image or none.
  const work = `${home}.${process.pid}.${Date.now()}`;
  await rm(work, { recursive: true, force: true });
  try {
    for (const dir of ['lib', 'plugins', 'conf', 'log', 'bin']) await mkdir(join(work, dir), { recursive: true });
    const plugins: Record<string, string[]> = {};
    let lib: string[] = [];
    for (const { destination, dir, jars } of resolved) {
      await mkdir(join(work, destination), { recursive: true });
      for (const jar of jars) await linkOrCopy(join(dir, jar), join(work, destination, jar));
      if (destination === 'lib') lib = [...jars];
      else plugins[destination.slice('plugins/'.length)] = [...jars];
    }
    await writeFile(join(work, ENTRYPOINT), entrypoint);
    await chmod(join(work, ENTRYPOINT), 0o755);
    // Pods run as their own non-root user and write their logs here.
    await chmod(join(work, 'log'), 0o1777);
    const contents = { lib, plugins };
    await writeFile(join(work, MANIFEST), `${JSON.stringify({ identity, contents }, null, 2)}\n`);
    await rm(home, { recursive: true, force: true });
    await rename(work, home).catch(async (error: NodeJS.ErrnoException) => {
      if ((await readManifest(home))?.identity !== identity) throw error;
    });
    return { version: entry, home, lib, plugins, withoutLibraries };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The coordinates a version's local image holds, for checks against the Dockerfiles and the catalog. */
export function localImageCoordinates(version: FlinkVersion): string[] {
  return imageArtifacts(version, 'local').map((artifact) => artifact.coordinate);
}

async function readManifest(
  home: string,
): Promise<{ identity: string; contents: { lib: string[]; plugins: Record<string, string[]> } } | undefined> {
  try {
    return JSON.parse(await readFile(join(home, MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
}

/** A hard link shares the cache's bytes; another file system gets a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to));
}
