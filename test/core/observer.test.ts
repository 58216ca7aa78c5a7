import { describe, expect, it } from 'vitest';
import { COMPONENT_NAMES } from '../../functions/core/naming.ts';
import { observedFromFacts, rolledOut, stateFrom } from '../../functions/core/observer.ts';
import type { DeploymentFacts, KubernetesFacts, PodFacts } from '../../functions/core/ports.ts';

// The core's observer on plain Kubernetes facts: one rolled-out cluster, and tests that change one thing of it.
const deployment = (name: string, desired: number, changes: Partial<DeploymentFacts> = {}): DeploymentFacts => ({
  name,
  generation: 3,
  observedGeneration: 3,
  desired,
  replicas: desired,
  updated: desired,
  ready: desired,
  conditions: [{ type: 'Available', status: 'True' }],
  ...changes,
});

const pod = (name: string, changes: Partial<PodFacts> = {}): PodFacts => ({
  name,
  containers: [{ name: 'flink' }],
  ...changes,
});

function cluster(
  changes: { jobManager?: Partial<DeploymentFacts>; taskManager?: Partial<DeploymentFacts>; pods?: PodFacts[] } = {},
): KubernetesFacts {
  return {
    deployments: [
      deployment(COMPONENT_NAMES.jobManager, 1, changes.jobManager),
      deployment(COMPONENT_NAMES.taskManager, 2, changes.taskManager),
      deployment('zookeeper-proxy', 1),
    ],
    pods: changes.pods ?? [pod('jm-0'), pod('tm-0'), pod('tm-1')],
  };
}

describe('observer', () => {
  it('reads a rolled-out cluster as RUNNING with no reason', () => {
    const observed = observedFromFacts(cluster());
    expect(observed).toEqual({
      jobManagerReady: true,
      taskManagersReady: 2,
      taskManagersDesired: 2,
      taskManagersUpdated: 2,
      rolledOut: true,
      failed: false,
    });
    expect(stateFrom('DEPLOYING', observed)).toBe('RUNNING');
  });

  it('keeps DEPLOYING while the controller has not seen the new generation, though every old pod is ready', () => {
    const observed = observedFromFacts(cluster({ taskManager: { generation: 4 } }));
    expect(observed).toMatchObject({ rolledOut: false, taskManagersReady: 0, taskManagersUpdated: 0 });
    expect(observed.reason).toBe(`${COMPONENT_NAMES.taskManager}: waiting for the controller to see generation 4`);
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');
  });

  it('keeps DEPLOYING while fewer pods than desired are updated, two old ones ready', () => {
    const observed = observedFromFacts(cluster({ taskManager: { replicas: 3, updated: 1, ready: 2 } }));
    expect(observed).toMatchObject({ rolledOut: false, taskManagersReady: 2, taskManagersUpdated: 1 });
    expect(observed.reason).toBe(`${COMPONENT_NAMES.taskManager}: 1 of 2 pods updated`);
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');
  });

  it('keeps DEPLOYING while an old pod is left beside all the updated ones', () => {
    const observed = observedFromFacts(cluster({ taskManager: { replicas: 3, updated: 2, ready: 2 } }));
    expect(observed.reason).toBe(`${COMPONENT_NAMES.taskManager}: 1 old pods pending termination`);
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');
  });

  it('keeps DEPLOYING while updated pods are not all ready', () => {
    const observed = observedFromFacts(cluster({ taskManager: { ready: 1 } }));
    expect(observed.reason).toBe(`${COMPONENT_NAMES.taskManager}: 1 of 2 pods ready`);
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');
  });

  it('reads a JobManager being recreated (no pod yet) as not ready', () => {
    const observed = observedFromFacts(cluster({ jobManager: { replicas: 0, updated: 0, ready: 0 } }));
    expect(observed.jobManagerReady).toBe(false);
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');
  });

  it('counts every Deployment, not only the Flink ones', () => {
    const facts = cluster();
    const proxyRolling = {
      ...facts,
      deployments: facts.deployments.map((d) => (d.name === 'zookeeper-proxy' ? { ...d, updated: 0 } : d)),
    };
    expect(stateFrom('DEPLOYING', observedFromFacts(proxyRolling))).toBe('DEPLOYING');
  });

  it('reads a running cluster that loses a pod as DEGRADED', () => {
    expect(stateFrom('RUNNING', observedFromFacts(cluster({ taskManager: { ready: 1 } })))).toBe('DEGRADED');
  });

  it('reads a container that cannot start as FAILED, quoting the exit line of its last run', () => {
    const crashing = pod('tm-1', {
      containers: [
        {
          name: 'flink',
          waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' },
          lastTerminated: { exitCode: 1, message: 'starting\nERROR could not bind port\n\tat Foo.bar' },
        },
      ],
    });
    const observed = observedFromFacts(cluster({ pods: [pod('jm-0'), pod('tm-0'), crashing] }));
    expect(observed.failed).toBe(true);
    expect(observed.reason).toBe(
      'pod tm-1: CrashLoopBackOff (back-off 10s); last exit code 1: ERROR could not bind port',
    );
    expect(stateFrom('RUNNING', observed)).toBe('FAILED');
  });

  it('reads a stalled rollout (Progressing=False) as FAILED', () => {
    const stalled = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' };
    const observed = observedFromFacts(cluster({ taskManager: { conditions: [stalled], ready: 1 } }));
    expect(observed).toMatchObject({
      failed: true,
      reason: `${COMPONENT_NAMES.taskManager}: ProgressDeadlineExceeded`,
    });
  });

  it('gives an unschedulable pod as the reason without failing', () => {
    const pending = pod('tm-1', { unschedulable: { reason: 'Unschedulable', message: 'Insufficient memory' } });
    const observed = observedFromFacts(cluster({ taskManager: { ready: 1 }, pods: [pod('tm-0'), pending] }));
    expect(observed).toMatchObject({ failed: false, reason: 'pod tm-1: Unschedulable (Insufficient memory)' });
  });

  it('names a missing Deployment and is not rolled out without it', () => {
    const facts = cluster();
    const observed = observedFromFacts({
      ...facts,
      deployments: facts.deployments.filter((d) => d.name !== COMPONENT_NAMES.jobManager),
    });
    expect(observed).toMatchObject({ rolledOut: false, reason: `missing: ${COMPONENT_NAMES.jobManager}` });
  });

  it('needs every desired TaskManager registered with the JobManager when it is asked', () => {
    const observed = { ...observedFromFacts(cluster()), taskManagersRegistered: 1 };
    expect(stateFrom('DEPLOYING', observed)).toBe('DEPLOYING');
    expect(stateFrom('DEPLOYING', { ...observed, taskManagersRegistered: 2 })).toBe('RUNNING');
  });

  it('judges a single Deployment as kubectl rollout status does', () => {
    expect(rolledOut(deployment('d', 2))).toBe(true);
    expect(rolledOut(deployment('d', 2, { observedGeneration: 2 }))).toBe(false);
    expect(rolledOut(deployment('d', 2, { updated: 1 }))).toBe(false);
    expect(rolledOut(deployment('d', 2, { replicas: 3 }))).toBe(false);
    expect(rolledOut(deployment('d', 2, { ready: 1 }))).toBe(false);
  });
});
