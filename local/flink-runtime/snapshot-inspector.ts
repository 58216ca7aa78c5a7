import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { judgeRestorable } from '../../functions/core/jobs/ledger.ts';
import type {
  SnapshotCheck,
  SnapshotInspector,
  SnapshotLocation,
  SnapshotMetadata,
} from '../../functions/core/jobs/ledger-ports.ts';
import { cacheDir } from '../maven/resolve.ts';
import { type FlinkImage, prepareFlinkImage } from './flink-image.ts';

/**
 * The local side of the savepoint ledger's restorable check: the snapshot inspector (a small Java tool, in
 * `snapshot-inspector/`) compiled once per Flink release against that release's image `lib/` and run there with
 * `java -cp`, so a snapshot is read by the classes that would restore it. `_metadata` is fetched from the bucket into
 * a temporary directory first; the tool is told the snapshot's real directory to resolve relative references.
 */

const run = promisify(execFile);

const SOURCE_DIR = fileURLToPath(new URL('./snapshot-inspector', import.meta.url));
const MAIN_CLASS = 'flinkplane.tools.SnapshotInspector';
/** Logging off: the tool's one JSON line is all of stdout, whatever Flink's classes log. */
const QUIET_LOGGING = '<configuration><root level="OFF"/></configuration>\n';
/** How many HEAD requests run at once when a snapshot references many files (incremental RocksDB state). */
const HEAD_CONCURRENCY = 16;

/** The tool compiled for one release: its class directory and the image it runs on. */
export interface CompiledInspector {
  readonly image: FlinkImage;
  readonly classes: string;
  readonly logging: string;
}

/** `_metadata` could not be read by the release's classes; the message is the tool's. */
export class SnapshotMetadataUnreadableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotMetadataUnreadableError';
  }
}

/**
 * Compiles the tool against an image's `lib/` (a JDK's `javac` on the PATH), cached under the shared cache per release
 * and source, so later calls answer at once.
 */
export async function compileSnapshotInspector(image: FlinkImage, root = cacheDir()): Promise<CompiledInspector> {
  const sources = (await readdir(SOURCE_DIR, { recursive: true }))
    .filter((file) => file.endsWith('.java'))
    .sort()
    .map((file) => join(SOURCE_DIR, file));
  const hash = createHash('sha256');
  for (const source of sources) hash.update(await readFile(source));
  const dir = join(root, `snapshot-inspector-${image.version.release}-${hash.digest('hex').slice(0, 12)}`);
  const compiled = { image, classes: join(dir, 'classes'), logging: join(dir, 'logback.xml') };
  if (await exists(join(dir, 'complete'))) return compiled;

  // Built beside the target and renamed into place, so a concurrent caller sees a whole build or none.
  const work = `${dir}.${process.pid}.${Date.now()}`;
  try {
    await mkdir(work, { recursive: true });
    await run(
      'javac',
      ['-nowarn', '--release', '11', '-cp', join(image.home, 'lib', '*'), '-d', join(work, 'classes'), ...sources],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    await writeFile(join(work, 'logback.xml'), QUIET_LOGGING);
    await writeFile(join(work, 'complete'), '');
    await rename(work, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (!(await exists(join(dir, 'complete')))) throw error;
    });
    return compiled;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Runs the tool on a local copy of `_metadata`; `snapshotDir` is the snapshot's real directory URI. `jobJars` make up
 * the user class loader. Throws `SnapshotMetadataUnreadableError` when the release cannot read the file.
 */
export async function readSnapshotMetadata(
  inspector: CompiledInspector,
  metadataFile: string,
  snapshotDir: string,
  jobJars: readonly string[] = [],
): Promise<SnapshotMetadata> {
  const classpath = `${inspector.classes}:${join(inspector.image.home, 'lib', '*')}`;
  const args = [`-Dlogback.configurationFile=${inspector.logging}`, '-cp', classpath, MAIN_CLASS];
  try {
    const { stdout } = await run('java', [...args, metadataFile, snapshotDir, ...jobJars], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout) as SnapshotMetadata;
  } catch (error) {
    const failed = error as { code?: unknown; stderr?: string };
    if (failed.code === 2) throw new SnapshotMetadataUnreadableError(String(failed.stderr ?? '').trim());
    throw error;
  }
}

/** Where the local inspector finds snapshots: `s3://` (and `s3a://`, `s3p://`) through `s3`, `file:` on this disk. */
export interface LocalSnapshotInspectorOptions {
  /** A client of the bucket's S3 (locally the s3rver front); needed for `s3://` snapshots. */
  readonly s3?: S3Client;
  /** The image of a catalog version. @default prepareFlinkImage */
  readonly imageFor?: (flinkVersion: string) => Promise<FlinkImage>;
  /** Where compiled tools are cached. @default the shared cache */
  readonly cacheRoot?: string;
}

/** The `SnapshotInspector` port, locally: a process per check. */
export function createLocalSnapshotInspector(options: LocalSnapshotInspectorOptions = {}): SnapshotInspector {
  const imageFor = options.imageFor ?? ((version: string) => prepareFlinkImage(version));
  const store = objectAccess(options.s3);
  return {
    async check(snapshot: SnapshotLocation): Promise<SnapshotCheck> {
      const inspector = await compileSnapshotInspector(await imageFor(snapshot.flinkVersion), options.cacheRoot);
      const dir = snapshot.path.replace(/\/+$/, '');
      const work = await mkdtemp(join(tmpdir(), 'snapshot-inspector-'));
      try {
        const metadataFile = join(work, '_metadata');
        if (!(await store.download(`${dir}/_metadata`, metadataFile))) {
          return { restorable: false, reason: `missing ${dir}/_metadata`, missing: [`${dir}/_metadata`] };
        }
        let metadata: SnapshotMetadata;
        try {
          metadata = await readSnapshotMetadata(inspector, metadataFile, dir);
        } catch (error) {
          if (!(error instanceof SnapshotMetadataUnreadableError)) throw error;
          return { restorable: false, reason: error.message };
        }
        const sizes = new Map<string, number>();
        const paths = metadata.files.map((file) => file.path);
        for (let start = 0; start < paths.length; start += HEAD_CONCURRENCY) {
          await Promise.all(
            paths.slice(start, start + HEAD_CONCURRENCY).map(async (path) => {
              const size = await store.size(path);
              if (size !== undefined) sizes.set(path, size);
            }),
          );
        }
        return { ...judgeRestorable(metadata, sizes), metadata };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  };
}

interface ObjectAccess {
  /** Copies an object to a local file; false when there is no such object. */
  download(uri: string, to: string): Promise<boolean>;
  /** The object's size, or undefined when there is no such object. */
  size(uri: string): Promise<number | undefined>;
}

const S3_URI = /^s3[ap]?:\/\/([^/]+)\/(.+)$/;

function objectAccess(s3: S3Client | undefined): ObjectAccess {
  const s3Object = (uri: string) => {
    const match = S3_URI.exec(uri);
    if (!match) return undefined;
    if (!s3) throw new Error(`${uri}: the snapshot inspector was given no S3 client`);
    return { client: s3, Bucket: match[1], Key: match[2] };
  };
  const localFile = (uri: string) => {
    if (!uri.startsWith('file:')) throw new Error(`${uri}: the local snapshot inspector reads s3:// and file: only`);
    return fileURLToPath(uri.startsWith('file:///') ? uri : `file://${uri.slice('file:'.length)}`);
  };
  return {
    async download(uri, to) {
      const object = s3Object(uri);
      try {
        if (object) {
          const answer = await object.client.send(new GetObjectCommand({ Bucket: object.Bucket, Key: object.Key }));
          await writeFile(
            to,
            await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
          );
        } else {
          await writeFile(to, await readFile(localFile(uri)));
        }
        return true;
      } catch (error) {
        if (isAbsent(error)) return false;
        throw error;
      }
    },
    async size(uri) {
      const object = s3Object(uri);
      try {
        if (object) {
          const head = await object.client.send(new HeadObjectCommand({ Bucket: object.Bucket, Key: object.Key }));
          return head.ContentLength ?? 0;
        }
        return (await stat(localFile(uri))).size;
      } catch (error) {
        if (isAbsent(error)) return undefined;
        throw error;
      }
    },
  };
}

function isAbsent(error: unknown): boolean {
  if (error instanceof NoSuchKey || error instanceof NotFound) return true;
  const code = (error as { code?: string; $metadata?: { httpStatusCode?: number } }) ?? {};
  return code.code === 'ENOENT' || code.$metadata?.httpStatusCode === 404;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
