import { describe, expect, it } from 'vitest';
import { FLINK_VERSIONS } from '../../functions/core/catalog.ts';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { buildEffectiveCluster } from '../../functions/core/effective-cluster.ts';
import {
  FIXED_SETTINGS,
  FLINK_SETTINGS,
  findFixedSetting,
  renderedName,
  TENANT_DEFAULTS,
} from '../../functions/core/fixed-settings.ts';
import { PORTS } from '../../functions/core/naming.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { platform } from './fixtures.ts';

function fixedIssues(flinkConfiguration: Record<string, unknown>) {
  const result = validateClusterSpec({ flinkConfiguration }, platform);
  return result.ok ? [] : result.issues.filter((issue) => issue.code === 'fixed_setting');
}

describe('fixed settings', () => {
  const everyName = FIXED_SETTINGS.flatMap((setting) => setting.names.map((name) => [name, setting.value] as const));

  it.each(everyName)('rejects "%s" and names its fixed value %s', (name, value) => {
    const issues = fixedIssues({ [name]: 'tenant-value' });
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'fixed_setting',
        path: `flinkConfiguration.${name}`,
        value: 'tenant-value',
        limit: value,
      }),
    ]);
    expect(issues[0]!.message).toContain(name);
    expect(issues[0]!.message).toContain(value);
  });

  it.each([
    ['state.backend', 'state.backend.type'],
    ['high-availability', 'high-availability.type'],
    ['restart-strategy', 'restart-strategy.type'],
    ['metrics.reporter.prom.class', 'metrics.reporter.prom.factory.class'],
    ['state.checkpoints.dir', 'execution.checkpointing.dir'],
    ['state.savepoints.dir', 'execution.checkpointing.savepoint-dir'],
    ['state.checkpoint-storage', 'execution.checkpointing.storage'],
  ])('knows "%s" and "%s" as one key', (oldName, newName) => {
    expect(findFixedSetting(oldName)?.value).toBeDefined();
    expect(findFixedSetting(oldName)?.value).toBe(findFixedSetting(newName)?.value);
  });

  it.each([
    [{ 'high-availability': { type: 'kubernetes' } }, 'high-availability.type'],
    [{ state: { backend: { type: 'rocksdb' } } }, 'state.backend.type'],
    [{ state: { backend: 'rocksdb' } }, 'state.backend'],
    [{ rest: { port: 9000 } }, 'rest.port'],
    [{ 'restart-strategy': { 'fixed-delay': { attempts: 3 } } }, 'restart-strategy.fixed-delay.attempts'],
    [{ execution: { checkpointing: { dir: 's3://elsewhere/' } } }, 'execution.checkpointing.dir'],
    [{ metrics: { reporter: { prom: { port: 1 } } } }, 'metrics.reporter.prom.port'],
  ])('rejects the nested YAML form %j as "%s"', (configuration, key) => {
    expect(fixedIssues(configuration).map((issue) => issue.path)).toEqual([`flinkConfiguration.${key}`]);
  });

  it.each([
    'high-availability.zookeeper.client.session-timeout',
    'high-availability.kubernetes.leader-election.lease-duration',
    'zookeeper.sasl.login-context-name',
    'metrics.reporter.prom.filterLabelValueCharacters',
  ])('rejects "%s" because the platform owns its whole family', (key) => {
    expect(fixedIssues({ [key]: 'x' })).toHaveLength(1);
  });

  it('rejects a fixed key with surrounding white space', () => {
    expect(fixedIssues({ ' rest.port ': 1 })).toEqual([
      expect.objectContaining({ path: 'flinkConfiguration.rest.port' }),
    ]);
  });

  it('reports each offending key once, and all of them', () => {
    expect(fixedIssues({ 'rest.port': 1, 'parallelism.default': 4, 'pipeline.name': 'ok' }).map((i) => i.path)).toEqual(
      ['flinkConfiguration.rest.port', 'flinkConfiguration.parallelism.default'],
    );
  });

  it('accepts keys a tenant may set', () => {
    expect(
      fixedIssues({
        'execution.checkpointing.interval': '10 s',
        'taskmanager.numberOfTaskSlots': 4,
        'state.backend.incremental': true,
        'taskmanager.memory.managed.fraction': 0.2,
        'pipeline.name': 'orders',
      }),
    ).toEqual([]);
  });
});

describe('the settings table ties rendering to validation', () => {
  // An S3-compatible store, so the rows rendered only for one (endpoint, addressing style) are rendered too.
  const local = parsePlatformSettings({
    domain: 'flink.example.com',
    objectStorage: { endpoint: 'http://10.244.0.1:9000', pathStyleAccess: true },
  });
  const roles = ['jobmanager', 'taskmanager'] as const;
  const renders = FLINK_VERSIONS.flatMap((version) => {
    const spec = validateClusterSpec({ flinkVersion: version.version }, local);
    if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
    const cluster = buildEffectiveCluster('acme', spec.spec, local, 1);
    return roles.map((role) => ({ version, role, entries: cluster.configuration[role] }));
  });
  const cases = renders.map((render) => [render.version.version, render.role, render] as const);

  it.each(cases)('refuses every fixed and platform key Flink %s renders for the %s', (_version, _role, render) => {
    const owned = render.entries.filter((entry) => entry.fixed);
    expect(owned.length).toBeGreaterThan(20);
    for (const entry of owned) {
      const issues = fixedIssues({ [entry.key]: entry.value });
      expect(
        issues.map((issue) => issue.path),
        entry.key,
      ).toEqual([`flinkConfiguration.${entry.key}`]);
    }
  });

  it.each(cases)('lets a tenant set every default Flink %s renders for the %s', (_version, _role, render) => {
    const defaults = render.entries.filter((entry) => entry.source === 'default');
    expect(defaults.map((entry) => entry.key)).toEqual(TENANT_DEFAULTS.map((setting) => setting.names[0]));
    for (const entry of defaults) {
      expect(validateClusterSpec({ flinkConfiguration: { [entry.key]: entry.value } }, platform).ok).toBe(true);
    }
  });

  it.each(cases)('renders every row of Flink %s for the %s under a name it knows', (_version, role, render) => {
    const byKey = new Map(render.entries.map((entry) => [entry.key, entry]));
    for (const setting of FLINK_SETTINGS) {
      const name = renderedName(setting, render.version.keys);
      expect(setting.names, setting.names[0]).toContain(name);
      const entry = byKey.get(name);
      if (!setting.roles.includes(role) || setting.value === undefined) {
        // A row for the other process, or one the platform refuses and leaves unset: none of its names is rendered.
        for (const other of setting.names) expect(byKey.has(other), `${other} in the ${role} file`).toBe(false);
        continue;
      }
      expect(entry, name).toMatchObject({ source: setting.kind, fixed: setting.kind !== 'default' });
      if (typeof setting.value !== 'function') expect(entry?.value, name).toBe(setting.value);
    }
  });

  it('renders every fixed key of the reference in every version, in each process it names', () => {
    for (const setting of FLINK_SETTINGS.filter((row) => row.kind === 'fixed')) {
      for (const render of renders.filter((candidate) => setting.roles.includes(candidate.role))) {
        const name = renderedName(setting, render.version.keys);
        expect(render.entries.find((entry) => entry.key === name)?.source, `${name} in ${render.role}`).toBe('fixed');
      }
    }
  });

  it('renders no key that is not in the table, besides the tenant keys', () => {
    for (const render of renders) {
      for (const entry of render.entries) {
        expect(
          FLINK_SETTINGS.some((setting) => renderedName(setting, render.version.keys) === entry.key),
          entry.key,
        ).toBe(true);
      }
    }
  });

  it('gives each name to one row only', () => {
    const names = FLINK_SETTINGS.flatMap((setting) => setting.names);
    expect(new Set(names).size).toBe(names.length);
  });

  it('lists every fixed and platform row in the catalog view, the reference first', () => {
    const owned = FLINK_SETTINGS.filter((setting) => setting.kind !== 'default');
    expect(FIXED_SETTINGS.map((setting) => setting.names)).toEqual([
      ...owned.filter((setting) => setting.kind === 'fixed').map((setting) => setting.names),
      ...owned.filter((setting) => setting.kind === 'platform').map((setting) => setting.names),
    ]);
    expect(FIXED_SETTINGS.find((setting) => setting.names[0] === 'metrics.reporter.prom.port')?.value).toBe(
      String(PORTS.metrics),
    );
  });
});

describe('defaults a tenant may override', () => {
  function minimumIssues(flinkConfiguration: Record<string, unknown>) {
    const result = validateClusterSpec({ flinkConfiguration }, platform);
    return result.ok ? [] : result.issues;
  }

  it.each([0, '0', -2])('rejects %j TaskManager slots', (slots) => {
    expect(minimumIssues({ 'taskmanager.numberOfTaskSlots': slots })).toEqual([
      expect.objectContaining({
        code: 'below_minimum',
        path: 'flinkConfiguration.taskmanager.numberOfTaskSlots',
        limit: '1',
      }),
    ]);
  });

  it.each([0, '5', '0 ms', '-1 s', '9ms', '1000 ns'])(
    'rejects a checkpoint interval of %j, under 10 ms',
    (interval) => {
      expect(minimumIssues({ execution: { checkpointing: { interval } } })).toEqual([
        expect.objectContaining({
          code: 'below_minimum',
          path: 'flinkConfiguration.execution.checkpointing.interval',
          limit: '10 ms',
        }),
      ]);
    },
  );

  it.each(['10 ms', '10', '1 min', '2 h', '30 seconds', 'PT1M'])(
    'accepts a checkpoint interval of %j (a form it cannot read is left to Flink)',
    (interval) => {
      expect(minimumIssues({ 'execution.checkpointing.interval': interval })).toEqual([]);
    },
  );

  it('accepts one slot and more', () => {
    expect(minimumIssues({ 'taskmanager.numberOfTaskSlots': 1 })).toEqual([]);
    expect(minimumIssues({ 'taskmanager.numberOfTaskSlots': '8' })).toEqual([]);
  });
});
