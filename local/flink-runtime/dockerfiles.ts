import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLINK_VERSIONS, type FlinkVersion } from '../../functions/core/catalog.ts';
import type { MavenSet } from '../maven/resolve.ts';
import { imageDirectorySets } from './image-artifacts.ts';

/**
 * The platform's Dockerfiles, one per catalog version, generated from the catalog so they are never hand-edited:
 * the official image, Log4j's SLF4J binding removed, and what the base image lacks resolved by Maven in a build
 * stage exactly as the local image resolves it. `npx tsx local/flink-runtime/dockerfiles.ts` rewrites them.
 */

/** Where the Dockerfile of a version lives, relative to the repository root. */
export function dockerfilePath(version: FlinkVersion): string {
  return `cluster-templates/images/flink-${version.version}/Dockerfile`;
}

/** The Maven image of the build stage; its JDK matches the catalog's Java version. */
const MAVEN_IMAGE = 'maven:3.9-eclipse-temurin-17';

/** The text of a version's Dockerfile. */
export function renderDockerfile(version: FlinkVersion): string {
  const sets = imageDirectorySets(version, 'docker');
  const lines = [
    '# syntax=docker/dockerfile:1.7',
    '# Generated from functions/core/catalog.ts by `npx tsx local/flink-runtime/dockerfiles.ts`; do not edit.',
    `# Flink ${version.version} (${version.release}): the official image plus what the platform adds, for tenant`,
    '# jobs to mark `provided`. Logging is SLF4J with Logback.',
    `FROM ${MAVEN_IMAGE} AS artifacts`,
  ];
  for (const { destination, set } of sets) {
    lines.push(`COPY <<'POM' /build/${destination}/pom.xml`, pom(set), 'POM');
  }
  lines.push(
    `RUN for dir in ${sets.map(({ destination }) => `/build/${destination}`).join(' ')}; do \\`,
    '      mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \\',
    '        -DoutputDirectory="$dir/jars" || exit 1; \\',
    '    done',
    '',
    `FROM ${version.baseImage}`,
    `RUN rm -f ${version.excludedFromClasspath.map((pattern) => `/opt/flink/lib/${pattern.split(':')[1]}-*.jar`).join(' ')}`,
  );
  for (const { destination } of sets) {
    lines.push(`COPY --from=artifacts --chown=flink:flink /build/${destination}/jars/ /opt/flink/${destination}/`);
  }
  return `${lines.join('\n')}\n`;
}

/** A POM whose runtime dependencies are the set, with its exclusions on every artifact's transitive closure. */
function pom(set: MavenSet): string {
  const exclusions = (set.exclusions ?? []).map((pattern) => {
    const [groupId, artifactId] = pattern.split(':');
    return `        <exclusion><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId></exclusion>`;
  });
  const dependencies = set.artifacts.map((coordinate) => {
    const [groupId, artifactId, version] = coordinate.split(':');
    return [
      '    <dependency>',
      `      <groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version>`,
      '      <exclusions>',
      ...exclusions,
      '      </exclusions>',
      '    </dependency>',
    ].join('\n');
  });
  return [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    `  <groupId>io.flinkplane.image</groupId><artifactId>${set.name}</artifactId><version>1</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    ...dependencies,
    '  </dependencies>',
    '</project>',
  ].join('\n');
}

/** Writes every version's Dockerfile under `root` (the repository). */
export async function writeDockerfiles(root: string): Promise<string[]> {
  const written = [];
  for (const version of FLINK_VERSIONS) {
    const path = join(root, dockerfilePath(version));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, renderDockerfile(version));
    written.push(path);
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const path of await writeDockerfiles(root)) process.stdout.write(`${path}\n`);
}
