import { chmod, mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerLaunch, ImageTable } from '../../../local/kube-standin/node/pod-runtime.ts';
import type { JsonRecord, KubeObject } from '../../../local/kube-standin/objects.ts';
import { eventually, httpGet, isReady, nodePod, startTestRuntime, testImages } from './support.ts';

const IMAGE_PATH = '/opt/fp-kubelet-test-image';
/** Not ASCII, trailing spaces, no final newline: a file mounted through a subPath must arrive byte for byte. */
const CONFIG = 'jobmanager.rpc.address: flink-cluster-jobmanager  \nname: ünïcödé ✓\n\tindented: "x"';

let env: Awaited<ReturnType<typeof startTestRuntime>>;
let imageDir: string;

/** A pod that reports what it sees: `/?write=<text>` first writes the text to its claim. */
const OBSERVER = `const fs = require('fs');
const attempt = (f) => { try { return f(); } catch (e) { return e.code; } };
require('http').createServer((req, res) => {
  const write = new URL(req.url, 'http://x').searchParams.get('write');
  if (write) fs.writeFileSync('/storage/marker', write);
  res.end(JSON.stringify({
    config: attempt(() => fs.readFileSync('${IMAGE_PATH}/conf/config.yaml', 'base64')),
    imageFile: attempt(() => fs.readFileSync('${IMAGE_PATH}/conf/other.yaml', 'utf8')),
    imageWrite: attempt(() => { fs.writeFileSync('${IMAGE_PATH}/log/new.log', 'x'); return 'written'; }),
    secret: attempt(() => fs.readFileSync('/etc/identity/token', 'utf8')),
    secretMode: attempt(() => (fs.statSync('/etc/identity/token').mode & 0o7777).toString(8)),
    secretGroup: attempt(() => fs.statSync('/etc/identity/token').gid),
    secretKeys: attempt(() => fs.readdirSync('/etc/identity').sort()),
    scratch: attempt(() => { fs.writeFileSync('/scratch/own', 'mine'); return fs.readFileSync('/scratch/own', 'utf8'); }),
    tmpEntries: attempt(() => fs.readdirSync('/tmp')),
    marker: attempt(() => fs.readFileSync('/storage/marker', 'utf8')),
  }));
}).listen(8080, '0.0.0.0');`;

function observerPod(name: string, securityContext: JsonRecord = {}): KubeObject {
  return nodePod(name, OBSERVER, {
    container: {
      image: 'test/node-with-files',
      securityContext,
      volumeMounts: [
        { name: 'config', mountPath: `${IMAGE_PATH}/conf/config.yaml`, subPath: 'config.yaml', readOnly: true },
        { name: 'identity', mountPath: '/etc/identity', readOnly: true },
        { name: 'scratch', mountPath: '/scratch' },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'jars', mountPath: '/storage' },
      ],
    },
    spec: {
      volumes: [
        { name: 'config', configMap: { name: 'flink-config' } },
        {
          name: 'identity',
          secret: { secretName: 'identity', defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] },
        },
        { name: 'scratch', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
        { name: 'jars', persistentVolumeClaim: { claimName: 'faas-volume' } },
      ],
    },
  });
}

beforeAll(async () => {
  imageDir = await mkdtemp(join(tmpdir(), 'kubelet-test-image-'));
  await chmod(imageDir, 0o755);
  await mkdir(join(imageDir, 'conf'), { mode: 0o755 });
  // Like the local Flink image: an empty-ish conf/ the pod mounts its files into, and a log/ anyone may write.
  await mkdir(join(imageDir, 'log'), { mode: 0o777 });
  await chmod(join(imageDir, 'log'), 0o777);
  await writeFile(join(imageDir, 'conf', 'other.yaml'), 'shipped with the image\n');
  const images: ImageTable = {
    async resolve(pod, container): Promise<ContainerLaunch> {
      if (container.image !== 'test/node-with-files') return testImages.resolve(pod, container);
      return { command: process.execPath, args: [], imageMounts: [{ hostPath: imageDir, containerPath: IMAGE_PATH }] };
    },
  };
  env = await startTestRuntime('10.235.0.0/16', { images });
  env.resources.put('configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'flink-config', namespace: 'tenant-a' },
    data: { 'config.yaml': CONFIG, 'unused.yaml': 'x' },
  });
  env.resources.put('secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'identity', namespace: 'tenant-a' },
    data: { token: Buffer.from('s3cr3t').toString('base64'), other: Buffer.from('not mounted').toString('base64') },
  });
  env.resources.put('persistentvolumeclaims', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'faas-volume', namespace: 'tenant-a' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
  });
});

afterAll(async () => {
  await env?.cleanup();
  if (imageDir) await rm(imageDir, { recursive: true, force: true });
  // The mount point the pods needed on the host (see container-command.ts): empty, so it goes.
  await rmdir(IMAGE_PATH).catch(() => undefined);
});

async function observe(name: string, write?: string): Promise<JsonRecord> {
  const ip = await eventually(() => {
    const status = env.runtime.getPodStatus('tenant-a', name);
    return isReady(status) && (status?.podIP as string);
  });
  const query = write ? `?write=${encodeURIComponent(write)}` : '';
  return JSON.parse(await eventually(() => httpGet(`http://${ip}:8080/${query}`)));
}

describe("the kubelet runtime's volumes", () => {
  it("mounts a configMap key through subPath byte for byte into the image, under a layer of the container's own", async () => {
    await env.runtime.createPod(observerPod('observer-1'));
    const seen = await observe('observer-1');
    expect(Buffer.from(seen.config as string, 'base64').toString('utf8')).toBe(CONFIG);
    expect(seen.imageFile).toBe('shipped with the image\n');
    expect(seen.imageWrite).toBe('written');
    expect((await readdir(imageDir, { recursive: true })).sort()).toEqual(['conf', 'conf/other.yaml', 'log']);
  });

  it('keeps the image read-only for a container with readOnlyRootFilesystem', async () => {
    await env.runtime.createPod(observerPod('read-only', { readOnlyRootFilesystem: true }));
    const seen = await observe('read-only');
    expect(seen.imageWrite).toBe('EROFS');
    expect(Buffer.from(seen.config as string, 'base64').toString('utf8')).toBe(CONFIG);
    await env.runtime.deletePod(observerPod('read-only'), 1);
  });

  it("mounts only the listed secret items, with their mode and the pod's fsGroup", async () => {
    const seen = await observe('observer-1');
    expect(seen.secret).toBe('s3cr3t');
    expect(seen.secretKeys).toEqual(['token']);
    expect(seen.secretMode).toBe('440');
    expect(seen.secretGroup).toBe(9999);
  });

  it("gives each pod fresh emptyDirs the pod's user can write", async () => {
    const seen = await observe('observer-1');
    expect(seen.scratch).toBe('mine');
    expect(seen.tmpEntries).toEqual([]);
  });

  it("keeps a claim's files when its pod is deleted, for the next pod", async () => {
    expect((await observe('observer-1', 'written by observer-1')).marker).toBe('written by observer-1');
    await env.runtime.deletePod(observerPod('observer-1'), 1);
    await env.runtime.createPod(observerPod('observer-2'));
    const seen = await observe('observer-2');
    expect(seen.marker).toBe('written by observer-1');
    expect(seen.scratch).toBe('mine');
    await env.runtime.deletePod(observerPod('observer-2'), 1);
  });

  it("waits in ContainerCreating while a volume's source is missing, and starts once it appears", async () => {
    const pod = nodePod('waits-for-config', 'setInterval(() => {}, 1000)', {
      container: { volumeMounts: [{ name: 'late', mountPath: '/etc/late' }] },
      spec: { volumes: [{ name: 'late', configMap: { name: 'late-config' } }] },
    });
    await env.runtime.createPod(pod);
    await eventually(() =>
      env.events.some((e) => e.includes('FailedMount MountVolume.SetUp failed: configmap "late-config" not found')),
    );
    expect(env.runtime.getPodStatus('tenant-a', 'waits-for-config')?.phase).toBe('Pending');
    env.resources.put('configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'late-config', namespace: 'tenant-a' },
      data: { a: 'b' },
    });
    await eventually(() => isReady(env.runtime.getPodStatus('tenant-a', 'waits-for-config')));
    await env.runtime.deletePod(pod, 1);
  });
});
