import { describe, expect, it } from 'vitest';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import type { Issue } from '../../functions/core/errors.ts';
import { specError } from '../../functions/core/errors.ts';
import { SIZING_FIELDS } from '../../functions/core/sizing.ts';
import { platform, validSpecInput } from './fixtures.ts';

function issuesOf(input: unknown): Issue[] {
  const result = validateClusterSpec(input, platform);
  return result.ok ? [] : result.issues;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const [group, key] = path.split('.') as [string, string];
  (target[group] as Record<string, unknown>)[key] = value;
}

describe('validateClusterSpec', () => {
  it('accepts the canonical valid request unchanged', () => {
    const result = validateClusterSpec(validSpecInput(), platform);
    expect(result).toEqual({
      ok: true,
      spec: {
        flinkVersion: '1.20',
        zone: 'zone-a',
        jobManager: { cpu: 0.5, memoryMB: 2048 },
        taskManager: { cpu: 1, memoryMB: 4096, instances: 3 },
        flinkConfiguration: { 'execution.checkpointing.interval': '30 s', 'pipeline.name': 'orders' },
        restore: 'latest-state',
      },
    });
  });

  it('fills every default of the reference into an empty request', () => {
    const result = validateClusterSpec({}, platform);
    expect(result).toEqual({
      ok: true,
      spec: {
        flinkVersion: '1.20',
        zone: 'zone-a',
        jobManager: { cpu: 0.3, memoryMB: 1024 },
        taskManager: { cpu: 0.3, memoryMB: 3072, instances: 2 },
        flinkConfiguration: {},
        restore: 'latest-state',
      },
    });
  });

  it.each([
    ['jobManager.cpu', 0.3],
    ['jobManager.memoryMB', 1024],
    ['taskManager.cpu', 0.3],
    ['taskManager.memoryMB', 3072],
    ['taskManager.instances', 2],
  ])('defaults %s to %s when only that field is left out', (path, expected) => {
    const input = validSpecInput();
    const [group, key] = path.split('.') as ['jobManager' | 'taskManager', string];
    delete (input[group] as Record<string, unknown>)[key];
    const result = validateClusterSpec(input, platform);
    expect(result.ok).toBe(true);
    if (result.ok) expect((result.spec[group] as Record<string, number>)[key]).toBe(expected);
  });

  it.each([
    ['jobManager.cpu', 0.3, 0.29, 'minimum 0.3 cores'],
    ['jobManager.memoryMB', 1024, 1023, 'minimum 1024 MB'],
    ['taskManager.cpu', 0.3, 0.2, 'minimum 0.3 cores'],
    ['taskManager.memoryMB', 1024, 512, 'minimum 1024 MB'],
    ['taskManager.instances', 1, 0, 'minimum 1'],
  ])('rejects %s under its minimum %s, naming the field, the value and the minimum', (path, minimum, below, rule) => {
    const input = validSpecInput();
    setPath(input as unknown as Record<string, unknown>, path, below);
    expect(issuesOf(input)).toEqual([
      expect.objectContaining({ code: 'below_minimum', path, value: below, limit: minimum, rule }),
    ]);
    expect(issuesOf(input)[0]!.message).toContain(String(below));
    expect(issuesOf(input)[0]!.message).toContain(String(minimum));
  });

  it.each(SIZING_FIELDS.map((field) => [field.path, field.minimum] as const))(
    'accepts %s exactly at its minimum %s',
    (path, minimum) => {
      const input = validSpecInput();
      setPath(input as unknown as Record<string, unknown>, path, minimum);
      expect(issuesOf(input)).toEqual([]);
    },
  );

  it('never raises a value to its minimum silently', () => {
    const input = validSpecInput();
    input.taskManager.memoryMB = 512;
    expect(validateClusterSpec(input, platform).ok).toBe(false);
  });

  it('rejects a TaskManager count above the platform quota', () => {
    const input = validSpecInput();
    input.taskManager.instances = platform.quota.taskManager.maxInstances + 1;
    expect(issuesOf(input)).toEqual([
      expect.objectContaining({ code: 'above_maximum', path: 'taskManager.instances', limit: 32 }),
    ]);
  });

  it('rejects fractional memory and CPU finer than a millicore', () => {
    const input = validSpecInput();
    input.jobManager.memoryMB = 2048.5;
    input.taskManager.cpu = 0.3333;
    expect(issuesOf(input).map((issue) => [issue.code, issue.path])).toEqual([
      ['not_a_multiple', 'jobManager.memoryMB'],
      ['not_a_multiple', 'taskManager.cpu'],
    ]);
  });

  it('reports every issue of a request at once', () => {
    const input = { ...validSpecInput(), flinkVersion: '0.9', zone: 'mars' } as Record<string, unknown>;
    (input.jobManager as Record<string, unknown>).memoryMB = 100;
    (input.taskManager as Record<string, unknown>).instances = 0;
    (input.flinkConfiguration as Record<string, unknown>)['rest.port'] = 9999;
    input.colour = 'blue';
    expect(
      issuesOf(input)
        .map((issue) => issue.code)
        .sort(),
    ).toEqual([
      'below_minimum',
      'below_minimum',
      'fixed_setting',
      'unknown_field',
      'unsupported_version',
      'unsupported_zone',
    ]);
  });

  it('rejects an unsupported Flink version and lists the supported ones', () => {
    const [issue] = issuesOf({ ...validSpecInput(), flinkVersion: '1.17' });
    expect(issue).toMatchObject({ code: 'unsupported_version', path: 'flinkVersion', value: '1.17' });
    expect(issue!.rule).toBe('one of 1.18, 1.19, 1.20, 2.1, 2.2');
  });

  it('rejects a zone the platform does not offer', () => {
    expect(issuesOf({ ...validSpecInput(), zone: 'zone-z' })).toEqual([
      expect.objectContaining({ code: 'unsupported_zone', path: 'zone', value: 'zone-z' }),
    ]);
  });

  it('rejects a restore mode other than latest-state or clean', () => {
    expect(issuesOf({ ...validSpecInput(), restore: 'yesterday' })).toEqual([
      expect.objectContaining({ code: 'invalid_value', path: 'restore', value: 'yesterday' }),
    ]);
  });

  it('rejects a wrongly typed field, naming it', () => {
    const input = validSpecInput() as unknown as Record<string, Record<string, unknown>>;
    input.taskManager!.memoryMB = '4096';
    expect(issuesOf(input)).toEqual([
      expect.objectContaining({ code: 'invalid_type', path: 'taskManager.memoryMB', value: '4096', rule: 'a number' }),
    ]);
  });

  it('rejects unknown fields at any level', () => {
    const input = validSpecInput() as unknown as Record<string, Record<string, unknown>>;
    input.jobManager!.replicas = 2;
    expect(issuesOf(input)).toEqual([expect.objectContaining({ code: 'unknown_field', path: 'jobManager.replicas' })]);
  });

  it('rejects a body that is not an object', () => {
    expect(issuesOf([1, 2])).toEqual([expect.objectContaining({ code: 'invalid_type', path: '(body)' })]);
  });

  it('rejects a configuration value with a line break, which would add lines to flink-conf.yaml', () => {
    const input = validSpecInput();
    (input.flinkConfiguration as Record<string, string>)['pipeline.name'] =
      'x\nhigh-availability.zookeeper.quorum: evil:2181';
    expect(issuesOf(input)).toEqual([
      expect.objectContaining({ code: 'invalid_value', path: 'flinkConfiguration.pipeline.name' }),
    ]);
  });

  it('rejects a configuration key with characters Flink keys never have', () => {
    const input = validSpecInput();
    (input.flinkConfiguration as Record<string, string>)['rest.port: 1\nx'] = '1';
    expect(issuesOf(input)[0]).toMatchObject({ code: 'invalid_value' });
  });

  it('flattens nested YAML maps into dotted keys', () => {
    const result = validateClusterSpec(
      {
        flinkConfiguration: { pipeline: { name: 'orders', 'max-parallelism': 128 }, 'state.backend.incremental': true },
      },
      platform,
    );
    expect(result.ok && result.spec.flinkConfiguration).toEqual({
      'pipeline.name': 'orders',
      'pipeline.max-parallelism': 128,
      'state.backend.incremental': true,
    });
  });

  it('accepts tenant keys that share a name with an Object property, such as constructor', () => {
    const result = validateClusterSpec({ flinkConfiguration: { constructor: 'x', toString: 'y' } }, platform);
    expect(result.ok && result.spec.flinkConfiguration).toEqual({ constructor: 'x', toString: 'y' });
  });

  it('rejects a key given both flat and nested', () => {
    const issues = issuesOf({ flinkConfiguration: { 'pipeline.name': 'a', pipeline: { name: 'b' } } });
    expect(issues).toEqual([
      expect.objectContaining({ code: 'invalid_value', path: 'flinkConfiguration.pipeline.name' }),
    ]);
  });
});

describe('specError', () => {
  it('answers fixed_setting when every issue is a fixed setting', () => {
    const error = specError(issuesOf({ flinkConfiguration: { 'rest.port': 1 } }));
    expect(error.code).toBe('fixed_setting');
    expect(error.message).toContain('rest.port');
    expect(error.message).toContain('8081');
  });

  it('answers invalid_cluster_spec with every issue when any is not a fixed setting', () => {
    const error = specError(issuesOf({ taskManager: { memoryMB: 1 }, flinkConfiguration: { 'rest.port': 1 } }));
    expect(error.code).toBe('invalid_cluster_spec');
    expect(error.details.issues).toHaveLength(2);
  });
});
