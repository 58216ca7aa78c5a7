export type { ApiResponse, RequestOptions } from '../../support/local-api.ts';
export { createApiClient } from '../../support/local-api.ts';

/** Runs the reconciler every `periodMs` until stopped, as the local server and the scheduled Lambda do. */
export function startReconcileLoop(reconcile: () => Promise<unknown>, periodMs: number): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // A sweep that fails (a store fault) is retried on the next period, as in production.
      await reconcile().catch(() => undefined);
      await sleep(periodMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
