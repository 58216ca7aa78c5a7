/**
 * The Flink versions the platform offers. Flink renamed several configuration keys across versions and 2.x reads
 * only `config.yaml`, so each entry says which key names and which file its release reads.
 */

/** The keys whose name depends on the Flink version. */
export interface VersionedKeys {
  readonly haType: string;
  readonly stateBackendType: string;
  readonly checkpointStorage: string;
  readonly checkpointsDir: string;
  readonly savepointsDir: string;
  readonly restartStrategyType: string;
  readonly prometheusReporter: string;
}

/** Whether the Flink processes themselves load an artifact, or it is there only for tenant jobs to mark `provided`. */
export type ArtifactUse = 'process' | 'library';

/**
 * One artifact of the platform image: a Maven coordinate and where it goes under `/opt/flink`. Plugins get a
 * directory of their own under `plugins/`, as flink-dist ships them (each loads in its own class loader).
 */
export interface ImageArtifact {
  /** `group:artifact:version`. */
  readonly coordinate: string;
  readonly destination: 'lib' | `plugins/${string}`;
  readonly use: ArtifactUse;
  /**
   * True when the official base image already holds it (inside `lib/flink-dist*.jar`, another jar of its `lib/`, or
   * its `plugins/metrics-*`): the Dockerfile leaves it alone, the local image resolves it like every other.
   */
  readonly inBaseImage: boolean;
  /** What it is for, in a few words: `web UI`, `Kafka connector`. */
  readonly purpose: string;
}

export interface FlinkVersion {
  /** The version a tenant asks for: major.minor. */
  readonly version: string;
  /** The patch release the image is built from. */
  readonly release: string;
  /** The official image the platform image is built on. */
  readonly baseImage: string;
  /** Tag of the platform image in the platform's Flink repository. */
  readonly imageTag: string;
  readonly configFileName: 'flink-conf.yaml' | 'config.yaml';
  readonly keys: VersionedKeys;
  /** Everything the platform image holds for Flink, base image included; tenant jobs mark the libraries `provided`. */
  readonly artifacts: readonly ImageArtifact[];
  /** `groupId:artifactId` kept off the classpath: Log4j's SLF4J bindings (logging is SLF4J with Logback). */
  readonly excludedFromClasspath: readonly string[];
  /**
   * Coordinates of `artifacts` that the Maven Central reachable from the local control plane does not serve (it
   * serves only part of some releases). Without a `process` artifact the version cannot run locally; without a
   * `library` it runs and its jobs lack that library. EKS images are built against the full Maven Central.
   */
  readonly missingLocally: readonly string[];
  readonly javaVersion: 17;
}

/** Key names that Flink 1.17 introduced (`*.type`) and 1.18 to 1.20 read. */
const KEYS_1X: VersionedKeys = {
  haType: 'high-availability.type',
  stateBackendType: 'state.backend.type',
  checkpointStorage: 'state.checkpoint-storage',
  checkpointsDir: 'state.checkpoints.dir',
  savepointsDir: 'state.savepoints.dir',
  restartStrategyType: 'restart-strategy.type',
  prometheusReporter: 'metrics.reporter.prom.factory.class',
};

/** Flink 2.0 moved checkpoint storage and directories under `execution.checkpointing.*` and dropped the old keys. */
const KEYS_2X: VersionedKeys = {
  ...KEYS_1X,
  checkpointStorage: 'execution.checkpointing.storage',
  checkpointsDir: 'execution.checkpointing.dir',
  savepointsDir: 'execution.checkpointing.savepoint-dir',
};

/** Every Flink release here (2.2 included) builds against SLF4J 1.7.36, whose Logback line is 1.2.x. */
const LOGBACK_CLASSIC = 'ch.qos.logback:logback-classic:1.2.13';

/** Log4j's and Reload4j's SLF4J bindings: a second binding next to Logback would take the logs. */
const LOG4J_BINDINGS = [
  'org.apache.logging.log4j:log4j-slf4j-impl',
  'org.apache.logging.log4j:log4j-slf4j2-impl',
  'org.slf4j:slf4j-log4j12',
  'org.slf4j:slf4j-reload4j',
] as const;

function artifacts(release: string, kafkaConnector: string): ImageArtifact[] {
  const flink = (
    artifact: string,
    destination: ImageArtifact['destination'],
    use: ArtifactUse,
    inBaseImage: boolean,
    purpose: string,
  ): ImageArtifact => ({
    coordinate: `org.apache.flink:${artifact}:${release}`,
    destination,
    use,
    inBaseImage,
    purpose,
  });
  const list: ImageArtifact[] = [
    flink('flink-runtime', 'lib', 'process', true, 'JobManager and TaskManager runtime, ZooKeeper HA'),
    flink('flink-runtime-web', 'lib', 'process', true, 'web UI and the /jars REST endpoints'),
    flink('flink-clients', 'lib', 'process', true, 'running uploaded jars'),
    flink('flink-streaming-java', 'lib', 'process', true, 'DataStream API'),
    flink('flink-rpc-akka-loader', 'lib', 'process', true, 'RPC system'),
    flink('flink-statebackend-rocksdb', 'lib', 'process', true, 'RocksDB state backend'),
    flink('flink-metrics-prometheus', 'plugins/metrics-prometheus', 'process', true, 'Prometheus reporter'),
    flink('flink-s3-fs-hadoop', 'plugins/s3-fs-hadoop', 'process', false, 'S3 file system'),
    { coordinate: LOGBACK_CLASSIC, destination: 'lib', use: 'process', inBaseImage: false, purpose: 'logging' },
    flink('flink-connector-base', 'lib', 'library', true, 'connector base the Kafka connector builds on'),
    flink('flink-json', 'lib', 'library', true, 'JSON format'),
    flink('flink-avro', 'lib', 'library', false, 'Avro format'),
    flink('flink-metrics-dropwizard', 'lib', 'library', false, 'Dropwizard metrics'),
    {
      coordinate: `org.apache.flink:flink-connector-kafka:${kafkaConnector}`,
      destination: 'lib',
      use: 'library',
      inBaseImage: false,
      purpose: 'Kafka connector',
    },
  ];
  // flink-dist 1.x ships the Scala DataStream API in lib/flink-scala_2.12; 2.0 removed it.
  if (release.startsWith('1.'))
    list.push(flink('flink-streaming-scala_2.12', 'lib', 'library', true, 'Scala DataStream API'));
  return list;
}

function entry(
  version: string,
  release: string,
  kafkaConnector: string,
  unserved: readonly string[] = [],
): FlinkVersion {
  const is2x = version.startsWith('2.');
  const list = artifacts(release, kafkaConnector);
  return {
    version,
    release,
    // The official images keep the scala_2.12 suffix in 2.x tags although 2.0 removed the Scala API.
    baseImage: `flink:${release}-scala_2.12-java17`,
    imageTag: `${release}-java17-fp1`,
    configFileName: is2x ? 'config.yaml' : 'flink-conf.yaml',
    keys: is2x ? KEYS_2X : KEYS_1X,
    artifacts: list,
    excludedFromClasspath: LOG4J_BINDINGS,
    missingLocally: list
      .map((artifact) => artifact.coordinate)
      .filter((coordinate) => unserved.includes(coordinate.split(':')[1]!)),
    javaVersion: 17,
  };
}

/**
 * The catalog, oldest first, each at the newest patch release whose every artifact the local Maven Central serves;
 * 1.19 and 2.1 have no such release and stay at their newest patch, for EKS only. 1.20 is the long-term-support 1.x
 * line and the default while most tenants' jobs are still on the 1.x API. The last argument lists what the local
 * Maven Central lacks (checked with HEAD requests on each jar).
 */
export const FLINK_VERSIONS: readonly FlinkVersion[] = [
  entry('1.18', '1.18.1', '3.2.0-1.18'),
  entry('1.19', '1.19.3', '3.3.0-1.19', [
    'flink-metrics-prometheus',
    'flink-metrics-dropwizard',
    'flink-streaming-scala_2.12',
  ]),
  entry('1.20', '1.20.1', '3.4.0-1.20'),
  entry('2.1', '2.1.3', '5.0.0-2.1', [
    'flink-metrics-prometheus',
    'flink-s3-fs-hadoop',
    'flink-metrics-dropwizard',
    'flink-avro',
    'flink-json',
  ]),
  entry('2.2', '2.2.0', '5.0.0-2.2', ['flink-metrics-dropwizard']),
];

export const DEFAULT_FLINK_VERSION = '1.20';

/** Looks a version up by its major.minor name. */
export function findFlinkVersion(version: string): FlinkVersion | undefined {
  return FLINK_VERSIONS.find((candidate) => candidate.version === version);
}

/** The Kafka connector's version (`3.4.0-1.20`), as the catalog tables show it. */
export function kafkaConnectorVersion(version: FlinkVersion): string {
  const kafka = version.artifacts.find((artifact) => artifact.coordinate.includes(':flink-connector-kafka:'));
  return kafka ? kafka.coordinate.split(':')[2]! : 'none';
}

/** The process artifacts the local Maven Central lacks: when any, the version cannot run locally. */
export function missingLocalProcessArtifacts(version: FlinkVersion): string[] {
  return version.artifacts
    .filter((artifact) => artifact.use === 'process' && version.missingLocally.includes(artifact.coordinate))
    .map((artifact) => artifact.coordinate);
}

/** The image reference for a version in the platform's repository. */
export function flinkImage(repository: string, version: FlinkVersion): string {
  return `${repository}:${version.imageTag}`;
}
