import type { MavenSet } from '../../../local/maven/resolve.ts';

/**
 * The Flink jars the S3 checkpoint tests run a cluster from: a session cluster with the web submission endpoints
 * (`/jars/*`), ZooKeeper HA (inside flink-runtime), the S3 filesystem as a plugin, the test job's datagen connector
 * and a logging backend (logback 1.2 matches the slf4j-api 1.7 Flink 1.x and 2.x depend on).
 */
export function flinkTestRuntime(version: string): MavenSet {
  return {
    label: `Flink ${version} for the S3 checkpoint tests`,
    name: `flink-${version}-s3-test-runtime`,
    artifacts: [
      `org.apache.flink:flink-runtime:${version}`,
      `org.apache.flink:flink-runtime-web:${version}`,
      `org.apache.flink:flink-clients:${version}`,
      `org.apache.flink:flink-streaming-java:${version}`,
      `org.apache.flink:flink-rpc-akka-loader:${version}`,
      `org.apache.flink:flink-connector-datagen:${version}`,
      `org.apache.flink:flink-s3-fs-hadoop:${version}`,
      'ch.qos.logback:logback-classic:1.2.13',
    ],
    exclusions: ['org.apache.logging.log4j:*'],
  };
}

/** Only what the test job compiles against (its API jars), to check it builds on a Flink line. */
export function flinkJobApi(version: string): MavenSet {
  return {
    label: `Flink ${version} job API`,
    name: `flink-${version}-job-api`,
    artifacts: [
      `org.apache.flink:flink-streaming-java:${version}`,
      `org.apache.flink:flink-connector-datagen:${version}`,
    ],
  };
}
