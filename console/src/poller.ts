export interface Poller {
  start(): void;
  stop(): void;
  /** Runs the task now (and restarts the interval), e.g. right after an action. */
  refresh(): Promise<void>;
}

/**
 * Runs a task every `intervalMs` while the tab is visible; a hidden tab polls nothing and catches up the moment it
 * is shown again. Runs never overlap: the next one is scheduled when the previous one ends.
 */
export function createPoller(task: () => Promise<void>, intervalMs: number): Poller {
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;

  const schedule = () => {
    clearTimeout(timer);
    timer = undefined;
    if (running && document.visibilityState === 'visible') timer = setTimeout(() => void run(), intervalMs);
  };
  const run = async () => {
    if (inFlight) return inFlight;
    clearTimeout(timer);
    inFlight = task()
      .catch(() => undefined)
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
    return inFlight;
  };
  const onVisibility = () => {
    if (!running) return;
    if (document.visibilityState === 'visible') void run();
    else clearTimeout(timer);
  };

  return {
    start() {
      if (running) return;
      running = true;
      document.addEventListener('visibilitychange', onVisibility);
      void run();
    },
    stop() {
      running = false;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
    refresh: run,
  };
}
