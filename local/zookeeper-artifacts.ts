import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progressLine } from './maven/progress-line.ts';
import { type MavenSet, resolveMavenSet } from './maven/resolve.ts';

/**
 * ZooKeeper's jars, fetched from Maven Central on first use (no Debian package needed). 3.8.4 is a 3.8 LTS release
 * Maven Central serves in full; it keeps the wire protocol and the 3.8 server behaviour (TTL and container nodes,
 * extended session ids) the proxy tests were written against. Its own logging binding comes along: logback 1.2.
 */
export const ZOOKEEPER_VERSION = '3.8.4';

export const ZOOKEEPER_ARTIFACTS: MavenSet = {
  label: `ZooKeeper ${ZOOKEEPER_VERSION}`,
  name: `zookeeper-${ZOOKEEPER_VERSION}-dist`,
  artifacts: [
    `org.apache.zookeeper:zookeeper:${ZOOKEEPER_VERSION}`,
    // Declared `provided` by the zookeeper POM; the binary distribution ships them in lib/. The server's default
    // metrics provider needs Dropwizard metrics, its snapshot streams load snappy, and the Java CLI's commands parse
    // their flags with commons-cli. Left out: Jetty and Jackson (the admin server is off) and jline (the CLI then
    // reads commands line by line from stdin, which the tests rely on).
    'io.dropwizard.metrics:metrics-core:4.1.12.1',
    'org.xerial.snappy:snappy-java:1.1.10.5',
    'commons-cli:commons-cli:1.5.0',
  ],
};

/** How to run a ZooKeeper main class (server or CLI): the classpath, and JVM options that send WARN and up to stderr. */
export type ZooKeeperJava = {
  readonly classpath: string;
  readonly jvmOptions: readonly string[];
};

/** Raised when ZooKeeper cannot be run here; the message names the cause and what to do. */
export class ZooKeeperUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZooKeeperUnavailableError';
  }
}

// Logs go to stderr, so the Java CLI's stdout holds only its answers.
const LOGBACK_CONFIG = join(dirname(fileURLToPath(import.meta.url)), 'zookeeper-logback.xml');

/**
 * The ZooKeeper jars, resolved from Maven Central into the shared cache on first use (one progress line) and
 * offline after that. Rejects with a ZooKeeperUnavailableError naming the cause: no `java`, no Maven, or what
 * Maven Central did not serve.
 */
export async function resolveZooKeeper(
  options: { progress?: (line: string) => void; root?: string } = {},
): Promise<ZooKeeperJava> {
  if (!findOnPath('java'))
    throw new ZooKeeperUnavailableError(
      `ZooKeeper ${ZOOKEEPER_VERSION} needs a Java runtime and there is no \`java\` on PATH: install a JDK 17 (apt-get install openjdk-17-jdk-headless).`,
    );
  const line = options.progress ? undefined : progressLine();
  try {
    const resolved = await resolveMavenSet(ZOOKEEPER_ARTIFACTS, {
      progress: options.progress ?? line!.update,
      ...(options.root ? { root: options.root } : {}),
    });
    return {
      classpath: resolved.jars.map((jar) => join(resolved.dir, jar)).join(':'),
      jvmOptions: [`-Dlogback.configurationFile=${LOGBACK_CONFIG}`],
    };
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new ZooKeeperUnavailableError(`ZooKeeper could not be fetched from Maven Central. ${cause}`, {
      cause: error,
    });
  } finally {
    line?.end();
  }
}

export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}
