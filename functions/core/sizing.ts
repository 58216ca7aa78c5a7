import type { PlatformSettings } from './platform.ts';

/** A sizing field of the cluster spec with its default, minimum and the platform quota that bounds it. */
export interface SizingField {
  readonly path:
    | 'jobManager.cpu'
    | 'jobManager.memoryMB'
    | 'taskManager.cpu'
    | 'taskManager.memoryMB'
    | 'taskManager.instances';
  readonly label: string;
  readonly unit: 'cores' | 'MB' | 'pods';
  readonly default: number;
  readonly minimum: number;
  /** CPU is whole millicores, memory whole megabytes, instances whole pods. */
  readonly step: number;
  readonly maximum: (platform: PlatformSettings) => number;
}

/** Defaults and minimums of the reference; the one table the validator, the API, the console and the README read. */
export const SIZING_FIELDS: readonly SizingField[] = [
  {
    path: 'jobManager.cpu',
    label: 'JobManager CPU',
    unit: 'cores',
    default: 0.3,
    minimum: 0.3,
    step: 0.001,
    maximum: (platform) => platform.quota.jobManager.maxCpu,
  },
  {
    path: 'jobManager.memoryMB',
    label: 'JobManager memory',
    unit: 'MB',
    default: 1024,
    minimum: 1024,
    step: 1,
    maximum: (platform) => platform.quota.jobManager.maxMemoryMB,
  },
  {
    path: 'taskManager.cpu',
    label: 'TaskManager CPU (each)',
    unit: 'cores',
    default: 0.3,
    minimum: 0.3,
    step: 0.001,
    maximum: (platform) => platform.quota.taskManager.maxCpu,
  },
  {
    path: 'taskManager.memoryMB',
    label: 'TaskManager memory (each)',
    unit: 'MB',
    default: 3072,
    minimum: 1024,
    step: 1,
    maximum: (platform) => platform.quota.taskManager.maxMemoryMB,
  },
  {
    path: 'taskManager.instances',
    label: 'TaskManager instances',
    unit: 'pods',
    default: 2,
    minimum: 1,
    step: 1,
    maximum: (platform) => platform.quota.taskManager.maxInstances,
  },
];

/** Sizes the tenant cannot change. */
export const FIXED_SIZES = {
  zookeeperProxy: { cpu: 0.1, memoryMB: 1024 },
  jarVolumeGiB: 20,
} as const;

/** Whether `value` is a whole number of `step`s (tolerating binary floating point). */
export function isMultipleOf(value: number, step: number): boolean {
  const units = value / step;
  return Math.abs(units - Math.round(units)) < 1e-6;
}
