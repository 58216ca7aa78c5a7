import { FlinkplaneError } from '../core/errors.ts';

/** Errors (by `code` or `name`) that mean an AWS service did not answer at all, after the SDK's own retries. */
const NO_ANSWER = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TimeoutError',
  'RequestTimeout',
]);

export interface NoAnswerRules {
  /** Error names that mean "too many requests" for this service, e.g. `SlowDown` or `ThrottlingException`. */
  readonly throttled: ReadonlySet<string>;
  /** 5xx statuses that are answers, not outages (S3-compatible stores' 501 `NotImplemented`). */
  readonly answeredStatuses?: ReadonlySet<number>;
}

/** Whether an AWS SDK error means the service did not answer: a network failure, a timeout, a 5xx or throttling. */
export function isNoAnswer(error: unknown, rules: NoAnswerRules): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: unknown }).code;
  if (status !== undefined) {
    return (status >= 500 && !rules.answeredStatuses?.has(status)) || rules.throttled.has(error.name);
  }
  return NO_ANSWER.has(error.name) || (typeof code === 'string' && NO_ANSWER.has(code));
}

/**
 * A client's `send` that turns "the service did not answer" into `dependency_unavailable` (503, retryable), so a
 * store outage is never answered as a 500; every other error passes through unchanged.
 */
export function sendOrUnavailable<Send extends (command: never) => Promise<unknown>>(
  send: Send,
  service: { name: string; dependency: string; rules: NoAnswerRules },
): Send {
  return (async (command: never) => {
    try {
      return await send(command);
    } catch (error) {
      if (!isNoAnswer(error, service.rules)) throw error;
      const name = error instanceof Error ? error.name : 'Error';
      throw new FlinkplaneError(
        'dependency_unavailable',
        `${service.name} did not answer (${name}); retry`,
        { dependency: service.dependency },
        { cause: error },
      );
    }
  }) as Send;
}
