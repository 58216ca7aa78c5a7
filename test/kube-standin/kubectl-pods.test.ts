import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { KUBECTL } from '../support/kubectl.ts';

const manifest = `
apiVersion: v1
kind: Namespace
metadata:
  name: logs
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: logs
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - {name: server, image: "nginx:1.27"}
        - {name: sidecar, image: "busybox:1.36"}
`;

// The real kubectl (1.32) against the stand-in with the simulated pod runtime, which writes a log line per start.
describe('kube stand-in pods through kubectl: logs, events, nodes', () => {
  let standin: KubeStandin;
  let dir: string;
  let pod: string;
  const children = new Set<ChildProcess>();

  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        KUBECTL,
        ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 20_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? '');
    });

  beforeAll(async () => {
    standin = await startKubeStandin({ readinessDelayMs: 20 });
    dir = await mkdtemp(join(tmpdir(), 'kube-standin-kubectl-pods-'));
    await writeFile(join(dir, 'kubeconfig'), standin.kubeconfigYaml());
    const applied = await kubectl(['apply', '--server-side', '-f', '-'], manifest);
    expect(applied.stderr).toBe('');
    const rollout = await kubectl(['rollout', 'status', '-n', 'logs', 'deployment/web', '--timeout=10s']);
    expect(rollout.stdout).toContain('successfully rolled out');
    const core = standin.kubeConfig().makeApiClient(CoreV1Api);
    pod = (await core.listNamespacedPod({ namespace: 'logs' })).items[0]!.metadata!.name!;
  });

  afterAll(async () => {
    for (const child of children) child.kill();
    await standin?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints a container log with -c, and the API server error without a container', async () => {
    const server = await kubectl(['logs', '-n', 'logs', pod, '-c', 'server']);
    expect(server.stdout).toBe('simulated container server started (image nginx:1.27, run 1)\n');
    const sidecar = await kubectl(['logs', '-n', 'logs', pod, '-c', 'sidecar', '--timestamps']);
    expect(sidecar.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z simulated container sidecar started/);
    const response = await fetch(`${standin.url}/api/v1/namespaces/logs/pods/${pod}/log`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: `a container name must be specified for pod ${pod}, choose one of: [server sidecar]`,
    });
    const missing = await kubectl(['logs', '-n', 'logs', 'ghost', '-c', 'server']);
    expect(missing.stderr).toContain('pods "ghost" not found');
  });

  it('answers --previous for a container that never restarted with the kubelet error, and serves it after a crash', async () => {
    const never = await kubectl(['logs', '-n', 'logs', pod, '-c', 'server', '--previous']);
    expect(never.code).not.toBe(0);
    expect(never.stderr).toContain(`previous terminated container "server" in pod "${pod}" not found`);

    standin.failDeployment('logs', 'web', 'CrashLoopBackOff', 'back-off 10s restarting failed container');
    const previous = await kubectl(['logs', '-n', 'logs', pod, '-c', 'server', '--previous']);
    expect(previous.stdout).toBe(
      'simulated container server started (image nginx:1.27, run 1)\nsimulated container server exited with code 1\n',
    );
    const pods = await kubectl(['get', 'pods', '-n', 'logs']);
    expect(pods.stdout).toMatch(/0\/2\s+CrashLoopBackOff\s+2\s/);
    standin.healDeployment('logs', 'web');
    const rollout = await kubectl(['rollout', 'status', '-n', 'logs', 'deployment/web', '--timeout=10s']);
    expect(rollout.stdout).toContain('successfully rolled out');
  });

  it('follows a log until the Pod is deleted', async () => {
    const child = spawn(KUBECTL, [
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      'logs',
      '-f',
      '-n',
      'logs',
      pod,
      '-c',
      'server',
    ]);
    children.add(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await expect.poll(() => output).toContain('run 2');
    const deleted = await kubectl(['delete', 'pod', '-n', 'logs', pod, '--wait=false']);
    expect(deleted.stdout).toContain(`pod "${pod}" deleted`);
    expect(await exited).toBe(0);
    children.delete(child);
  });

  it('lists events and shows them in describe', async () => {
    const events = await kubectl(['get', 'events', '-n', 'logs']);
    expect(events.stdout).toMatch(/LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/);
    expect(events.stdout).toMatch(
      /Normal\s+Scheduled\s+pod\/web-\S+\s+Successfully assigned logs\/web-\S+ to kube-standin-node/,
    );
    expect(events.stdout).toMatch(/Normal\s+Started\s+pod\/web-\S+\s+Started container server/);
    expect(events.stdout).toMatch(/Warning\s+BackOff\s+pod\/web-\S+\s+Back-off restarting failed container server/);
    expect(events.stdout).toMatch(/Normal\s+Killing\s+pod\/web-\S+\s+Stopping container server/);
    expect(events.stdout).toMatch(
      /Normal\s+ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-\S+ from 0 to 1/,
    );

    const core = standin.kubeConfig().makeApiClient(CoreV1Api);
    await expect.poll(async () => (await core.listNamespacedPod({ namespace: 'logs' })).items.length).toBe(1);
    const current = (await core.listNamespacedPod({ namespace: 'logs' })).items[0]!.metadata!.name!;
    const pod = await kubectl(['describe', 'pod', '-n', 'logs', current]);
    expect(pod.stdout).toMatch(/Node:\s+kube-standin-node\/127\.0\.0\.1/);
    expect(pod.stdout).toMatch(/Events:[\s\S]*Normal\s+Scheduled\s+.+?\s+default-scheduler\s+Successfully assigned/);
    expect(pod.stdout).toMatch(/Normal\s+Created\s+.+?\s+kubelet\s+Created container: sidecar/);
    const deployment = await kubectl(['describe', 'deployment', '-n', 'logs', 'web']);
    expect(deployment.stdout).toMatch(/Events:[\s\S]*ScalingReplicaSet\s+.+?\s+deployment-controller\s+Scaled up/);
  });

  it('lists the node', async () => {
    const nodes = await kubectl(['get', 'nodes']);
    expect(nodes.stdout).toMatch(
      /NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nkube-standin-node\s+Ready\s+<none>\s+\S+\s+v1\.31\.0\+kube-standin/,
    );
  });
});
