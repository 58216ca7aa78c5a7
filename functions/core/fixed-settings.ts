import type { Issue } from './errors.ts';
import type { FlinkConfigValue } from './flink-configuration.ts';

/** Which Flink process a fixed setting applies to, as the reference lists it. */
export type FixedScope = 'cluster' | 'jobmanager' | 'taskmanager';

/** A setting no tenant may change: every name Flink has given it, and the value the platform sets. */
export interface FixedSetting {
  /** The newest name first, then the names older (or newer) releases read. */
  readonly names: readonly string[];
  readonly scope: FixedScope;
  /** The fixed value, or how the platform derives it when it is per tenant. */
  readonly value: string;
  /** `reference` settings come from the service reference; `platform` ones are what the platform owns. */
  readonly origin: 'reference' | 'platform';
}

/** A family of keys the platform owns as a whole. */
export interface FixedPrefix {
  readonly prefix: string;
  readonly value: string;
}

/** The reference's fixed settings, then every platform-owned key. */
export const FIXED_SETTINGS: readonly FixedSetting[] = [
  {
    names: ['high-availability.type', 'high-availability', 'recovery.mode'],
    scope: 'cluster',
    value: 'zookeeper',
    origin: 'reference',
  },
  { names: ['state.backend.type', 'state.backend'], scope: 'cluster', value: 'hashmap', origin: 'reference' },
  {
    names: ['execution.checkpointing.storage', 'state.checkpoint-storage'],
    scope: 'cluster',
    value: 'filesystem',
    origin: 'reference',
  },
  {
    names: ['metrics.reporter.prom.factory.class', 'metrics.reporter.prom.class'],
    scope: 'cluster',
    value: 'org.apache.flink.metrics.prometheus.PrometheusReporterFactory',
    origin: 'reference',
  },
  { names: ['metrics.reporter.prom.port'], scope: 'cluster', value: '9163', origin: 'reference' },
  { names: ['jobmanager.rpc.port'], scope: 'jobmanager', value: '6123', origin: 'reference' },
  { names: ['rest.port'], scope: 'jobmanager', value: '8081', origin: 'reference' },
  { names: ['blob.storage.directory'], scope: 'jobmanager', value: '/storage/blob-store', origin: 'reference' },
  { names: ['web.upload.dir'], scope: 'jobmanager', value: '/storage/web-upload', origin: 'reference' },
  {
    names: ['restart-strategy.type', 'restart-strategy'],
    scope: 'jobmanager',
    value: 'fixed-delay',
    origin: 'reference',
  },
  {
    names: ['restart-strategy.fixed-delay.delay'],
    scope: 'jobmanager',
    value: '10 s',
    origin: 'reference',
  },
  {
    names: ['restart-strategy.fixed-delay.attempts'],
    scope: 'jobmanager',
    value: '1440',
    origin: 'reference',
  },
  { names: ['parallelism.default'], scope: 'taskmanager', value: '1', origin: 'reference' },
  {
    names: [
      'high-availability.cluster-id',
      'high-availability.zookeeper.path.namespace',
      'recovery.zookeeper.path.namespace',
    ],
    scope: 'cluster',
    value: "the tenant's HA cluster id",
    origin: 'platform',
  },
  {
    names: ['high-availability.zookeeper.quorum', 'recovery.zookeeper.quorum'],
    scope: 'cluster',
    value: 'zookeeper-proxy.<tenant-namespace>:7451',
    origin: 'platform',
  },
  {
    names: ['high-availability.zookeeper.path.root', 'recovery.zookeeper.path.root'],
    scope: 'cluster',
    value: '/flink',
    origin: 'platform',
  },
  {
    names: ['high-availability.storageDir', 'high-availability.zookeeper.storageDir', 'recovery.zookeeper.storageDir'],
    scope: 'cluster',
    value: 's3://<tenant-bucket>/<ha-cluster-id>/ha',
    origin: 'platform',
  },
  {
    names: ['execution.checkpointing.dir', 'state.checkpoints.dir'],
    scope: 'cluster',
    value: 's3://<tenant-bucket>/<ha-cluster-id>/checkpoints',
    origin: 'platform',
  },
  {
    names: ['execution.checkpointing.savepoint-dir', 'state.savepoints.dir'],
    scope: 'cluster',
    value: 's3://<tenant-bucket>/savepoints',
    origin: 'platform',
  },
  { names: ['zookeeper.sasl.disable'], scope: 'cluster', value: 'true', origin: 'platform' },
  {
    names: ['s3.endpoint', 'fs.s3a.endpoint', 'presto.s3.endpoint'],
    scope: 'cluster',
    value: "the platform's S3 endpoint (set only for an S3-compatible store)",
    origin: 'platform',
  },
  {
    names: ['s3.path.style.access', 'fs.s3a.path.style.access', 'presto.s3.path-style-access'],
    scope: 'cluster',
    value: "the platform's S3 addressing style",
    origin: 'platform',
  },
  {
    names: ['s3.access-key', 's3.secret-key', 'fs.s3a.access.key', 'fs.s3a.secret.key'],
    scope: 'cluster',
    value: "none: the tenant's credentials come from Pod Identity",
    origin: 'platform',
  },
  { names: ['kubernetes.cluster-id'], scope: 'cluster', value: "the tenant's HA cluster id", origin: 'platform' },
  { names: ['kubernetes.namespace'], scope: 'cluster', value: 'the tenant namespace', origin: 'platform' },
  {
    names: ['env.java.opts.all', 'env.java.opts'],
    scope: 'cluster',
    value: "the --add-opens/--add-exports list of flink-dist's default configuration (Java 17)",
    origin: 'platform',
  },
  { names: ['jobmanager.rpc.address'], scope: 'cluster', value: 'flink-cluster-jobmanager', origin: 'platform' },
  { names: ['jobmanager.bind-host'], scope: 'jobmanager', value: '0.0.0.0', origin: 'platform' },
  { names: ['taskmanager.bind-host'], scope: 'taskmanager', value: '0.0.0.0', origin: 'platform' },
  { names: ['taskmanager.rpc.port'], scope: 'taskmanager', value: '6122', origin: 'platform' },
  { names: ['blob.server.port'], scope: 'cluster', value: '6124', origin: 'platform' },
  { names: ['taskmanager.data.port'], scope: 'taskmanager', value: '6121', origin: 'platform' },
  { names: ['metrics.internal.query-service.port'], scope: 'cluster', value: '6125', origin: 'platform' },
  { names: ['rest.address'], scope: 'jobmanager', value: 'flink-cluster-jobmanager', origin: 'platform' },
  { names: ['rest.bind-address'], scope: 'jobmanager', value: '0.0.0.0', origin: 'platform' },
  { names: ['rest.bind-port'], scope: 'jobmanager', value: '8081', origin: 'platform' },
  {
    names: ['jobmanager.memory.process.size'],
    scope: 'jobmanager',
    value: 'the JobManager memory of the spec',
    origin: 'platform',
  },
  {
    names: ['taskmanager.memory.process.size'],
    scope: 'taskmanager',
    value: 'the TaskManager memory of the spec',
    origin: 'platform',
  },
  {
    names: ['jobmanager.memory.flink.size', 'jobmanager.heap.size', 'jobmanager.heap.mb'],
    scope: 'jobmanager',
    value: 'derived from the JobManager memory of the spec',
    origin: 'platform',
  },
  {
    names: ['taskmanager.memory.flink.size', 'taskmanager.heap.size', 'taskmanager.heap.mb'],
    scope: 'taskmanager',
    value: 'derived from the TaskManager memory of the spec',
    origin: 'platform',
  },
];

/**
 * Families the platform owns whole: HA (every ZooKeeper, ACL and storage option), the ZooKeeper client (SASL,
 * ensemble tracking) and the `prom` reporter, so no new key Flink adds under them can open a way around the proxy.
 */
export const FIXED_PREFIXES: readonly FixedPrefix[] = [
  { prefix: 'high-availability.', value: 'set by the platform (ZooKeeper HA through the tenant proxy)' },
  { prefix: 'recovery.', value: 'set by the platform (ZooKeeper HA through the tenant proxy)' },
  { prefix: 'zookeeper.', value: 'set by the platform (ZooKeeper client settings)' },
  { prefix: 'metrics.reporter.prom.', value: 'set by the platform (Prometheus reporter on port 9163)' },
];

const SETTING_BY_NAME: ReadonlyMap<string, FixedSetting> = new Map(
  FIXED_SETTINGS.flatMap((setting) => setting.names.map((name) => [name, setting] as const)),
);

/** The fixed setting a key names, under any of its names, or the owned family it falls in. */
export function findFixedSetting(key: string): { key: string; value: string } | undefined {
  const name = key.trim();
  const setting = SETTING_BY_NAME.get(name);
  if (setting) return { key: name, value: setting.value };
  const family = FIXED_PREFIXES.find((candidate) => name.startsWith(candidate.prefix));
  return family ? { key: name, value: family.value } : undefined;
}

/**
 * Checks the tenant's (already flattened) Flink configuration against the fixed settings and returns one issue per
 * offending key, naming the key and its fixed value.
 */
export function checkFixedSettings(flatConfiguration: Readonly<Record<string, FlinkConfigValue>>): Issue[] {
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(flatConfiguration)) {
    const fixed = findFixedSetting(key);
    if (!fixed) continue;
    issues.push({
      code: 'fixed_setting',
      path: `flinkConfiguration.${fixed.key}`,
      value,
      rule: `fixed to ${fixed.value}`,
      limit: fixed.value,
      message: `flinkConfiguration "${fixed.key}" cannot be changed: the platform fixes it to ${fixed.value}`,
    });
  }
  return issues;
}
