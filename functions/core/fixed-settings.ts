/**
 * The one table of the Flink settings the platform renders or owns. Rendering (flink-configuration.ts), validation
 * (below), the catalog and the README's table are all read from it, so they cannot drift apart.
 */
import type { VersionedKeys } from './catalog.ts';
import type { Issue } from './errors.ts';
import type { ConfigurationInput, FlinkConfigScalar, FlinkConfigValue, FlinkRole } from './flink-configuration.ts';
import { MAX_JAR_BYTES } from './jobs/limits.ts';
import { COMPONENT_NAMES, FLINK_ZOOKEEPER_ROOT, haLocations, PORTS } from './naming.ts';

/**
 * `fixed`: the service reference's value, the same for every tenant. `platform`: what the platform sets (per tenant,
 * per platform, or deliberately nothing). Neither may be changed. `default`: rendered unless the tenant sets the key,
 * and held to a minimum when it does.
 */
export type SettingKind = 'fixed' | 'platform' | 'default';

/** Which Flink process a setting applies to, as the reference lists it: both (`cluster`) or one of them. */
export type FixedScope = 'cluster' | FlinkRole;

/** The least a tenant may give a default, and how to read a given value in its unit. */
export interface SettingMinimum {
  readonly least: number;
  /** The value in the minimum's unit, or undefined when it is not in a form the platform can read. */
  readonly read: (value: FlinkConfigValue) => number | undefined;
  /** The minimum as a person reads it: `1`, `10 ms`. */
  readonly text: string;
}

/** One row of the table. */
export interface FlinkSetting {
  /** Every name Flink has given the key, the newest first; validation refuses each of a fixed or platform key. */
  readonly names: readonly [string, ...string[]];
  /** The catalog entry naming the key a version reads, when it depends on the version. @default names[0] */
  readonly versionedName?: keyof VersionedKeys | undefined;
  readonly kind: SettingKind;
  readonly roles: readonly FlinkRole[];
  /**
   * What is rendered: a value, a function of the tenant's context (undefined: not rendered for that context), or
   * nothing at all for a key the platform refuses and leaves to Flink's own default.
   */
  readonly value?: FlinkConfigValue | ((context: ConfigurationInput) => FlinkConfigValue | undefined);
  /** What the README and the catalog say the key is set to. */
  readonly doc: string;
  readonly minimum?: SettingMinimum;
}

const CLUSTER: readonly FlinkRole[] = ['jobmanager', 'taskmanager'];
const JOBMANAGER: readonly FlinkRole[] = ['jobmanager'];
const TASKMANAGER: readonly FlinkRole[] = ['taskmanager'];

type Names = FlinkSetting['names'];
type Roles = readonly FlinkRole[];
type Versioned = keyof VersionedKeys | undefined;

/** The reference's value; its text is the value itself. */
function fixed(names: Names, roles: Roles, value: FlinkConfigScalar, versionedName?: Versioned): FlinkSetting {
  return { names, roles, kind: 'fixed', value, doc: String(value), versionedName };
}

/** A constant the platform sets. */
function platformValue(names: Names, roles: Roles, value: FlinkConfigScalar): FlinkSetting {
  return { names, roles, kind: 'platform', value, doc: String(value) };
}

/** A value the platform derives from the tenant's context; `doc` says how. */
function platformDerived(
  names: Names,
  roles: Roles,
  value: (context: ConfigurationInput) => FlinkConfigValue | undefined,
  doc: string,
  versionedName?: Versioned,
): FlinkSetting {
  return { names, roles, kind: 'platform', value, doc, versionedName };
}

/** A key no tenant may set and the platform leaves unset, to Flink's own default; `doc` says why. */
function refused(names: Names, roles: Roles, doc: string): FlinkSetting {
  return { names, roles, kind: 'platform', doc };
}

/** A default a tenant may override, down to a minimum. */
function tenantDefault(name: string, value: FlinkConfigScalar, minimum: SettingMinimum): FlinkSetting {
  return { names: [name], roles: CLUSTER, kind: 'default', value, doc: String(value), minimum };
}

/** A whole number, given as a number or its text; a list reads as nothing. */
function readCount(value: FlinkConfigValue): number | undefined {
  const text = String(value).trim();
  return /^-?\d+$/.test(text) ? Number(text) : undefined;
}

// Flink's TimeUtils units; a bare number is milliseconds.
const MILLISECONDS_PER_UNIT: ReadonlyMap<string, number> = new Map([
  ...['', 'ms', 'milli', 'millis', 'millisecond', 'milliseconds'].map((unit) => [unit, 1] as const),
  ...['µs', 'micro', 'micros', 'microsecond', 'microseconds'].map((unit) => [unit, 1e-3] as const),
  ...['ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'].map((unit) => [unit, 1e-6] as const),
  ...['s', 'sec', 'secs', 'second', 'seconds'].map((unit) => [unit, 1000] as const),
  ...['m', 'min', 'mins', 'minute', 'minutes'].map((unit) => [unit, 60_000] as const),
  ...['h', 'hour', 'hours'].map((unit) => [unit, 3_600_000] as const),
  ...['d', 'day', 'days'].map((unit) => [unit, 86_400_000] as const),
]);

/** A duration in Flink's `<number> <unit>` form, in milliseconds; a negative one reads, and is under a minimum. */
function readDurationMs(value: FlinkConfigValue): number | undefined {
  const match = /^(-?\d+)\s*([a-zµ]*)$/.exec(String(value).trim().toLowerCase());
  if (!match) return undefined;
  const perUnit = MILLISECONDS_PER_UNIT.get(match[2]!);
  return perUnit === undefined ? undefined : Number(match[1]) * perUnit;
}

/**
 * The `--add-opens`/`--add-exports` list of flink-dist's default configuration, which Flink needs on Java 17. The
 * rendered file replaces that configuration, so the platform renders the list itself and owns the key.
 */
export const JAVA_17_OPTIONS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.net=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.text=ALL-UNNAMED',
  '--add-opens=java.base/java.time=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
].join(' ');

const BIND_ALL = '0.0.0.0';
// The README's and catalog's text for the HA locations: haLocations reads only the bucket and the chroot of the names.
const PLACEHOLDER_HA = haLocations(
  { bucket: '<tenant-bucket>', zookeeperChroot: '<tenant-chroot>' } as Parameters<typeof haLocations>[0],
  '<ha-cluster-id>',
);
const ha = (context: ConfigurationInput) => haLocations(context.names, context.haClusterId);
const s3Endpoint = (context: ConfigurationInput) => context.objectStorage?.endpoint;

/**
 * Every setting the platform renders or owns, in the order a rendered file lists them. The tenant's own keys follow
 * the defaults, sorted.
 */
export const FLINK_SETTINGS: readonly FlinkSetting[] = [
  platformValue(['jobmanager.rpc.address'], CLUSTER, COMPONENT_NAMES.jobManager),
  fixed(['jobmanager.rpc.port'], CLUSTER, PORTS.jobManagerRpc),
  platformValue(['blob.server.port'], CLUSTER, PORTS.blob),
  // Pinned rather than random, so the NetworkPolicy between Flink pods can name every port it opens.
  platformValue(['metrics.internal.query-service.port'], CLUSTER, PORTS.metricsQuery),
  platformValue(['jobmanager.bind-host'], JOBMANAGER, BIND_ALL),
  fixed(['rest.port'], JOBMANAGER, PORTS.rest),
  platformValue(['rest.address'], JOBMANAGER, COMPONENT_NAMES.jobManager),
  platformValue(['rest.bind-address'], JOBMANAGER, BIND_ALL),
  refused(['rest.bind-port'], JOBMANAGER, `unset: Flink binds the REST server to rest.port (${PORTS.rest})`),
  fixed(['blob.storage.directory'], JOBMANAGER, '/storage/blob-store'),
  fixed(['web.upload.dir'], JOBMANAGER, '/storage/web-upload'),
  // Flink refuses REST bodies over 100 MiB by default; a JAR may be up to MAX_JAR_BYTES, plus the multipart framing.
  platformValue(['rest.server.max-content-length'], JOBMANAGER, MAX_JAR_BYTES + 16 * 1024 * 1024),
  platformDerived(
    ['jobmanager.memory.process.size'],
    JOBMANAGER,
    (context) => `${context.jobManagerMemoryMB}m`,
    'the JobManager memory of the spec',
  ),
  refused(
    ['jobmanager.memory.flink.size', 'jobmanager.heap.size', 'jobmanager.heap.mb'],
    JOBMANAGER,
    'unset: Flink derives it from jobmanager.memory.process.size',
  ),
  platformValue(['taskmanager.bind-host'], TASKMANAGER, BIND_ALL),
  platformValue(['taskmanager.rpc.port'], TASKMANAGER, PORTS.taskManagerRpc),
  platformValue(['taskmanager.data.port'], TASKMANAGER, PORTS.taskManagerData),
  platformDerived(
    ['taskmanager.memory.process.size'],
    TASKMANAGER,
    (context) => `${context.taskManagerMemoryMB}m`,
    'the TaskManager memory of the spec',
  ),
  refused(
    ['taskmanager.memory.flink.size', 'taskmanager.heap.size', 'taskmanager.heap.mb'],
    TASKMANAGER,
    'unset: Flink derives it from taskmanager.memory.process.size',
  ),
  fixed(['parallelism.default'], TASKMANAGER, 1),

  fixed(['high-availability.type', 'high-availability', 'recovery.mode'], CLUSTER, 'zookeeper', 'haType'),
  platformDerived(
    ['high-availability.zookeeper.quorum', 'recovery.zookeeper.quorum'],
    CLUSTER,
    (context) => context.names.zookeeperProxyAddress,
    `${COMPONENT_NAMES.zookeeperProxy}.<tenant-namespace>:${PORTS.zookeeperProxy}`,
  ),
  platformValue(
    ['high-availability.zookeeper.path.root', 'recovery.zookeeper.path.root'],
    CLUSTER,
    FLINK_ZOOKEEPER_ROOT,
  ),
  platformDerived(
    ['high-availability.cluster-id', 'high-availability.zookeeper.path.namespace', 'recovery.zookeeper.path.namespace'],
    CLUSTER,
    (context) => context.haClusterId,
    "the tenant's HA cluster id",
  ),
  platformDerived(
    ['high-availability.storageDir', 'high-availability.zookeeper.storageDir', 'recovery.zookeeper.storageDir'],
    CLUSTER,
    (context) => ha(context).storageDir,
    PLACEHOLDER_HA.storageDir,
  ),
  platformValue(['high-availability.jobmanager.port', 'recovery.jobmanager.port'], CLUSTER, PORTS.jobManagerRpc),
  platformValue(['high-availability.zookeeper.client.acl', 'recovery.zookeeper.client.acl'], CLUSTER, 'open'),
  platformValue(['high-availability.zookeeper.client.ensemble-tracker'], CLUSTER, false),
  platformValue(['zookeeper.sasl.disable'], CLUSTER, true),

  // Credentials never go in here: Pod Identity (locally, the kubelet's stand-in for it) puts them in the environment.
  platformDerived(
    ['s3.endpoint', 'fs.s3a.endpoint', 'presto.s3.endpoint'],
    CLUSTER,
    s3Endpoint,
    "the platform's S3 endpoint (set only for an S3-compatible store)",
  ),
  platformDerived(
    ['s3.path.style.access', 'fs.s3a.path.style.access', 'presto.s3.path-style-access'],
    CLUSTER,
    (context) => (s3Endpoint(context) ? context.objectStorage!.pathStyleAccess : undefined),
    "the platform's S3 addressing style (set only for an S3-compatible store)",
  ),
  refused(
    ['s3.access-key', 's3.secret-key', 'fs.s3a.access.key', 'fs.s3a.secret.key'],
    CLUSTER,
    "none: the tenant's credentials come from Pod Identity",
  ),

  fixed(['state.backend.type', 'state.backend'], CLUSTER, 'hashmap', 'stateBackendType'),
  fixed(['execution.checkpointing.storage', 'state.checkpoint-storage'], CLUSTER, 'filesystem', 'checkpointStorage'),
  platformDerived(
    ['execution.checkpointing.dir', 'state.checkpoints.dir'],
    CLUSTER,
    (context) => ha(context).checkpointsDir,
    PLACEHOLDER_HA.checkpointsDir,
    'checkpointsDir',
  ),
  platformDerived(
    ['execution.checkpointing.savepoint-dir', 'state.savepoints.dir'],
    CLUSTER,
    (context) => ha(context).savepointsDir,
    PLACEHOLDER_HA.savepointsDir,
    'savepointsDir',
  ),

  fixed(['restart-strategy.type', 'restart-strategy'], JOBMANAGER, 'fixed-delay', 'restartStrategyType'),
  fixed(['restart-strategy.fixed-delay.attempts'], JOBMANAGER, 1440),
  fixed(['restart-strategy.fixed-delay.delay'], JOBMANAGER, '10 s'),

  platformDerived(
    ['env.java.opts.all', 'env.java.opts'],
    CLUSTER,
    () => JAVA_17_OPTIONS,
    "the --add-opens/--add-exports list of flink-dist's default configuration (Java 17)",
  ),

  fixed(
    ['metrics.reporter.prom.factory.class', 'metrics.reporter.prom.class'],
    CLUSTER,
    'org.apache.flink.metrics.prometheus.PrometheusReporterFactory',
    'prometheusReporter',
  ),
  fixed(['metrics.reporter.prom.port'], CLUSTER, PORTS.metrics),

  refused(['kubernetes.cluster-id'], CLUSTER, 'unset: clusters run standalone, with ZooKeeper HA'),
  refused(['kubernetes.namespace'], CLUSTER, 'unset: clusters run standalone, with ZooKeeper HA'),

  // Without a checkpoint interval nothing could be restored; below Flink's own floor a job fails at submission.
  tenantDefault('execution.checkpointing.interval', '60 s', { least: 10, read: readDurationMs, text: '10 ms' }),
  // A TaskManager with no slot does not start.
  tenantDefault('taskmanager.numberOfTaskSlots', 1, { least: 1, read: readCount, text: '1' }),
];

/** A family of keys the platform owns as a whole. */
export interface FixedPrefix {
  readonly prefix: string;
  readonly value: string;
}

/**
 * Families the platform owns whole: HA (every ZooKeeper, ACL and storage option), the ZooKeeper client (SASL,
 * ensemble tracking) and the `prom` reporter, so no new key Flink adds under them can open a way around the proxy.
 */
export const FIXED_PREFIXES: readonly FixedPrefix[] = [
  { prefix: 'high-availability.', value: 'set by the platform (ZooKeeper HA through the tenant proxy)' },
  { prefix: 'recovery.', value: 'set by the platform (ZooKeeper HA through the tenant proxy)' },
  { prefix: 'zookeeper.', value: 'set by the platform (ZooKeeper client settings)' },
  { prefix: 'metrics.reporter.prom.', value: `set by the platform (Prometheus reporter on port ${PORTS.metrics})` },
];

/** The name a version reads for a setting. */
export function renderedName(setting: FlinkSetting, keys: VersionedKeys): string {
  return setting.versionedName ? keys[setting.versionedName] : setting.names[0];
}

/** Which processes a setting applies to, as the catalog and the README say it. */
export function settingScope(setting: FlinkSetting): FixedScope {
  return setting.roles.length === 1 ? setting.roles[0]! : 'cluster';
}

/** A setting no tenant may change, as the catalog and the README list it: fixed ones first, then the platform's. */
export interface FixedSetting {
  readonly names: readonly string[];
  readonly scope: FixedScope;
  readonly value: string;
  /** `reference` settings come from the service reference; `platform` ones are what the platform owns. */
  readonly origin: 'reference' | 'platform';
}

export const FIXED_SETTINGS: readonly FixedSetting[] = (['fixed', 'platform'] as const).flatMap((kind) =>
  FLINK_SETTINGS.filter((setting) => setting.kind === kind).map((setting) => ({
    names: setting.names,
    scope: settingScope(setting),
    value: setting.doc,
    origin: kind === 'fixed' ? ('reference' as const) : ('platform' as const),
  })),
);

/** The defaults a tenant may override, with their minimums. */
export const TENANT_DEFAULTS: readonly FlinkSetting[] = FLINK_SETTINGS.filter((setting) => setting.kind === 'default');

const SETTING_BY_NAME: ReadonlyMap<string, FlinkSetting> = new Map(
  FLINK_SETTINGS.flatMap((setting) => setting.names.map((name) => [name, setting] as const)),
);

/** The fixed setting a key names, under any of its names, or the owned family it falls in. */
export function findFixedSetting(key: string): { key: string; value: string } | undefined {
  const name = key.trim();
  const setting = SETTING_BY_NAME.get(name);
  if (setting && setting.kind !== 'default') return { key: name, value: setting.doc };
  const family = FIXED_PREFIXES.find((candidate) => name.startsWith(candidate.prefix));
  return family ? { key: name, value: family.value } : undefined;
}

/**
 * Checks the tenant's (already flattened) Flink configuration against the table: one issue per fixed or platform key,
 * naming the key and its fixed value, and one per default set under its minimum.
 */
export function checkFixedSettings(flatConfiguration: Readonly<Record<string, FlinkConfigValue>>): Issue[] {
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(flatConfiguration)) {
    const fixed = findFixedSetting(key);
    if (fixed) {
      issues.push({
        code: 'fixed_setting',
        path: `flinkConfiguration.${fixed.key}`,
        value,
        rule: `fixed to ${fixed.value}`,
        limit: fixed.value,
        message: `flinkConfiguration "${fixed.key}" cannot be changed: the platform fixes it to ${fixed.value}`,
      });
      continue;
    }
    const minimum = SETTING_BY_NAME.get(key.trim())?.minimum;
    const amount = minimum?.read(value);
    if (minimum && amount !== undefined && amount < minimum.least) {
      const path = `flinkConfiguration.${key.trim()}`;
      issues.push({
        code: 'below_minimum',
        path,
        value,
        rule: `minimum ${minimum.text}`,
        limit: minimum.text,
        message: `${path} must be at least ${minimum.text}`,
      });
    }
  }
  return issues;
}
