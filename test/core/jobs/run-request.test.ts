import { describe, expect, it } from 'vitest';
import { isSnapshotPathIn, validateRunRequest } from '../../../functions/core/jobs/run-request.ts';

const BUCKET = 'flinkplane-acme';

/** The canonical valid run request: every field given. */
const valid = () => ({
  jarId: '0123456789abcdef',
  entryClass: 'flinkplane.testjobs.StatefulCounter',
  args: ['--keys', '4'],
  parallelism: 2,
  restoreFrom: `s3://${BUCKET}/savepoints/savepoint-abcdef-0123456789ab`,
  allowNonRestoredState: true,
});

describe('run request', () => {
  it('accepts the valid request as given', () => {
    expect(validateRunRequest(valid(), BUCKET)).toEqual({ ok: true, request: valid() });
  });

  it('fills the defaults of a request naming only the JAR', () => {
    expect(validateRunRequest({ jarId: '0123456789abcdef' }, BUCKET)).toEqual({
      ok: true,
      request: { jarId: '0123456789abcdef', args: [], allowNonRestoredState: false },
    });
  });

  it('accepts "latest" as the snapshot to restore from', () => {
    expect(validateRunRequest({ ...valid(), restoreFrom: 'latest' }, BUCKET)).toMatchObject({
      ok: true,
      request: { restoreFrom: 'latest' },
    });
  });

  it.each([
    ['jarId', { jarId: '../../etc' }],
    ['entryClass', { entryClass: 'not a class' }],
    ['parallelism', { parallelism: 0 }],
    ['parallelism', { parallelism: 1.5 }],
    ['restoreFrom', { restoreFrom: 's3://flinkplane-other/savepoints/savepoint-abcdef-0123456789ab' }],
    ['restoreFrom', { restoreFrom: `s3://${BUCKET}/../flinkplane-other/x` }],
    ['restoreFrom', { restoreFrom: `s3://${BUCKET}-evil/savepoints/x` }],
    ['restoreFrom', { restoreFrom: '/tmp/savepoint' }],
  ])('refuses a bad %s: %j', (path, change) => {
    const result = validateRunRequest({ ...valid(), ...change }, BUCKET);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((issue) => issue.path)).toEqual([path]);
  });

  it('reports every issue at once, and unknown fields by name', () => {
    const result = validateRunRequest({ ...valid(), jarId: 'x', parallelism: -1, savepoint: 'y' }, BUCKET);
    expect(result.ok).toBe(false);
    const bad = validateRunRequest({ ...valid(), jarId: 'x', parallelism: -1 }, BUCKET);
    expect(!bad.ok && bad.issues.map((issue) => issue.path).sort()).toEqual(['jarId', 'parallelism']);
    expect(!result.ok && result.issues).toEqual([
      expect.objectContaining({ code: 'unknown_field', path: 'savepoint' }),
    ]);
  });

  it('keeps a snapshot path inside the bucket', () => {
    expect(isSnapshotPathIn(`s3://${BUCKET}/acme-ha1/checkpoints/abc/chk-3`, BUCKET)).toBe(true);
    expect(isSnapshotPathIn(`s3://${BUCKET}/`, BUCKET)).toBe(false);
    expect(isSnapshotPathIn(`s3://${BUCKET}/a/./b`, BUCKET)).toBe(false);
  });
});
