import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLINK_VERSIONS, findFlinkVersion, missingLocalProcessArtifacts } from '../../functions/core/catalog.ts';
import { dockerfilePath, renderDockerfile } from '../../local/flink-runtime/dockerfiles.ts';
import { flinkImageFor, localImageCoordinates, prepareFlinkImage } from '../../local/flink-runtime/flink-image.ts';
import { imageDirectorySets } from '../../local/flink-runtime/image-artifacts.ts';

const repo = new URL('../../', import.meta.url);

/** What a Dockerfile adds, read from its text: `destination → coordinates` of each build-stage POM, and its FROM. */
function parseDockerfile(text: string) {
  const added = new Map<string, string[]>();
  for (const match of text.matchAll(/^COPY <<'POM' \/build\/(\S+)\/pom\.xml\n([\s\S]*?)\nPOM$/gm)) {
    const coordinates = [
      ...match[2]!.matchAll(
        /<dependency>\s*<groupId>([^<]+)<\/groupId><artifactId>([^<]+)<\/artifactId><version>([^<]+)<\/version>/g,
      ),
    ].map((dependency) => `${dependency[1]}:${dependency[2]}:${dependency[3]}`);
    added.set(match[1]!, coordinates);
  }
  const copied = [...text.matchAll(/^COPY --from=artifacts \S+ \/build\/(\S+)\/jars\/ \/opt\/flink\/(\S+)\/$/gm)].map(
    (match) => [match[1], match[2]],
  );
  const from = [...text.matchAll(/^FROM (\S+)$/gm)].map((match) => match[1]);
  const removed = [...text.matchAll(/\/opt\/flink\/lib\/([\w.-]+)-\*\.jar/g)].map((match) => match[1]);
  return { added, copied, from, removed };
}

function byDestination(entries: readonly { destination: string; coordinate: string }[]) {
  const map = new Map<string, string[]>();
  for (const { destination, coordinate } of entries)
    map.set(destination, [...(map.get(destination) ?? []), coordinate]);
  return map;
}

describe('image catalog', () => {
  it.each(FLINK_VERSIONS.map((version) => [version.version, version] as const))(
    'keeps the Dockerfile of Flink %s generated from the catalog',
    (_name, version) => {
      expect(readFileSync(new URL(dockerfilePath(version), repo), 'utf8')).toBe(renderDockerfile(version));
    },
  );

  it.each(FLINK_VERSIONS.map((version) => [version.version, version] as const))(
    'adds in the Dockerfile of Flink %s exactly what the catalog says the base image lacks',
    (_name, version) => {
      const dockerfile = parseDockerfile(readFileSync(new URL(dockerfilePath(version), repo), 'utf8'));
      const lacking = version.artifacts.filter((artifact) => !artifact.inBaseImage);
      expect(dockerfile.added).toEqual(byDestination(lacking));
      expect(dockerfile.copied).toEqual([...dockerfile.added.keys()].map((destination) => [destination, destination]));
      expect(dockerfile.from.at(-1)).toBe(version.baseImage);
      expect(dockerfile.removed).toEqual(['log4j-slf4j-impl', 'log4j-slf4j2-impl', 'slf4j-log4j12', 'slf4j-reload4j']);
    },
  );

  it.each(FLINK_VERSIONS.map((version) => [version.version, version] as const))(
    'resolves locally every catalog artifact of Flink %s that Maven Central here serves, in its directory',
    (_name, version) => {
      const local = imageDirectorySets(version, 'local').flatMap(({ destination, set }) =>
        set.artifacts.map((coordinate) => ({ destination, coordinate })),
      );
      const served = version.artifacts.filter((artifact) => !version.missingLocally.includes(artifact.coordinate));
      expect(byDestination(local)).toEqual(byDestination(served));
      expect(localImageCoordinates(version).length + version.missingLocally.length).toBe(version.artifacts.length);
    },
  );

  it('puts the S3 file system and the Prometheus reporter under plugins/ and the rest in lib/', () => {
    const destinations = Object.fromEntries(
      findFlinkVersion('1.20')!.artifacts.map((artifact) => [artifact.coordinate.split(':')[1], artifact.destination]),
    );
    expect(destinations['flink-s3-fs-hadoop']).toBe('plugins/s3-fs-hadoop');
    expect(destinations['flink-metrics-prometheus']).toBe('plugins/metrics-prometheus');
    expect(destinations['flink-runtime']).toBe('lib');
    expect(destinations['logback-classic']).toBe('lib');
  });

  it('marks 1.19 and 2.1 as not served locally, naming the missing process artifacts', () => {
    expect(missingLocalProcessArtifacts(findFlinkVersion('1.19')!)).toEqual([
      'org.apache.flink:flink-metrics-prometheus:1.19.3',
    ]);
    expect(missingLocalProcessArtifacts(findFlinkVersion('2.1')!)).toEqual([
      'org.apache.flink:flink-metrics-prometheus:2.1.3',
      'org.apache.flink:flink-s3-fs-hadoop:2.1.3',
    ]);
  });

  it('runs 2.2 locally without the Dropwizard library only', () => {
    const version = findFlinkVersion('2.2')!;
    expect(missingLocalProcessArtifacts(version)).toEqual([]);
    expect(version.missingLocally).toEqual(['org.apache.flink:flink-metrics-dropwizard:2.2.0']);
  });

  it('maps a platform image reference back to its catalog version', () => {
    expect(
      flinkImageFor('123456789012.dkr.ecr.eu-west-1.amazonaws.com/flinkplane/flink:1.20.1-java17-fp1')?.version,
    ).toBe('1.20');
    expect(flinkImageFor('localhost:5000/flinkplane/flink:2.2.0-java17-fp1')?.version).toBe('2.2');
    expect(flinkImageFor('flinkplane/flink:1.20.3-java17-fp1')).toBeUndefined();
    expect(flinkImageFor('localhost:5000/flinkplane/flink')).toBeUndefined();
  });

  it('lays the prepared 1.20 image out like /opt/flink, with Logback and no Log4j binding', {
    timeout: 300_000,
  }, async () => {
    const image = await prepareFlinkImage('1.20');
    const version = image.version;
    for (const artifact of version.artifacts) {
      const [, artifactId, release] = artifact.coordinate.split(':');
      const jars = artifact.destination === 'lib' ? image.lib : image.plugins[artifact.destination.slice(8)];
      expect(jars, artifact.coordinate).toContain(`${artifactId}-${release}.jar`);
    }
    expect(image.lib.filter((jar) => /log4j|reload4j/.test(jar))).toEqual([]);
    expect(
      image.lib.filter((jar) => jar.startsWith('flink-s3-fs-') || jar.startsWith('flink-metrics-prometheus')),
    ).toEqual([]);
    expect(readFileSync(`${image.home}/bin/flink-entrypoint.sh`, 'utf8')).toBe(
      readFileSync(new URL('local/flink-runtime/flink-entrypoint.sh', repo), 'utf8'),
    );
  });
});
