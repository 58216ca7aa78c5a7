import { describe, expect, it } from 'vitest';
import { FlinkplaneError } from '../../../functions/core/errors.ts';
import {
  checkDeletion,
  effectiveRetention,
  judgeRestorable,
  planRetention,
  type SnapshotEntry,
  SnapshotRetentionSettingsSchema,
  validateRetention,
} from '../../../functions/core/jobs/ledger.ts';
import type { SnapshotMetadata } from '../../../functions/core/jobs/ledger-ports.ts';

const NOW = new Date('2025-06-30T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const SETTINGS = SnapshotRetentionSettingsSchema.parse({});
const POLICY = { maxCount: 3, maxAgeDays: 7 };

/** A restorable savepoint of job `a` taken `daysAgo` days before NOW; the canonical fixture. */
function entry(id: string, daysAgo: number, change: Partial<SnapshotEntry> = {}): SnapshotEntry {
  return {
    id,
    kind: 'savepoint',
    jobId: 'a',
    takenAt: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
    bytes: 1024,
    path: `s3://flinkplane-acme/savepoints/${id}`,
    restorability: { restorable: true },
    ...change,
  };
}

const broken = { restorability: { restorable: false, reason: 'missing s3://flinkplane-acme/x' } } as const;

function deleted(entries: SnapshotEntry[], running?: Set<string>): string[] {
  return planRetention(entries, POLICY, NOW, running)
    .filter((decision) => decision.action === 'delete')
    .map((decision) => decision.entry.id)
    .sort();
}

describe('retention', () => {
  it('deletes the snapshots of a job beyond its maxCount newest', () => {
    const entries = [entry('s1', 5), entry('s2', 4), entry('s3', 3), entry('s4', 2), entry('s5', 1)];
    expect(deleted(entries)).toEqual(['s1', 's2']);
  });

  it('counts maxCount per job', () => {
    const entries = [entry('a1', 3), entry('a2', 2), entry('a3', 1), entry('b1', 4, { jobId: 'b' })];
    expect(deleted(entries)).toEqual([]);
  });

  it('deletes snapshots older than maxAgeDays even within maxCount', () => {
    const entries = [entry('old', 8), entry('new', 1)];
    const decisions = planRetention(entries, POLICY, NOW);
    expect(decisions.find((d) => d.entry.id === 'old')).toMatchObject({ action: 'delete', reason: 'over_max_age' });
    expect(decisions.find((d) => d.entry.id === 'new')).toMatchObject({ action: 'keep', reason: 'newest_restorable' });
  });

  it('never deletes the newest restorable snapshot of a job, however old and however ranked', () => {
    // The three newest are broken; the restorable one is fourth and 60 days old.
    const entries = [entry('good', 60), entry('b1', 3, broken), entry('b2', 2, broken), entry('b3', 1, broken)];
    const decisions = planRetention(entries, POLICY, NOW);
    expect(decisions.find((d) => d.entry.id === 'good')).toMatchObject({ action: 'keep', reason: 'newest_restorable' });
    expect(deleted(entries)).toEqual([]);
  });

  it('deletes older restorable snapshots once a newer one is restorable', () => {
    const entries = [entry('older', 60), entry('newer', 1)];
    expect(deleted(entries)).toEqual(['older']);
  });

  it('keeps a snapshot not yet checked, since its verdict might make it the newest restorable', () => {
    const entries = [entry('unchecked', 30, { restorability: undefined }), entry('b1', 1, broken)];
    const decisions = planRetention(entries, POLICY, NOW);
    expect(decisions.find((d) => d.entry.id === 'unchecked')).toMatchObject({ action: 'keep', reason: 'not_checked' });
  });

  it('leaves the retained checkpoints of a running job to Flink, but not its savepoints', () => {
    const entries = [entry('chk-old', 30, { kind: 'checkpoint' }), entry('sp-old', 30), entry('sp-new', 1)];
    expect(deleted(entries, new Set(['a']))).toEqual(['sp-old']);
    expect(deleted(entries)).toEqual(['chk-old', 'sp-old']);
  });
});

describe('retention settings', () => {
  it('fills what a tenant omits from the platform default', () => {
    expect(effectiveRetention({ maxCount: 5 }, SETTINGS)).toEqual({ maxCount: 5, maxAgeDays: 30 });
    expect(effectiveRetention({}, SETTINGS)).toEqual(SETTINGS.default);
  });

  it('refuses a setting above the platform maximum, naming field, value and rule', () => {
    const settings = SnapshotRetentionSettingsSchema.parse({ maximum: { maxCount: 20, maxAgeDays: 90 } });
    const error = (() => {
      try {
        effectiveRetention({ maxCount: 21, maxAgeDays: 90 }, settings);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FlinkplaneError);
    expect((error as FlinkplaneError).code).toBe('invalid_request');
    expect((error as FlinkplaneError).message).toContain(
      'snapshotRetention.maxCount is 21; the platform allows at most 20',
    );
    expect((error as FlinkplaneError).details.issues).toEqual([
      expect.objectContaining({
        code: 'above_maximum',
        path: 'snapshotRetention.maxCount',
        value: 21,
        rule: 'platform maximum 20',
        limit: 20,
      }),
    ]);
  });

  it('reports every broken field, not only the first', () => {
    const issues = validateRetention({ maxCount: 0, maxAgeDays: 1000 }, SETTINGS);
    expect(issues.map((issue) => [issue.path, issue.code])).toEqual([
      ['snapshotRetention.maxCount', 'below_minimum'],
      ['snapshotRetention.maxAgeDays', 'above_maximum'],
    ]);
  });

  it('refuses platform settings whose default exceeds the maximum', () => {
    const parsed = SnapshotRetentionSettingsSchema.safeParse({
      default: { maxCount: 50, maxAgeDays: 30 },
      maximum: { maxCount: 20, maxAgeDays: 365 },
    });
    expect(parsed.success).toBe(false);
  });
});

describe('deleting one snapshot', () => {
  const entries = [entry('older', 2), entry('newest', 1), entry('broken', 0, broken)];

  it('refuses to delete the newest restorable snapshot of its job', () => {
    expect(() => checkDeletion(entries, 'newest')).toThrow(
      expect.objectContaining({ code: 'conflict', details: expect.objectContaining({ id: 'newest', jobId: 'a' }) }),
    );
  });

  it('allows an older or broken snapshot', () => {
    expect(checkDeletion(entries, 'older').id).toBe('older');
    expect(checkDeletion(entries, 'broken').id).toBe('broken');
  });

  it('answers not_found for an id the ledger lacks', () => {
    expect(() => checkDeletion(entries, 'nope')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

describe('the restorable verdict', () => {
  const dir = 's3://flinkplane-acme/savepoints/savepoint-1';
  const metadata: SnapshotMetadata = {
    flinkVersion: '2.2.0',
    checkpointId: 3,
    operators: [],
    files: [
      { path: `${dir}/f1`, bytes: 100, relative: true },
      { path: `${dir}/f2`, bytes: 200, relative: true },
    ],
    stateBytes: 316,
    fileBytes: 300,
    inlineBytes: 16,
    unknownHandles: [],
  };
  const present = new Map([
    [`${dir}/f1`, 100],
    [`${dir}/f2`, 200],
  ]);

  it('is restorable when every referenced file is present', () => {
    expect(judgeRestorable(metadata, present)).toEqual({ restorable: true });
  });

  it('names a missing file', () => {
    const sizes = new Map(present);
    sizes.delete(`${dir}/f2`);
    expect(judgeRestorable(metadata, sizes)).toEqual({
      restorable: false,
      reason: `missing ${dir}/f2`,
      missing: [`${dir}/f2`],
    });
  });

  it('names a file shorter than the metadata expects', () => {
    const sizes = new Map(present).set(`${dir}/f1`, 10);
    expect(judgeRestorable(metadata, sizes)).toMatchObject({
      restorable: false,
      reason: `truncated ${dir}/f1: 10 bytes, the metadata expects 100`,
    });
  });

  it('is not restorable when the inspector met a state handle it cannot follow', () => {
    const verdict = judgeRestorable({ ...metadata, unknownHandles: ['com.example.Handle'] }, present);
    expect(verdict).toMatchObject({ restorable: false, reason: expect.stringContaining('com.example.Handle') });
  });
});
