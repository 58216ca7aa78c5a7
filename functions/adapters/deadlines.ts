/**
 * How long each outbound call may take, all derived from one figure: the Lambda's own timeout. A dependency that
 * accepts a connection and never answers then costs at most a third of the Lambda's time, retries included, which
 * leaves the rest for the calls before it, recording the failure (and releasing the lease) and answering 503.
 *
 * | Dependency                          | Per attempt                         | Attempts | API Lambda (29 s)   |
 * | ----------------------------------- | ----------------------------------- | -------- | ------------------- |
 * | AWS SDK: DynamoDB, S3, EKS, Secrets | connect ⅓ + answer ⅔ of budget / 3  | 3        | 1 074 + 2 148 ms    |
 * | Kubernetes API (applier)            | (budget − back-off) / 3             | 3        | 3 147 ms            |
 * | ZooKeeper session / each request    | budget / 3 each                     | 1        | 3 222 ms / 3 222 ms |
 * | ZooKeeper tunnel: pod list, forward | budget / 6 each                     | 1        | 1 611 ms            |
 *
 * No attempt is given more than 10 s, however long the Lambda may run (the reconciler's 2 minutes, the custom
 * resource's 15): a dependency silent for 10 s is down, and waiting longer only delays the 503 and the re-drive.
 */
export type DependencyDeadlines = {
  /** The whole time one dependency call may take, retries included: a third of the Lambda's timeout. */
  readonly budgetMs: number;
  /** Every AWS SDK client: DynamoDB, S3, EKS (DescribeCluster, Pod Identity), Secrets Manager. */
  readonly aws: {
    readonly connectionTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly maxAttempts: number;
  };
  /** The Kubernetes applier: each API request, and how often a request that may pass is tried. */
  readonly kubernetes: { readonly requestTimeoutMs: number; readonly attempts: number; readonly backoffMs: number };
  /** ZooKeeper: the first session, and each request after it. */
  readonly zookeeper: { readonly connectTimeoutMs: number; readonly requestTimeoutMs: number };
  /** The ZooKeeper tunnel's Kubernetes calls: one pod list, one port-forward handshake. */
  readonly tunnel: { readonly apiTimeoutMs: number };
};

const MAX_ATTEMPT_MS = 10_000;
const AWS_ATTEMPTS = 3;
const KUBERNETES_ATTEMPTS = 3;
const KUBERNETES_BACKOFF_MS = 50;

/** The deadlines for a Lambda (or a local process, or a test) that may run `timeoutMs` in all. */
export function dependencyDeadlines(timeoutMs: number): DependencyDeadlines {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 300) {
    throw new Error(`A timeout of ${timeoutMs} ms leaves no time for any dependency`);
  }
  const budgetMs = Math.floor(timeoutMs / 3);
  const attempt = (share: number) => Math.min(MAX_ATTEMPT_MS, Math.floor(share));
  const awsAttemptMs = attempt(budgetMs / AWS_ATTEMPTS);
  const connectionTimeoutMs = Math.floor(awsAttemptMs / 3);
  // The back-off before the second and third attempts: 1 and 2 times the base, at most 1.5 times with the jitter.
  const backoffMs = 1.5 * KUBERNETES_BACKOFF_MS * (1 + 2);
  return {
    budgetMs,
    aws: { connectionTimeoutMs, requestTimeoutMs: awsAttemptMs - connectionTimeoutMs, maxAttempts: AWS_ATTEMPTS },
    kubernetes: {
      requestTimeoutMs: attempt((budgetMs - backoffMs) / KUBERNETES_ATTEMPTS),
      attempts: KUBERNETES_ATTEMPTS,
      backoffMs: KUBERNETES_BACKOFF_MS,
    },
    zookeeper: { connectTimeoutMs: attempt(budgetMs / 3), requestTimeoutMs: attempt(budgetMs / 3) },
    tunnel: { apiTimeoutMs: attempt(budgetMs / 6) },
  };
}

/** SDK client settings that hold an AWS call to its deadline: per attempt, and the number of attempts. */
export function awsClientTimeouts(deadlines: DependencyDeadlines) {
  const { connectionTimeoutMs, requestTimeoutMs, maxAttempts } = deadlines.aws;
  return {
    // Without throwOnRequestTimeout, @smithy/node-http-handler 4 only logs a warning when requestTimeout passes and
    // waits on: a silent peer then holds the call until the Lambda times out.
    requestHandler: {
      connectionTimeout: connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    maxAttempts,
  };
}
