import { awsControlPlane, logger } from './aws-composition.ts';

/** Runs on the EventBridge schedule (and on demand): refreshes every cluster's status and re-drives crashed operations. */
export async function handler(): Promise<{ checked: number; changed: number; redriven: number; failed: number }> {
  const summary = await (await awsControlPlane()).reconcile({ concurrency: 16 });
  logger.info('reconciled', { ...summary });
  return summary;
}
