import { describe, expect, it } from 'vitest';
import {
  cancelOperation,
  jobSummaries,
  jobView,
  operationId,
  parseOperationId,
  savepointOperation,
} from '../../../functions/core/jobs/job-view.ts';
import { latestSnapshot } from '../../../functions/core/jobs/snapshots.ts';

const JOB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const TRIGGER = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

// Trimmed answers of Flink 1.20's REST API, field names as Flink sends them.
const details = {
  jid: JOB,
  name: 'counter',
  state: 'RUNNING',
  'start-time': 1_767_225_600_000,
  'end-time': -1,
  duration: 90_000,
};
const checkpoints = {
  counts: { completed: 3 },
  latest: {
    completed: {
      id: 3,
      status: 'COMPLETED',
      is_savepoint: false,
      latest_ack_timestamp: 1_767_225_690_000,
      state_size: 2048,
      checkpointed_size: 512,
      external_path: 's3://flinkplane-acme/acme-ha1/checkpoints/x/chk-3',
    },
    restored: { id: 7, is_savepoint: true, external_path: 's3://flinkplane-acme/savepoints/savepoint-a1b2c3-1' },
  },
};
const exceptions = {
  exceptionHistory: {
    entries: [
      {
        exceptionName: 'java.lang.RuntimeException',
        stacktrace: 'java.lang.RuntimeException: boom\n\tat x.y(Z.java:1)',
        timestamp: 1_767_225_650_000,
        taskName: 'counter (1/1)',
      },
    ],
  },
};

describe('job views', () => {
  it('reads a job with its last checkpoint, what it was restored from, restarts and latest exceptions', () => {
    expect(jobView({ details, checkpoints, exceptions, restarts: 2 })).toEqual({
      jobId: JOB,
      name: 'counter',
      state: 'RUNNING',
      startTime: '2026-01-01T00:00:00.000Z',
      durationMs: 90_000,
      restarts: 2,
      lastCheckpoint: {
        id: 3,
        time: '2026-01-01T00:01:30.000Z',
        bytes: 2048,
        path: 's3://flinkplane-acme/acme-ha1/checkpoints/x/chk-3',
        savepoint: false,
      },
      restoredFrom: 's3://flinkplane-acme/savepoints/savepoint-a1b2c3-1',
      exceptions: [
        {
          time: '2026-01-01T00:00:50.000Z',
          name: 'java.lang.RuntimeException',
          message: 'java.lang.RuntimeException: boom',
          task: 'counter (1/1)',
        },
      ],
    });
  });

  it('takes "restored from" from the run record until Flink reports a restore', () => {
    const run = {
      jobId: JOB,
      jarId: '0123456789abcdef',
      jarName: 'job.jar',
      args: [],
      allowNonRestoredState: false,
      submittedAt: '2026-01-01T00:00:00.000Z',
      restoreFrom: 's3://flinkplane-acme/savepoints/savepoint-a1b2c3-9',
    };
    const view = jobView({ details, checkpoints: { latest: { completed: null, restored: null } }, run });
    expect(view.restoredFrom).toBe(run.restoreFrom);
    expect(view.lastCheckpoint).toBeUndefined();
  });

  it('lists jobs newest first', () => {
    const older = { ...details, jid: 'b'.repeat(32), 'start-time': 1_700_000_000_000 };
    expect(jobSummaries({ jobs: [older, details] }).map((job) => job.jobId)).toEqual([JOB, 'b'.repeat(32)]);
  });
});

describe('job operations', () => {
  it('round-trips operation ids and refuses anything else', () => {
    expect(parseOperationId(operationId('stop', JOB, TRIGGER))).toEqual({
      kind: 'stop',
      jobId: JOB,
      triggerId: TRIGGER,
    });
    expect(parseOperationId(operationId('cancel', JOB))).toEqual({ kind: 'cancel', jobId: JOB });
    for (const bad of [
      `cancel-${JOB}-${TRIGGER}`,
      `savepoint-${JOB}`,
      `drop-${JOB}-${TRIGGER}`,
      `stop-${JOB}-../x`,
      '',
    ]) {
      expect(parseOperationId(bad), bad).toBeUndefined();
    }
  });

  it('reads a savepoint in progress, completed with its location, and failed with the exception lines', () => {
    const id = operationId('savepoint', JOB, TRIGGER);
    expect(savepointOperation(id, 'savepoint', JOB, { status: { id: 'IN_PROGRESS' }, operation: null }).status).toBe(
      'IN_PROGRESS',
    );
    expect(
      savepointOperation(id, 'savepoint', JOB, {
        status: { id: 'COMPLETED' },
        operation: { location: 's3://flinkplane-acme/savepoints/savepoint-a1b2c3-1' },
      }),
    ).toMatchObject({ status: 'SUCCEEDED', savepointPath: 's3://flinkplane-acme/savepoints/savepoint-a1b2c3-1' });
    const failed = savepointOperation(id, 'stop', JOB, {
      status: { id: 'COMPLETED' },
      operation: {
        'failure-cause': {
          class: 'java.util.concurrent.CompletionException',
          'stack-trace':
            'java.util.concurrent.CompletionException: x\n\tat a.b(C.java:1)\nCaused by: Checkpoint declined\n\t... 5 more',
        },
      },
    });
    expect(failed).toMatchObject({
      status: 'FAILED',
      failure: 'java.util.concurrent.CompletionException: x\nCaused by: Checkpoint declined',
    });
  });

  it('reads a cancel from the job state', () => {
    const id = operationId('cancel', JOB);
    expect(cancelOperation(id, JOB, 'CANCELLING').status).toBe('IN_PROGRESS');
    expect(cancelOperation(id, JOB, 'CANCELED').status).toBe('SUCCEEDED');
    expect(cancelOperation(id, JOB, 'FINISHED')).toMatchObject({ status: 'FAILED' });
  });
});

describe('latest snapshot', () => {
  const other = 'ffffff00000000000000000000000000';
  const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
  const objects = [
    { key: `acme-ha1/checkpoints/${JOB}/chk-4/_metadata`, bytes: 1, lastModified: at(10) },
    { key: `acme-ha1/checkpoints/${JOB}/chk-4/0b1c-state`, bytes: 1, lastModified: at(40) },
    { key: 'savepoints/savepoint-a1b2c3-0123456789ab/_metadata', bytes: 1, lastModified: at(20) },
    { key: `acme-ha2/checkpoints/${other}/chk-9/_metadata`, bytes: 1, lastModified: at(50) },
    { key: 'savepoints/savepoint-ffffff-0123456789ab/_metadata', bytes: 1, lastModified: at(55) },
  ];

  it('picks the newest completed snapshot of the given jobs, savepoint or checkpoint', () => {
    expect(latestSnapshot('flinkplane-acme', objects, [JOB])).toBe(
      's3://flinkplane-acme/savepoints/savepoint-a1b2c3-0123456789ab',
    );
    expect(latestSnapshot('flinkplane-acme', objects.slice(0, 2), [JOB])).toBe(
      `s3://flinkplane-acme/acme-ha1/checkpoints/${JOB}/chk-4`,
    );
  });

  it('ignores snapshots of other jobs, and finds none for a job without any', () => {
    expect(latestSnapshot('flinkplane-acme', objects, ['c'.repeat(32)])).toBeUndefined();
    expect(latestSnapshot('flinkplane-acme', objects, [other])).toBe(
      's3://flinkplane-acme/savepoints/savepoint-ffffff-0123456789ab',
    );
  });
});
