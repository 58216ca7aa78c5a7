import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonRecord } from '../../../local/kube-standin/objects.ts';
import {
  containerStatus,
  eventually,
  httpGet,
  httpServerScript,
  isReady,
  nodePod,
  startTestRuntime,
} from './support.ts';

let env: Awaited<ReturnType<typeof startTestRuntime>>;

beforeAll(async () => {
  env = await startTestRuntime('10.234.0.0/16');
});

afterAll(async () => {
  await env?.cleanup();
});

const status = (name: string) => env.runtime.getPodStatus('tenant-a', name);
const waitingWith = (name: string, reason: string) =>
  eventually(() => {
    const waiting = (containerStatus(status(name))?.state as JsonRecord | undefined)?.waiting as JsonRecord | undefined;
    return waiting?.reason === reason && waiting;
  });
const statusesOf = (name: string) => env.statuses.get(`tenant-a/${name}`) ?? [];
const logs = async (name: string, options: Parameters<NonNullable<typeof env.runtime.readLogs>>[3] = {}) => {
  const stream = env.runtime.readLogs('tenant-a', name, 'main', options);
  return stream ? text(stream) : undefined;
};

describe("the kubelet runtime's containers", () => {
  it('turns Ready only when the httpGet readiness probe passes', async () => {
    // Answers 503 for the first second, then 200.
    const script = `const t0 = Date.now(); require('http').createServer((req, res) => {
      res.statusCode = req.url === '/ready' && Date.now() - t0 > 1000 ? 200 : 503; res.end(); }).listen(8080, '0.0.0.0');`;
    await env.runtime.createPod(
      nodePod('probed', script, {
        container: {
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 0.2, failureThreshold: 1 },
        },
      }),
    );
    await eventually(() => isReady(status('probed')));
    const history = statusesOf('probed');
    const running = history.findIndex((s) => containerStatus(s)?.started === true);
    expect(running).toBeGreaterThanOrEqual(0);
    expect(isReady(history[running])).toBe(false);
    expect(history[0]?.phase).toBe('Pending');
    expect((containerStatus(history[0]) as JsonRecord).state).toEqual({ waiting: { reason: 'ContainerCreating' } });
    expect(
      env.events.some((e) => e.startsWith('tenant-a/probed Unhealthy Readiness probe failed: HTTP probe failed')),
    ).toBe(true);
    const final = status('probed')!;
    expect(final.phase).toBe('Running');
    expect(final.qosClass).toBe('BestEffort');
    expect(final.hostIP).toBe('10.234.0.1');
    expect((final.conditions as JsonRecord[]).map((c) => `${c.type}=${c.status}`).sort()).toEqual([
      'ContainersReady=True',
      'Initialized=True',
      'PodReadyToStartContainers=True',
      'PodScheduled=True',
      'Ready=True',
    ]);
  });

  it('restarts a crashing container with growing back-off, showing CrashLoopBackOff and the last exit code', async () => {
    await env.runtime.createPod(nodePod('crasher', 'console.log("about to fail"); process.exit(3)'));
    const waiting = await waitingWith('crasher', 'CrashLoopBackOff');
    expect(waiting.message).toMatch(/^back-off 500ms restarting failed container=main pod=crasher_tenant-a/);
    const lastState = containerStatus(status('crasher'))?.lastState as { terminated: JsonRecord };
    expect(lastState.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    const twice = await eventually(() => {
      const c = containerStatus(status('crasher'));
      return (c?.restartCount as number) >= 2 && c;
    });
    expect((twice.state as { waiting?: JsonRecord }).waiting?.message ?? '').not.toContain('back-off 500ms');
    expect(status('crasher')?.phase).toBe('Running');
    expect(await logs('crasher', { previous: true })).toBe('about to fail\n');
    expect(lastState.terminated.message).toBeUndefined();
    await env.runtime.deletePod(nodePod('crasher', ''), 1);
  });

  it("keeps a failed container's last log lines as its termination message with FallbackToLogsOnError", async () => {
    const script =
      'for (let i = 1; i <= 100; i++) console.log("line " + i); console.error("fatal: no config"); process.exit(2)';
    await env.runtime.createPod(
      nodePod('explains', script, { container: { terminationMessagePolicy: 'FallbackToLogsOnError' } }),
    );
    await waitingWith('explains', 'CrashLoopBackOff');
    const lastState = containerStatus(status('explains'))?.lastState as { terminated: { message: string } };
    const lines = lastState.terminated.message.split('\n');
    expect(lines).toHaveLength(80);
    expect(lines.at(-1)).toBe('fatal: no config');
    expect(lines[0]).toBe('line 22');
    await env.runtime.deletePod(nodePod('explains', ''), 1);
  });

  it('restarts a container whose liveness probe fails', async () => {
    // Listens for 1.5 s after each start, then closes its port but keeps running.
    const script = `const s = require('net').createServer(c => c.end()).listen(7000, '0.0.0.0'); setTimeout(() => s.close(), 1500); setInterval(() => {}, 1000);`;
    await env.runtime.createPod(
      nodePod('unhealthy', script, {
        container: { livenessProbe: { tcpSocket: { port: 7000 }, periodSeconds: 0.3, failureThreshold: 2 } },
      }),
    );
    const restarted = await eventually(() => {
      const c = containerStatus(status('unhealthy'));
      return (c?.restartCount as number) >= 1 && c;
    }, 20_000);
    expect(
      env.events.some((e) => e.startsWith('tenant-a/unhealthy Killing Container main failed liveness probe')),
    ).toBe(true);
    expect((restarted.lastState as { terminated: JsonRecord }).terminated.exitCode).toBe(143);
    await env.runtime.deletePod(nodePod('unhealthy', ''), 1);
  });

  it('keeps stdout and stderr with timestamps, and serves tail, follow and previous', async () => {
    const script = `console.log('one'); console.error('two'); console.log('three');
      let n = 0; const t = setInterval(() => { console.log('tick ' + ++n); if (n === 3) { clearInterval(t); process.exit(0); } }, 300);`;
    await env.runtime.createPod(nodePod('chatty', script, { spec: { restartPolicy: 'Never' } }));
    await eventually(async () => (await logs('chatty'))?.includes('three'));
    const follow = env.runtime.readLogs('tenant-a', 'chatty', 'main', { follow: true })!;
    const followed = await text(follow);
    // stdout and stderr are two pipes: their relative order is not kept, each one's own order is.
    expect(followed.split('\n').filter((l) => l !== 'two')).toEqual(['one', 'three', 'tick 1', 'tick 2', 'tick 3', '']);
    expect(followed).toContain('two\n');
    expect(await logs('chatty', { tailLines: 2 })).toBe('tick 2\ntick 3\n');
    expect(await logs('chatty', { limitBytes: 6 })).toHaveLength(6);
    const stamped = (await logs('chatty', { timestamps: true }))!.split('\n')[0]!;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one$/);
    expect(await logs('chatty', { previous: true })).toBeUndefined();
    await eventually(() => status('chatty')?.phase === 'Succeeded');
    expect((containerStatus(status('chatty'))!.state as { terminated: JsonRecord }).terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    await env.runtime.deletePod(nodePod('chatty', ''), 1);
  });

  it('sends SIGTERM on delete and SIGKILL once the grace period is over', async () => {
    const stubborn = `process.on('SIGTERM', () => console.log('got SIGTERM, ignoring it')); ${httpServerScript(8080)}`;
    await env.runtime.createPod(nodePod('stubborn', stubborn));
    const ip = await eventually(() => isReady(status('stubborn')) && (status('stubborn')?.podIP as string));
    await eventually(() => httpGet(`http://${ip}:8080/`));
    const begin = Date.now();
    const logsBefore = env.runtime.readLogs('tenant-a', 'stubborn', 'main', { follow: true })!;
    await env.runtime.deletePod(nodePod('stubborn', ''), 1);
    const elapsed = Date.now() - begin;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(6000);
    expect(await text(logsBefore)).toContain('got SIGTERM, ignoring it');
    expect(env.runtime.getPodStatus('tenant-a', 'stubborn')).toBeUndefined();

    await env.runtime.createPod(nodePod('polite', httpServerScript(8080)));
    await eventually(() => isReady(status('polite')));
    const start = Date.now();
    await env.runtime.deletePod(nodePod('polite', ''), 10);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it("runs the process as the pod's user with its fsGroup, hostname and environment", async () => {
    const script = `const os = require('os'); require('http').createServer((req, res) => res.end(JSON.stringify({
      uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), host: os.hostname(),
      env: { HOSTNAME: process.env.HOSTNAME, POD_IP: process.env.POD_IP, NS: process.env.NS, FROM_CM: process.env.FROM_CM,
        GREETING: process.env.GREETING, NODE_ENV: process.env.NODE_ENV } }))).listen(8080, '0.0.0.0');`;
    env.resources.put('configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'tenant-a' },
      data: { colour: 'blue' },
    });
    await env.runtime.createPod(
      nodePod('identity', script, {
        spec: { securityContext: { runAsUser: 4242, runAsGroup: 4343, fsGroup: 4444 } },
        container: {
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'settings', key: 'colour' } } },
            { name: 'GREETING', value: 'hello $(NS)' },
          ],
        },
      }),
    );
    const ip = await eventually(() => isReady(status('identity')) && (status('identity')?.podIP as string));
    const seen = JSON.parse(await eventually(() => httpGet(`http://${ip}:8080/`)));
    expect(seen).toEqual({
      uid: 4242,
      gid: 4343,
      groups: expect.arrayContaining([4444]),
      host: 'identity',
      env: {
        HOSTNAME: 'identity',
        POD_IP: ip,
        NS: 'tenant-a',
        FROM_CM: 'blue',
        GREETING: 'hello tenant-a',
        NODE_ENV: 'test',
      },
    });
    await env.runtime.deletePod(nodePod('identity', ''), 1);
  });

  it("shows ErrImagePull with the image table's message when an image cannot be resolved", async () => {
    await env.runtime.createPod(nodePod('no-image', '', { container: { image: 'test/absent' } }));
    const waiting = await waitingWith('no-image', 'ErrImagePull');
    expect(waiting).toEqual({ reason: 'ErrImagePull', message: 'image "test/absent" is not in the test image table' });
    expect(status('no-image')?.phase).toBe('Pending');
    await env.runtime.deletePod(nodePod('no-image', ''), 1);
  });

  it('shows CreateContainerConfigError when a container asks for a key that does not exist', async () => {
    await env.runtime.createPod(
      nodePod('bad-config', 'setInterval(() => {}, 1000)', {
        container: { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }] },
      }),
    );
    const waiting = await waitingWith('bad-config', 'CreateContainerConfigError');
    expect(waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'secret "absent" not found' });
    await env.runtime.deletePod(nodePod('bad-config', ''), 1);
  });
});
