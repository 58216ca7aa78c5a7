import { stringify } from 'yaml';
import type { FlinkVersion } from './catalog.ts';
import type { Issue } from './errors.ts';
import { type FixedScope, findFixedSetting } from './fixed-settings.ts';
import { COMPONENT_NAMES, FLINK_ZOOKEEPER_ROOT, haLocations, PORTS, type TenantNames } from './naming.ts';

export type FlinkConfigScalar = string | number | boolean;
export type FlinkConfigValue = FlinkConfigScalar | readonly FlinkConfigScalar[];
/** What a tenant may send: flat `a.b.c` keys, nested YAML maps (`a: {b: {c: …}}`), or both. */
export type FlinkConfigInput = { readonly [key: string]: FlinkConfigValue | FlinkConfigInput };

const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_KEY_LENGTH = 256;
const MAX_VALUE_LENGTH = 4096;
const MAX_KEYS = 256;
// A line break in a value would add lines to flink-conf.yaml, which Flink 1.x reads line by line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Flattens nested YAML maps into Flink's dotted keys and checks each key and value; returns both. */
export function flattenFlinkConfiguration(input: FlinkConfigInput): {
  flat: Record<string, FlinkConfigValue>;
  issues: Issue[];
} {
  // No prototype: a tenant key such as `constructor` must not meet Object's own properties.
  const flat: Record<string, FlinkConfigValue> = Object.create(null);
  const issues: Issue[] = [];
  const visit = (node: FlinkConfigInput, prefix: string) => {
    for (const [rawKey, value] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${rawKey.trim()}` : rawKey.trim();
      const path = `flinkConfiguration.${key}`;
      if (!KEY_PATTERN.test(key) || key.length > MAX_KEY_LENGTH || key.includes('..') || key.endsWith('.')) {
        issues.push(
          invalid(path, rawKey, `a key of letters, digits, '.', '-' and '_', at most ${MAX_KEY_LENGTH} long`),
        );
        continue;
      }
      if (isConfigMap(value)) {
        visit(value, key);
        continue;
      }
      const problem = checkValue(value);
      if (problem) {
        issues.push(invalid(path, value, problem));
        continue;
      }
      if (Object.hasOwn(flat, key)) {
        issues.push(invalid(path, value, 'each key once (it is given both flat and nested)'));
        continue;
      }
      flat[key] = value;
    }
  };
  visit(input, '');
  if (Object.keys(flat).length > MAX_KEYS) {
    issues.push(invalid('flinkConfiguration', Object.keys(flat).length, `at most ${MAX_KEYS} keys`));
  }
  return { flat: { ...flat }, issues };
}

function isConfigMap(value: unknown): value is FlinkConfigInput {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkValue(value: unknown): string | undefined {
  const scalars = Array.isArray(value) ? value : [value];
  for (const scalar of scalars) {
    if (typeof scalar === 'number' && !Number.isFinite(scalar)) return 'a finite number';
    if (typeof scalar !== 'string' && typeof scalar !== 'number' && typeof scalar !== 'boolean') {
      return 'a string, number, boolean or list of them';
    }
    if (typeof scalar === 'string' && (CONTROL_CHARACTERS.test(scalar) || scalar.length > MAX_VALUE_LENGTH)) {
      return `a single-line value of at most ${MAX_VALUE_LENGTH} characters`;
    }
  }
  return undefined;
}

function invalid(path: string, value: unknown, rule: string): Issue {
  return { code: 'invalid_value', path, value, rule, message: `${path} must be ${rule}` };
}

/** Where an entry of the effective configuration comes from. `fixed` and `platform` entries cannot be changed. */
export type ConfigSource = 'fixed' | 'platform' | 'default' | 'tenant';

export interface ConfigEntry {
  readonly key: string;
  readonly value: FlinkConfigValue;
  readonly source: ConfigSource;
  /** True when no tenant may change the key. */
  readonly fixed: boolean;
}

export type FlinkRole = 'jobmanager' | 'taskmanager';

/** What rendering needs from the effective spec. */
export interface ConfigurationInput {
  readonly version: FlinkVersion;
  readonly names: TenantNames;
  readonly haClusterId: string;
  readonly jobManagerMemoryMB: number;
  readonly taskManagerMemoryMB: number;
  readonly tenantConfiguration: Readonly<Record<string, FlinkConfigValue>>;
  /** The platform's S3 endpoint, for an S3-compatible store; none on AWS. @default the regional endpoint */
  readonly objectStorage?: { readonly endpoint?: string | undefined; readonly pathStyleAccess: boolean };
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

/** Platform defaults a tenant may override. Without a checkpoint interval nothing could be restored. */
const TENANT_OVERRIDABLE_DEFAULTS: Readonly<Record<string, FlinkConfigValue>> = {
  'execution.checkpointing.interval': '60 s',
  'taskmanager.numberOfTaskSlots': 1,
};

/**
 * Renders the effective configuration of one role for one Flink version: fixed settings, platform settings,
 * defaults, then the tenant's own keys. Keys are in a stable order so renders compare byte for byte.
 */
export function renderConfigurationEntries(input: ConfigurationInput, role: FlinkRole): ConfigEntry[] {
  const { version, names, haClusterId } = input;
  const keys = version.keys;
  const ha = haLocations(names, haClusterId);
  const entries: ConfigEntry[] = [];
  const add = (key: string, value: FlinkConfigValue, source: ConfigSource, scope: FixedScope = 'cluster') => {
    if (scope !== 'cluster' && scope !== role) return;
    entries.push({ key, value, source, fixed: source === 'fixed' || source === 'platform' });
  };

  add('jobmanager.rpc.address', COMPONENT_NAMES.jobManager, 'platform');
  add('jobmanager.rpc.port', PORTS.jobManagerRpc, 'fixed');
  add('blob.server.port', PORTS.blob, 'platform');
  // Pinned rather than random, so the NetworkPolicy between Flink pods can name every port it opens.
  add('metrics.internal.query-service.port', PORTS.metricsQuery, 'platform');
  add('jobmanager.bind-host', '0.0.0.0', 'platform', 'jobmanager');
  add('rest.port', PORTS.rest, 'fixed', 'jobmanager');
  add('rest.address', COMPONENT_NAMES.jobManager, 'platform', 'jobmanager');
  add('rest.bind-address', '0.0.0.0', 'platform', 'jobmanager');
  add('blob.storage.directory', '/storage/blob-store', 'fixed', 'jobmanager');
  add('web.upload.dir', '/storage/web-upload', 'fixed', 'jobmanager');
  add('jobmanager.memory.process.size', `${input.jobManagerMemoryMB}m`, 'platform', 'jobmanager');
  add('taskmanager.bind-host', '0.0.0.0', 'platform', 'taskmanager');
  add('taskmanager.rpc.port', PORTS.taskManagerRpc, 'platform', 'taskmanager');
  add('taskmanager.data.port', PORTS.taskManagerData, 'platform', 'taskmanager');
  add('taskmanager.memory.process.size', `${input.taskManagerMemoryMB}m`, 'platform', 'taskmanager');
  add('parallelism.default', 1, 'fixed', 'taskmanager');

  add(keys.haType, 'zookeeper', 'fixed');
  add('high-availability.zookeeper.quorum', names.zookeeperProxyAddress, 'platform');
  add('high-availability.zookeeper.path.root', FLINK_ZOOKEEPER_ROOT, 'platform');
  add('high-availability.cluster-id', haClusterId, 'platform');
  add('high-availability.storageDir', ha.storageDir, 'platform');
  add('high-availability.jobmanager.port', PORTS.jobManagerRpc, 'platform');
  add('high-availability.zookeeper.client.acl', 'open', 'platform');
  add('high-availability.zookeeper.client.ensemble-tracker', false, 'platform');
  add('zookeeper.sasl.disable', true, 'platform');

  // Credentials never go in here: Pod Identity (locally, the kubelet's stand-in for it) puts them in the environment.
  if (input.objectStorage?.endpoint) {
    add('s3.endpoint', input.objectStorage.endpoint, 'platform');
    add('s3.path.style.access', input.objectStorage.pathStyleAccess, 'platform');
  }

  add(keys.stateBackendType, 'hashmap', 'fixed');
  add(keys.checkpointStorage, 'filesystem', 'fixed');
  add(keys.checkpointsDir, ha.checkpointsDir, 'platform');
  add(keys.savepointsDir, ha.savepointsDir, 'platform');

  add(keys.restartStrategyType, 'fixed-delay', 'fixed', 'jobmanager');
  add('restart-strategy.fixed-delay.attempts', 1440, 'fixed', 'jobmanager');
  add('restart-strategy.fixed-delay.delay', '10 s', 'fixed', 'jobmanager');

  add('env.java.opts.all', JAVA_17_OPTIONS, 'platform');

  add(keys.prometheusReporter, keys.prometheusReporterValue, 'fixed');
  add('metrics.reporter.prom.port', PORTS.metrics, 'fixed');

  const tenant = input.tenantConfiguration;
  for (const [key, value] of Object.entries(TENANT_OVERRIDABLE_DEFAULTS)) {
    if (!(key in tenant)) add(key, value, 'default');
  }
  for (const key of Object.keys(tenant).sort()) {
    // The validator refuses fixed keys before rendering; skipping them here keeps a render safe on its own too.
    if (findFixedSetting(key)) continue;
    add(key, tenant[key]!, 'tenant');
  }
  return entries;
}

/** The text of the Flink configuration file of a version: legacy `key: value` lines for 1.x, YAML for 2.x. */
export function renderConfigurationFile(entries: readonly ConfigEntry[], version: FlinkVersion): string {
  if (version.configFileName === 'config.yaml') {
    const document: Record<string, FlinkConfigValue> = {};
    for (const entry of entries) document[entry.key] = entry.value;
    return `# Rendered by Flinkplane for Flink ${version.release}; keys the platform fixes cannot be changed.\n${stringify(document, { lineWidth: 0 })}`;
  }
  const lines = entries.map((entry) => `${entry.key}: ${legacyValue(entry.value)}`);
  return `# Rendered by Flinkplane for Flink ${version.release}; keys the platform fixes cannot be changed.\n${lines.join('\n')}\n`;
}

/** Flink 1.x's flink-conf.yaml parser takes the raw text after `: `; lists are `;`-separated. */
function legacyValue(value: FlinkConfigValue): string {
  return Array.isArray(value) ? value.join(';') : String(value);
}
