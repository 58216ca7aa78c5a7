import { stringify } from 'yaml';
import type { FlinkVersion } from './catalog.ts';
import type { Issue } from './errors.ts';
import { FLINK_SETTINGS, findFixedSetting, renderedName } from './fixed-settings.ts';
import type { TenantNames } from './naming.ts';

export { JAVA_17_OPTIONS } from './fixed-settings.ts';

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
 * Renders the effective configuration of one role for one Flink version from the settings table: the platform's
 * rows in table order, the defaults the tenant left alone, then the tenant's own keys, sorted. Keys are in a stable
 * order so renders compare byte for byte.
 */
export function renderConfigurationEntries(input: ConfigurationInput, role: FlinkRole): ConfigEntry[] {
  const tenant = input.tenantConfiguration;
  const entries: ConfigEntry[] = [];
  for (const setting of FLINK_SETTINGS) {
    if (!setting.roles.includes(role)) continue;
    const key = renderedName(setting, input.version.keys);
    if (setting.kind === 'default' && Object.hasOwn(tenant, key)) continue;
    const value = typeof setting.value === 'function' ? setting.value(input) : setting.value;
    if (value === undefined) continue;
    entries.push({ key, value, source: setting.kind, fixed: setting.kind !== 'default' });
  }
  for (const key of Object.keys(tenant).sort()) {
    // The validator refuses fixed keys before rendering; skipping them here keeps a render safe on its own too.
    if (findFixedSetting(key)) continue;
    entries.push({ key, value: tenant[key]!, source: 'tenant', fixed: false });
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
