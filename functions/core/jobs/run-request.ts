/** The shape and the rules of a job run request, checked before anything is asked of Flink. */
import * as z from 'zod';
import type { Issue } from '../errors.ts';
import { isJarId } from './limits.ts';

/** The largest parallelism a run may ask for; Flink's own maximum parallelism default. */
export const MAX_PARALLELISM = 32_768;

export const RunJobInputSchema = z
  .object({
    jarId: z.string().describe('A JAR of the tenant (`GET …/jars`)'),
    entryClass: z.string().describe("The job's main class; default the JAR manifest's Main-Class").optional(),
    args: z.array(z.string()).describe('Program arguments').optional(),
    parallelism: z.number().describe("Parallelism; default the cluster's parallelism.default").optional(),
    restoreFrom: z
      .string()
      .describe(
        'A savepoint or retained checkpoint path in the tenant bucket (s3://<bucket>/…), or "latest": the newest one of jobs run with the same entry class',
      )
      .optional(),
    allowNonRestoredState: z.boolean().describe('Skip snapshot state no operator of the job claims').optional(),
  })
  .strict();

export type RunJobInput = z.input<typeof RunJobInputSchema>;

/** A checked run request. `restoreFrom` is still "latest" or a path; the job service resolves "latest". */
export interface RunJobRequest {
  readonly jarId: string;
  readonly entryClass?: string;
  readonly args: readonly string[];
  readonly parallelism?: number;
  readonly restoreFrom?: string;
  readonly allowNonRestoredState: boolean;
}

const ENTRY_CLASS = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;

/** Checks a run request for the tenant whose bucket is `bucket`; answers every issue found, not only the first. */
export function validateRunRequest(
  body: unknown,
  bucket: string,
): { ok: true; request: RunJobRequest } | { ok: false; issues: Issue[] } {
  const parsed = RunJobInputSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => {
        const path = issue.path.join('.');
        const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
        return {
          code: unknownKeys ? 'unknown_field' : issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value',
          path: unknownKeys ? unknownKeys.join(',') : path,
          value: undefined,
          rule: issue.message,
          message: unknownKeys ? `unknown field(s) ${unknownKeys.join(', ')}` : `${path || 'body'}: ${issue.message}`,
        } satisfies Issue;
      }),
    };
  }
  const input = parsed.data;
  const issues: Issue[] = [];
  const invalid = (path: string, value: unknown, rule: string, message: string) =>
    issues.push({ code: 'invalid_value', path, value, rule, message });
  if (!isJarId(input.jarId)) {
    invalid('jarId', input.jarId, '16 hex digits', `jarId "${input.jarId}" is not a JAR id (16 hex digits)`);
  }
  if (input.entryClass !== undefined && !ENTRY_CLASS.test(input.entryClass)) {
    invalid(
      'entryClass',
      input.entryClass,
      'a Java class name',
      `entryClass "${input.entryClass}" is not a class name`,
    );
  }
  if (
    input.parallelism !== undefined &&
    (!Number.isInteger(input.parallelism) || input.parallelism < 1 || input.parallelism > MAX_PARALLELISM)
  ) {
    issues.push({
      code: input.parallelism < 1 ? 'below_minimum' : 'above_maximum',
      path: 'parallelism',
      value: input.parallelism,
      rule: `an integer from 1 to ${MAX_PARALLELISM}`,
      limit: input.parallelism < 1 ? 1 : MAX_PARALLELISM,
      message: `parallelism must be an integer from 1 to ${MAX_PARALLELISM}`,
    });
  }
  const restore = input.restoreFrom;
  if (restore !== undefined && restore !== 'latest' && !isSnapshotPathIn(restore, bucket)) {
    // Another tenant's bucket is refused here too: a path is only ever resolved inside the caller's own bucket.
    invalid(
      'restoreFrom',
      restore,
      `"latest" or a path under s3://${bucket}/`,
      `restoreFrom must be "latest" or a savepoint or checkpoint path under s3://${bucket}/`,
    );
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    request: {
      jarId: input.jarId,
      args: input.args ?? [],
      allowNonRestoredState: input.allowNonRestoredState ?? false,
      ...(input.entryClass === undefined ? {} : { entryClass: input.entryClass }),
      ...(input.parallelism === undefined ? {} : { parallelism: input.parallelism }),
      ...(restore === undefined ? {} : { restoreFrom: restore }),
    },
  };
}

/** True for `s3://<bucket>/<key>` with no `.` or `..` segment that could step out of the bucket's key space. */
export function isSnapshotPathIn(path: string, bucket: string): boolean {
  const prefix = `s3://${bucket}/`;
  if (!path.startsWith(prefix) || path.length === prefix.length) return false;
  const segments = path.slice(prefix.length).split('/');
  return segments.every((segment) => segment !== '.' && segment !== '..') && !/[\s\\?#]/.test(path);
}
