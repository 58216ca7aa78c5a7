import { parsePlatformSettings } from '../../functions/core/platform.ts';

/** The canonical valid deploy request: every field given, every value valid. */
export function validSpecInput() {
  return {
    flinkVersion: '1.20',
    zone: 'zone-a',
    jobManager: { cpu: 0.5, memoryMB: 2048 },
    taskManager: { cpu: 1, memoryMB: 4096, instances: 3 },
    flinkConfiguration: { 'execution.checkpointing.interval': '30 s', 'pipeline.name': 'orders' },
    restore: 'latest-state' as const,
  };
}

export const platform = parsePlatformSettings({ domain: 'flink.example.com' });
