import { describe, expect, it } from 'vitest';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { FIXED_SETTINGS, findFixedSetting } from '../../functions/core/fixed-settings.ts';
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
