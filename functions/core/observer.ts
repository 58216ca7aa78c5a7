/**
 * The observer: turns what Kubernetes reports (Deployments and pods, as plain facts) and what the JobManager says into
 * the cluster's observed status, and that into its state. The adapters only report; the rules live here.
 */
import { isFlinkplaneError } from './errors.ts';
import { COMPONENT_NAMES } from './naming.ts';
import type {
  AppliedObjects,
  ClusterRecord,
  ClusterState,
  DeploymentFacts,
  FlinkRest,
  KubernetesFacts,
  KubernetesObserver,
  ObservedStatus,
  PodFacts,
} from './ports.ts';

/** Waiting reasons that mean a pod will not become ready without a change. */
const FAILING_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/**
 * Whether a Deployment's change has rolled out, as `kubectl rollout status` judges it: the controller has seen the
 * current spec, every desired pod is of it, no old pod is left, and that many are ready. Counting ready pods alone
 * would take two old TaskManagers for a finished update.
 */
export function rolledOut(deployment: DeploymentFacts): boolean {
  return (
    deployment.observedGeneration >= deployment.generation &&
    deployment.updated === deployment.desired &&
    deployment.replicas === deployment.desired &&
    deployment.ready >= deployment.desired
  );
}

/** The observed status the Kubernetes facts imply, before the JobManager is asked. */
export function observedFromFacts(facts: KubernetesFacts): ObservedStatus {
  const named = (name: string) => facts.deployments.find((deployment) => deployment.name === name);
  const jobManager = named(COMPONENT_NAMES.jobManager);
  const taskManager = named(COMPONENT_NAMES.taskManager);
  const seen = (deployment: DeploymentFacts | undefined) =>
    !!deployment && deployment.observedGeneration >= deployment.generation;

  const failures = [...facts.deployments.flatMap(stalled), ...facts.pods.flatMap(failing)];
  const missing = [
    ...(jobManager ? [] : [COMPONENT_NAMES.jobManager]),
    ...(taskManager ? [] : [COMPONENT_NAMES.taskManager]),
  ];
  // A pod no node can take (too little memory, say) is not failed, a node may free up or join, but it is why.
  const pending = facts.pods.flatMap(unschedulable);
  const rolling = facts.deployments.filter((deployment) => !rolledOut(deployment)).map(progress);
  const reason =
    failures.length > 0
      ? [...new Set(failures)].join('; ')
      : missing.length > 0
        ? `missing: ${missing.join(', ')}`
        : pending.length > 0
          ? pending.join('; ')
          : rolling.length > 0
            ? rolling.join('; ')
            : undefined;
  return {
    jobManagerReady: !!jobManager && rolledOut(jobManager) && jobManager.desired >= 1,
    taskManagersReady: seen(taskManager) ? taskManager!.ready : 0,
    taskManagersDesired: taskManager?.desired ?? 0,
    taskManagersUpdated: seen(taskManager) ? taskManager!.updated : 0,
    rolledOut: missing.length === 0 && facts.deployments.every(rolledOut),
    failed: failures.length > 0,
    ...(reason ? { reason } : {}),
  };
}

/** The state an observation implies: a cluster only becomes DEGRADED after it has run, and FAILED only with a reason. */
export function stateFrom(previous: ClusterState, observed: ObservedStatus): ClusterState {
  if (observed.failed) return 'FAILED';
  const registered = observed.taskManagersRegistered ?? observed.taskManagersDesired;
  if (observed.rolledOut && registered >= observed.taskManagersDesired) return 'RUNNING';
  return previous === 'DEPLOYING' ? 'DEPLOYING' : 'DEGRADED';
}

/**
 * Kubernetes' view of the cluster and, once every change has rolled out, the JobManager's own: how many TaskManagers
 * it has registered. A RUNNING cluster whose pods have not changed is not asked again, so a sweep over every tenant
 * stays one pod list each.
 */
export async function observeCluster(
  sources: { readonly kubernetes: KubernetesObserver; readonly flinkRest?: FlinkRest | undefined },
  namespace: string,
  applied?: AppliedObjects,
  previous?: ClusterRecord,
): Promise<ObservedStatus> {
  const observed = observedFromFacts(await sources.kubernetes.observe(namespace, applied));
  const { flinkRest } = sources;
  if (!flinkRest || observed.failed || !observed.rolledOut) return observed;
  const before = previous?.observed;
  if (previous?.state === 'RUNNING' && before?.taskManagersRegistered !== undefined && samePods(before, observed)) {
    return {
      ...observed,
      taskManagersRegistered: before.taskManagersRegistered,
      ...(before.flinkVersion === undefined ? {} : { flinkVersion: before.flinkVersion }),
    };
  }
  try {
    const overview = await flinkRest.overview(namespace);
    return { ...observed, taskManagersRegistered: overview.taskManagers, flinkVersion: overview.flinkVersion };
  } catch (error) {
    const why = isFlinkplaneError(error) && error.code !== 'internal' ? error.message : 'unexpected error';
    return { ...observed, taskManagersRegistered: 0, reason: `the JobManager does not answer yet: ${why}` };
  }
}

/** Whether two observations differ in nothing worth a write. */
export function sameObservation(a: ObservedStatus | undefined, b: ObservedStatus): boolean {
  return (
    !!a &&
    samePods(a, b) &&
    a.taskManagersRegistered === b.taskManagersRegistered &&
    a.flinkVersion === b.flinkVersion &&
    a.reason === b.reason
  );
}

function samePods(a: ObservedStatus, b: ObservedStatus): boolean {
  return (
    a.jobManagerReady === b.jobManagerReady &&
    a.taskManagersReady === b.taskManagersReady &&
    a.taskManagersDesired === b.taskManagersDesired &&
    a.taskManagersUpdated === b.taskManagersUpdated &&
    a.rolledOut === b.rolledOut &&
    a.failed === b.failed
  );
}

/** `Progressing=False`: the controller gave up (e.g. the progress deadline passed). */
function stalled(deployment: DeploymentFacts): string[] {
  const condition = deployment.conditions.find((c) => c.type === 'Progressing' && c.status === 'False');
  if (!condition) return [];
  return [`${deployment.name}: ${condition.reason ?? 'not progressing'} ${condition.message ?? ''}`.trim()];
}

/** Containers waiting for a reason that will not pass on its own, with how their last run ended. */
function failing(pod: PodFacts): string[] {
  return pod.containers.flatMap((container) => {
    const waiting = container.waiting;
    if (!waiting?.reason || !FAILING_REASONS.has(waiting.reason)) return [];
    const terminated = container.lastTerminated;
    const cause = terminated
      ? `; last exit code ${terminated.exitCode}${terminated.message ? `: ${causeLine(terminated.message)}` : ''}`
      : '';
    return [`pod ${pod.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}${cause}`];
  });
}

function unschedulable(pod: PodFacts): string[] {
  const why = pod.unschedulable;
  return why ? [`pod ${pod.name}: ${why.reason ?? 'not scheduled'} (${why.message ?? ''})`] : [];
}

/** How far a Deployment's rollout has come, in the words of `kubectl rollout status`. */
function progress(deployment: DeploymentFacts): string {
  if (deployment.observedGeneration < deployment.generation) {
    return `${deployment.name}: waiting for the controller to see generation ${deployment.generation}`;
  }
  if (deployment.updated < deployment.desired) {
    return `${deployment.name}: ${deployment.updated} of ${deployment.desired} pods updated`;
  }
  if (deployment.replicas > deployment.updated) {
    return `${deployment.name}: ${deployment.replicas - deployment.updated} old pods pending termination`;
  }
  return `${deployment.name}: ${deployment.ready} of ${deployment.desired} pods ready`;
}

/** The line of a termination message that says why: the last that names an error, else the last one. */
function causeLine(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at ') && !line.startsWith('...'));
  const last = (pattern: RegExp) => [...lines].reverse().find((candidate) => pattern.test(candidate));
  const line = last(/\b(ERROR|FATAL)\b|Exception:/) ?? last(/error|fail/i) ?? lines.at(-1) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
