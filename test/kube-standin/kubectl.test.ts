import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { KUBECTL, KUBECTL_DIR } from '../support/kubectl.ts';

const manifest = `
apiVersion: v1
kind: Namespace
metadata:
  name: cli
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: jobmanager
  namespace: cli
spec:
  replicas: 2
  selector:
    matchLabels: {component: jobmanager}
  template:
    metadata:
      labels: {component: jobmanager}
    spec:
      containers:
        - name: jobmanager
          image: flink:1.20
`;

// Debian's kubectl (1.20), which the test setup unpacks into the project's cache (test/support/kubectl.ts).
describe('kube stand-in with a real kubectl', () => {
  let standin: KubeStandin;
  let dir: string;

  /** Runs kubectl asynchronously: the stand-in answers from this same process. */
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
    // kubectl sends no credentials over plain HTTP, so this stand-in requires no token.
    standin = await startKubeStandin({ readinessDelayMs: 20 });
    dir = await mkdtemp(join(tmpdir(), 'kube-standin-kubectl-'));
    await writeFile(join(dir, 'kubeconfig'), standin.kubeconfigYaml());
  });

  afterAll(async () => {
    await standin?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('applies manifests server-side and waits for the rollout', async () => {
    const applied = await kubectl(['apply', '--server-side', '-f', '-'], manifest);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('deployment.apps/jobmanager serverside-applied');
    const rollout = await kubectl(['rollout', 'status', '-n', 'cli', 'deployment/jobmanager', '--timeout=10s']);
    expect(rollout.stdout).toContain('successfully rolled out');
    const fields = standin.objects().find((o) => o.metadata.name === 'jobmanager')?.metadata.managedFields;
    expect(fields?.map((f) => [f.manager, f.operation])).toContainEqual(['kubectl', 'Apply']);
  });

  it('prints tables and JSON for get', async () => {
    const table = await kubectl(['get', 'deployments', '-n', 'cli']);
    expect(table.stdout).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\njobmanager\s+2\/2\s+2\s+2\s+/);
    const json = await kubectl(['get', 'pods', '-n', 'cli', '-o', 'json']);
    const pods = JSON.parse(json.stdout) as { items: { status: { phase: string } }[] };
    expect(pods.items.map((p) => p.status.phase)).toEqual(['Running', 'Running']);
  });

  it("runs Debian's kubectl from the project's cache, not the one on the PATH", async () => {
    expect(await readFile(join(KUBECTL_DIR, 'package'), 'utf8')).toMatch(/^kubernetes-client_.*\.deb$/m);
    const version = await kubectl(['version', '--client']);
    expect(version.stdout).toMatch(/GitVersion:"v1\.\d+\.\d+"|Client Version: v1\./);
  });

  it('reports a missing object the way kubectl prints a NotFound Status', async () => {
    const missing = await kubectl(['get', 'deployment', 'ghost', '-n', 'cli']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "ghost" not found');
  });

  it('deletes a namespace with everything in it', async () => {
    const deleted = await kubectl(['delete', 'namespace', 'cli']);
    expect(deleted.stdout).toContain('namespace "cli" deleted');
    expect(standin.objects().filter((o) => o.metadata.namespace === 'cli')).toEqual([]);
  });
});
