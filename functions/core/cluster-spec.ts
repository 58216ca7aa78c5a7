import * as z from 'zod';
import { DEFAULT_FLINK_VERSION, FLINK_VERSIONS, findFlinkVersion } from './catalog.ts';
import type { Issue } from './errors.ts';
import { checkFixedSettings } from './fixed-settings.ts';
import { type FlinkConfigInput, type FlinkConfigValue, flattenFlinkConfiguration } from './flink-configuration.ts';
import type { PlatformSettings } from './platform.ts';
import { isMultipleOf, SIZING_FIELDS, type SizingField } from './sizing.ts';

// Values are checked key by key when flattening, which names the offending key in Flink's dotted form.
const FlinkConfigInputSchema = z.record(z.string(), z.unknown()) as unknown as z.ZodType<FlinkConfigInput>;

export const RESTORE_MODES = ['latest-state', 'clean'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

/** The shape of a deploy request; every field is optional and gets its default. */
export const ClusterSpecInputSchema = z
  .object({
    flinkVersion: z.string().describe('Flink version from the catalog, e.g. "1.20"').optional(),
    zone: z.string().describe('Zone where the pods are scheduled').optional(),
    jobManager: z
      .object({
        cpu: z.number().describe('JobManager CPU in cores').optional(),
        memoryMB: z.number().describe('JobManager memory in MB').optional(),
      })
      .strict()
      .optional(),
    taskManager: z
      .object({
        cpu: z.number().describe('CPU of each TaskManager in cores').optional(),
        memoryMB: z.number().describe('Memory of each TaskManager in MB').optional(),
        instances: z.number().describe('Number of TaskManagers').optional(),
      })
      .strict()
      .optional(),
    flinkConfiguration: FlinkConfigInputSchema.describe(
      "The tenant's own Flink configuration: flat dotted keys or nested maps",
    ).optional(),
    restore: z
      .enum(RESTORE_MODES)
      .describe('latest-state resumes jobs from their latest checkpoints; clean starts a new HA cluster id')
      .optional(),
  })
  .strict();

export type ClusterSpecInput = z.input<typeof ClusterSpecInputSchema>;

/** The effective spec: every default filled in, every rule met. */
export interface ClusterSpec {
  readonly flinkVersion: string;
  readonly zone: string;
  readonly jobManager: { readonly cpu: number; readonly memoryMB: number };
  readonly taskManager: { readonly cpu: number; readonly memoryMB: number; readonly instances: number };
  /** The tenant's keys, flattened to Flink's dotted form. */
  readonly flinkConfiguration: Readonly<Record<string, FlinkConfigValue>>;
  readonly restore: RestoreMode;
}

export type SpecValidation = { ok: true; spec: ClusterSpec } | { ok: false; issues: Issue[] };

/**
 * Validates a deploy request and fills in the defaults. Returns every issue found, never only the first, and never
 * raises a value to its minimum: a value under a minimum is an issue.
 */
export function validateClusterSpec(input: unknown, platform: PlatformSettings): SpecValidation {
  const body = input ?? {};
  const parsed = ClusterSpecInputSchema.safeParse(body, { reportInput: true });
  const issues: Issue[] = parsed.success ? [] : parsed.error.issues.flatMap(shapeIssue);
  // Domain rules run on whatever parts have the right shape, so one answer lists every problem.
  const request = isRecord(body) ? body : {};

  const flinkVersion = typeof request.flinkVersion === 'string' ? request.flinkVersion : DEFAULT_FLINK_VERSION;
  if (!findFlinkVersion(flinkVersion)) {
    const supported = FLINK_VERSIONS.map((entry) => entry.version).join(', ');
    issues.push({
      code: 'unsupported_version',
      path: 'flinkVersion',
      value: flinkVersion,
      rule: `one of ${supported}`,
      message: `flinkVersion "${flinkVersion}" is not offered; choose one of ${supported}`,
    });
  }
  const zone = typeof request.zone === 'string' ? request.zone : platform.zones[0]!;
  if (!platform.zones.includes(zone)) {
    issues.push({
      code: 'unsupported_zone',
      path: 'zone',
      value: zone,
      rule: `one of ${platform.zones.join(', ')}`,
      message: `zone "${zone}" is not offered; choose one of ${platform.zones.join(', ')}`,
    });
  }

  const sizes = new Map<string, number>();
  for (const field of SIZING_FIELDS) {
    const [group, key] = field.path.split('.') as [string, string];
    const section = request[group];
    const given = isRecord(section) ? section[key] : undefined;
    if (given !== undefined && typeof given !== 'number') continue;
    const value = given ?? field.default;
    issues.push(...checkSizing(field, value, platform));
    sizes.set(field.path, value);
  }

  const configuration = isRecord(request.flinkConfiguration) ? (request.flinkConfiguration as FlinkConfigInput) : {};
  const { flat, issues: configIssues } = flattenFlinkConfiguration(configuration);
  issues.push(...configIssues, ...checkFixedSettings(flat));

  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return {
    ok: true,
    spec: {
      flinkVersion,
      zone,
      jobManager: { cpu: sizes.get('jobManager.cpu')!, memoryMB: sizes.get('jobManager.memoryMB')! },
      taskManager: {
        cpu: sizes.get('taskManager.cpu')!,
        memoryMB: sizes.get('taskManager.memoryMB')!,
        instances: sizes.get('taskManager.instances')!,
      },
      flinkConfiguration: flat,
      restore: parsed.data.restore ?? 'latest-state',
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkSizing(field: SizingField, value: number, platform: PlatformSettings): Issue[] {
  const issues: Issue[] = [];
  const unit = field.unit === 'pods' ? '' : ` ${field.unit}`;
  if (!Number.isFinite(value)) {
    return [
      {
        code: 'invalid_type',
        path: field.path,
        value,
        rule: 'a finite number',
        message: `${field.path} must be a finite number`,
      },
    ];
  }
  if (value < field.minimum) {
    issues.push({
      code: 'below_minimum',
      path: field.path,
      value,
      rule: `minimum ${field.minimum}${unit}`,
      limit: field.minimum,
      message: `${field.path} is ${value}${unit}; the minimum is ${field.minimum}${unit}`,
    });
  }
  const maximum = field.maximum(platform);
  if (value > maximum) {
    issues.push({
      code: 'above_maximum',
      path: field.path,
      value,
      rule: `maximum ${maximum}${unit} (platform quota)`,
      limit: maximum,
      message: `${field.path} is ${value}${unit}; the platform quota allows at most ${maximum}${unit}`,
    });
  }
  if (!isMultipleOf(value, field.step)) {
    const rule = field.step === 1 ? 'a whole number' : `a multiple of ${field.step} (whole millicores)`;
    issues.push({
      code: 'not_a_multiple',
      path: field.path,
      value,
      rule,
      limit: field.step,
      message: `${field.path} is ${value}; it must be ${rule}`,
    });
  }
  return issues;
}

function shapeIssue(issue: z.core.$ZodIssue): Issue[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const field = path ? `${path}.${key}` : key;
      return {
        code: 'unknown_field' as const,
        path: field,
        value: key,
        rule: 'a field of the cluster spec',
        message: `${field} is not a field of the cluster spec`,
      };
    });
  }
  const field = path || '(body)';
  if (issue.code === 'invalid_type') {
    return [
      {
        code: 'invalid_type',
        path: field,
        value: issue.input,
        rule: `a ${issue.expected}`,
        message: `${field} must be a ${issue.expected}`,
      },
    ];
  }
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map(String).join(', ');
    return [
      {
        code: 'invalid_value',
        path: field,
        value: issue.input,
        rule: `one of ${allowed}`,
        message: `${field} must be one of ${allowed}`,
      },
    ];
  }
  return [
    {
      code: 'invalid_value',
      path: field,
      value: issue.input,
      rule: issue.message,
      message: `${field}: ${issue.message}`,
    },
  ];
}

/**
 * Orders two catalog versions (`major.minor`) numerically: negative when `a` is older, so 1.20 > 1.18 and
 * 2.2 > 1.20, which comparing the strings gets wrong.
 */
export function compareFlinkVersions(a: string, b: string): number {
  const parts = (version: string) => version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [left, right] = [parts(a), parts(b)];
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Applies a JSON merge patch (RFC 7396) to the current spec and answers the request to validate: a field the patch
 * names replaces the current one, `null` removes it (so it gets its default), a field it leaves out stays. Flink keys
 * merge key by key in their dotted form, whether the patch writes them flat or nested. `restore` is never carried
 * over: a clean start is asked for by naming it. A patch that is not an object is an issue, not a replacement.
 */
export function mergeClusterSpecPatch(
  current: ClusterSpec,
  patch: unknown,
): { ok: true; request: Record<string, unknown> } | { ok: false; issues: Issue[] } {
  if (!isRecord(patch)) {
    const message = 'the merge patch must be a JSON object naming the fields to change';
    return { ok: false, issues: [{ code: 'invalid_type', path: '', value: patch, rule: 'an object', message }] };
  }
  const { restore: _restore, flinkConfiguration, ...rest } = current;
  const base: Record<string, unknown> = { ...structuredClone(rest) };
  const { flinkConfiguration: configPatch, ...restPatch } = patch;
  const request = mergePatch(base, restPatch) as Record<string, unknown>;
  const configuration = isRecord(configPatch)
    ? mergeFlatConfiguration(flinkConfiguration, configPatch)
    : configPatch === undefined
      ? { ...flinkConfiguration }
      : configPatch;
  if (configuration !== null) request.flinkConfiguration = configuration;
  return { ok: true, request };
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  // No prototype: a patch key such as `__proto__` must stay a key, never reach Object's own properties.
  const result: Record<string, unknown> = Object.assign(Object.create(null), isRecord(target) ? target : {});
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function mergeFlatConfiguration(
  current: Readonly<Record<string, FlinkConfigValue>>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = Object.assign(Object.create(null), current);
  const visit = (node: Record<string, unknown>, prefix: string) => {
    for (const [rawKey, value] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${rawKey.trim()}` : rawKey.trim();
      if (isRecord(value)) visit(value, key);
      else if (value === null) delete result[key];
      else result[key] = value;
    }
  };
  visit(patch, '');
  return result;
}
