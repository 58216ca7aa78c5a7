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
  readonly prometheusReporterValue: string;
}

/** What the image of a version provides to tenant jobs, so they can mark these as `provided`. */
export interface ProvidedPackages {
  readonly kafkaConnector: string;
  readonly others: readonly string[];
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
  readonly packages: ProvidedPackages;
  readonly javaVersion: 17;
}

const COMMON_PACKAGES = [
  'flink-runtime-web',
  'flink-metrics-prometheus',
  'flink-metrics-dropwizard',
  'flink-s3-fs-hadoop',
  'flink-avro',
  'flink-json',
  'flink-statebackend-rocksdb',
  'flink-streaming-java',
  'slf4j + logback',
] as const;

/** Key names that Flink 1.17 introduced (`*.type`) and 1.18 to 1.20 read. */
const KEYS_1X: VersionedKeys = {
  haType: 'high-availability.type',
  stateBackendType: 'state.backend.type',
  checkpointStorage: 'state.checkpoint-storage',
  checkpointsDir: 'state.checkpoints.dir',
  savepointsDir: 'state.savepoints.dir',
  restartStrategyType: 'restart-strategy.type',
  prometheusReporter: 'metrics.reporter.prom.factory.class',
  prometheusReporterValue: 'org.apache.flink.metrics.prometheus.PrometheusReporterFactory',
};

/** Flink 2.0 moved checkpoint storage and directories under `execution.checkpointing.*` and dropped the old keys. */
const KEYS_2X: VersionedKeys = {
  ...KEYS_1X,
  checkpointStorage: 'execution.checkpointing.storage',
  checkpointsDir: 'execution.checkpointing.dir',
  savepointsDir: 'execution.checkpointing.savepoint-dir',
};

function entry(version: string, release: string, kafkaConnector: string): FlinkVersion {
  const is2x = version.startsWith('2.');
  return {
    version,
    release,
    // The official images keep the scala_2.12 suffix in 2.x tags although 2.0 removed the Scala API.
    baseImage: `flink:${release}-scala_2.12-java17`,
    imageTag: `${release}-java17-fp1`,
    configFileName: is2x ? 'config.yaml' : 'flink-conf.yaml',
    keys: is2x ? KEYS_2X : KEYS_1X,
    packages: {
      kafkaConnector,
      others: is2x ? COMMON_PACKAGES : [...COMMON_PACKAGES, 'flink-streaming-scala_2.12'],
    },
    javaVersion: 17,
  };
}

/**
 * The catalog, oldest first. 2.1 is the newest 2.x line with a released Kafka connector (4.0.x targets the 2.x API);
 * 1.20 is the long-term-support 1.x line and the default while most tenants' jobs are still on the 1.x API.
 */
export const FLINK_VERSIONS: readonly FlinkVersion[] = [
  entry('1.18', '1.18.1', 'flink-connector-kafka 3.2.0-1.18'),
  entry('1.19', '1.19.3', 'flink-connector-kafka 3.3.0-1.19'),
  entry('1.20', '1.20.3', 'flink-connector-kafka 3.4.0-1.20'),
  entry('2.1', '2.1.1', 'flink-connector-kafka 4.0.1-2.0'),
];

export const DEFAULT_FLINK_VERSION = '1.20';

/** Looks a version up by its major.minor name. */
export function findFlinkVersion(version: string): FlinkVersion | undefined {
  return FLINK_VERSIONS.find((candidate) => candidate.version === version);
}

/** The image reference for a version in the platform's repository. */
export function flinkImage(repository: string, version: FlinkVersion): string {
  return `${repository}:${version.imageTag}`;
}
