import type { FlinkVersion, ImageArtifact } from '../../functions/core/catalog.ts';
import type { MavenSet } from '../maven/resolve.ts';

/**
 * The Maven sets an image is made of, derived from the catalog alone so the local image and the Dockerfiles cannot
 * drift: one set for `lib/` and one per plugin directory, each resolved with its transitive dependencies.
 */

/** A directory of the image (`lib` or `plugins/<name>`) and the set whose jars go there. */
export interface ImageDirectorySet {
  readonly destination: ImageArtifact['destination'];
  readonly set: MavenSet;
}

/** The artifacts a build of `where` resolves: the whole list locally, only what the base image lacks for Docker. */
export function imageArtifacts(version: FlinkVersion, where: 'local' | 'docker'): ImageArtifact[] {
  if (where === 'docker') return version.artifacts.filter((artifact) => !artifact.inBaseImage);
  return version.artifacts.filter((artifact) => !version.missingLocally.includes(artifact.coordinate));
}

/**
 * The sets of an image, `lib` first, then plugins by name.
 */
export function imageDirectorySets(version: FlinkVersion, where: 'local' | 'docker'): ImageDirectorySet[] {
  const artifacts = imageArtifacts(version, where);
  const destinations = [...new Set(artifacts.map((artifact) => artifact.destination))].sort((a, b) =>
    a === 'lib' ? -1 : b === 'lib' ? 1 : a.localeCompare(b),
  );
  // flink-dist.jar holds Flink's modules and SLF4J's API already; a second copy on the classpath would shadow them.
  const exclusions =
    where === 'docker'
      ? [...version.excludedFromClasspath, 'org.apache.flink:*', 'org.slf4j:slf4j-api']
      : [...version.excludedFromClasspath];
  return destinations.map((destination) => ({
    destination,
    set: {
      label: `Flink ${version.release} ${destination}`,
      name: `flink-${version.release}-${destination.replace('/', '-')}`,
      artifacts: artifacts
        .filter((artifact) => artifact.destination === destination)
        .map((artifact) => artifact.coordinate),
      exclusions,
    },
  }));
}
