import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Resolves sets of Maven artifacts (with their transitive dependencies) from Maven Central into a directory of
 * jars, once: a later call finds the directory complete and answers offline. Maven itself does the resolution
 * (`dependency:copy-dependencies` on a generated POM), so exclusions, scopes and version mediation are Maven's.
 */

/** `group:artifact:version`, optionally with `:classifier` or `:type:classifier` as Maven writes them. */
export type MavenCoordinate = string;

export interface MavenSet {
  /** What this set is, for progress lines and errors: `Flink 1.20.1`, `ZooKeeper 3.8.4`. */
  readonly label: string;
  /** Directory name under the cache: `flink-1.20.1`. Changing `artifacts` needs a new name. */
  readonly name: string;
  readonly artifacts: readonly MavenCoordinate[];
  /** `groupId:artifactId` patterns left out of every artifact's transitive closure, e.g. `org.apache.logging.log4j:*`. */
  readonly exclusions?: readonly string[];
}

export interface ResolvedSet {
  /** The directory that holds the jars. */
  readonly dir: string;
  /** File names of the jars in `dir`, sorted. */
  readonly jars: readonly string[];
}

/** Raised when Maven Central does not serve an artifact or Maven fails; the message names the artifact and the fix. */
export class MavenResolutionError extends Error {
  constructor(
    message: string,
    readonly missing: readonly string[],
    readonly output: string,
  ) {
    super(message);
    this.name = 'MavenResolutionError';
  }
}

const MANIFEST = 'resolved.json';

/**
 * Where resolved sets live: `$FLINKPLANE_CACHE_DIR`; else, for root, `/var/cache/flinkplane`, which pods running as
 * their own non-root user can read (root's home cannot be); else `$XDG_CACHE_HOME/flinkplane` or `~/.cache/flinkplane`.
 */
export function cacheDir(): string {
  if (process.env.FLINKPLANE_CACHE_DIR) return process.env.FLINKPLANE_CACHE_DIR;
  if (process.getuid?.() === 0) return '/var/cache/flinkplane';
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flinkplane');
}

/** The resolved set if it is already complete in the cache, without running Maven. */
export async function findResolved(set: MavenSet, root = cacheDir()): Promise<ResolvedSet | undefined> {
  const dir = join(root, set.name);
  try {
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as { artifacts: string[]; jars: string[] };
    if (JSON.stringify(manifest.artifacts) !== JSON.stringify(set.artifacts)) return undefined;
    if (!manifest.jars.every((jar) => existsSync(join(dir, 'lib', jar)))) return undefined;
    return { dir: join(dir, 'lib'), jars: manifest.jars };
  } catch {
    return undefined;
  }
}

/**
 * Resolves a set into `<cache>/<name>/lib`. Prints one progress line (`progress`), which is rewritten in place on a
 * terminal. Concurrent callers (test workers) each resolve into their own temporary directory and the first rename
 * wins; Maven's local repository makes the second one cheap.
 */
export async function resolveMavenSet(
  set: MavenSet,
  options: { root?: string; progress?: (line: string) => void; offline?: boolean } = {},
): Promise<ResolvedSet> {
  const root = options.root ?? cacheDir();
  const found = await findResolved(set, root);
  if (found) return found;
  const progress = options.progress ?? (() => undefined);
  const target = join(root, set.name);
  const work = join(root, `.${set.name}.${process.pid}.${Date.now()}`);
  await mkdir(work, { recursive: true, mode: 0o755 });
  try {
    await writeFile(join(work, 'pom.xml'), pom(set));
    const args = [
      '-B',
      ...(options.offline ? ['-o'] : []),
      '-f',
      join(work, 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(work, 'lib')}`,
      '-DincludeScope=runtime',
    ];
    await runMaven(args, set.label, progress);
    const jars = (await readdir(join(work, 'lib'))).filter((file) => file.endsWith('.jar')).sort();
    await writeFile(join(work, MANIFEST), `${JSON.stringify({ artifacts: set.artifacts, jars }, null, 2)}\n`);
    await rm(join(work, 'pom.xml'));
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    await rename(work, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished first; its copy is as good as ours.
      if (!(await findResolved(set, root))) throw error;
    });
    const resolved = await findResolved(set, root);
    if (!resolved) throw new Error(`${set.label}: resolved jars vanished from ${target}`);
    return resolved;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function pom(set: MavenSet): string {
  const exclusions = (set.exclusions ?? []).map((pattern) => {
    const [groupId, artifactId] = pattern.split(':');
    return `<exclusion><groupId>${groupId}</groupId><artifactId>${artifactId ?? '*'}</artifactId></exclusion>`;
  });
  const dependencies = set.artifacts.map((coordinate) => {
    const parts = coordinate.split(':');
    const [groupId, artifactId, version] = parts;
    if (!groupId || !artifactId || !version)
      throw new Error(`${set.label}: malformed Maven coordinate "${coordinate}"`);
    const classifier = parts.length === 4 ? parts[3] : parts.length === 5 ? parts[4] : undefined;
    const type = parts.length === 5 ? parts[3] : undefined;
    return [
      '<dependency>',
      `<groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version>`,
      type ? `<type>${type}</type>` : '',
      classifier ? `<classifier>${classifier}</classifier>` : '',
      exclusions.length ? `<exclusions>${exclusions.join('')}</exclusions>` : '',
      '</dependency>',
    ].join('');
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.flinkplane.local</groupId>
  <artifactId>${set.name.replace(/[^A-Za-z0-9_.-]/g, '-')}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dependencies.join('\n    ')}
  </dependencies>
</project>
`;
}

/** Runs `mvn`, turning its download lines into one progress line, and names what Maven Central did not serve. */
async function runMaven(args: string[], label: string, progress: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      reject(
        new MavenResolutionError(
          `${label}: cannot run Maven (${String(error)}); install it: apt-get install maven`,
          [],
          '',
        ),
      );
      return;
    }
    let output = '';
    let files = 0;
    let bytes = 0;
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-200_000);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const downloaded = /Downloaded from \S+: \S+ \(([\d.]+) (B|kB|MB|GB)/.exec(line);
        if (!downloaded) continue;
        files++;
        const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[downloaded[2] as 'B' | 'kB' | 'MB' | 'GB'];
        bytes += Number(downloaded[1]) * unit;
        progress(`Fetching ${label} from Maven Central: ${files} files, ${(bytes / 1e6).toFixed(1)} MB`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'ENOENT' ? 'Maven is not installed: apt-get install maven' : String(error);
      reject(new MavenResolutionError(`${label}: cannot run Maven. ${hint}`, [], output));
    });
    child.on('close', (code) => {
      if (code === 0) {
        resolve();
        return;
      }
      const names = [
        ...new Set(
          [...output.matchAll(/Could not find artifact (\S+)|(\S+:\S+:\S+:\S+) was not found in/g)].map(
            (match) => (match[1] ?? match[2])!,
          ),
        ),
      ];
      const offline =
        /offline|Cannot access central .* in offline mode|Could not transfer|Connection refused|UnknownHost/i.test(
          output,
        );
      const reason = names.length
        ? `Maven Central does not serve ${names.join(', ')}`
        : offline
          ? 'Maven Central could not be reached, and the jars are not in the local Maven repository yet'
          : `Maven failed (exit ${code})`;
      const last = output
        .trim()
        .split('\n')
        .filter((line) => line.includes('[ERROR]'))
        .slice(0, 3)
        .join('\n');
      reject(new MavenResolutionError(`${label}: ${reason}.${last ? `\n${last}` : ''}`, names, output));
    });
  });
}
