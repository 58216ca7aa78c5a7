import { chmod, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { ResourceReader } from '../../kube-standin/node/pod-runtime.ts';
import { isRecord, type JsonRecord, type KubeObject } from '../../kube-standin/objects.ts';

/** A volume's source is missing or unsupported; the container waits with `CreateContainerConfigError`. */
export class VolumeError extends Error {
  override readonly name = 'VolumeError';
}

/** One bind mount inside a container's mount namespace. */
export type BindMount = {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** A single file (a subPath of a configMap): the target is created as an empty file, not a directory. */
  readonly file: boolean;
  /**
   * An image's files under a writable layer of the container's own (overlayfs), as a container's root filesystem:
   * the container may write (logs, mount points for its volumes) without touching the shared image. With `readOnly`
   * (readOnlyRootFilesystem) the layer turns read-only once every mount point is in place.
   */
  readonly overlay?: boolean;
};

/** Where a pod's volumes live on the host: `podDir` goes with the pod, `claimsDir` outlives it. */
export type VolumeDirs = { readonly podDir: string; readonly claimsDir: string };

const DEFAULT_MODE = 0o644;

/**
 * Materialises every volume of a pod on the host and returns each volume's host directory: configMap and secret
 * volumes as files (items, paths and modes as the kubelet writes them, group fsGroup), emptyDir as a fresh
 * directory, persistentVolumeClaim as the claim's own directory, kept across pods because the claim outlives them.
 * Simplified: configMap and secret volumes are written once and not refreshed when the object changes; an emptyDir
 * with `medium: Memory` is a plain directory.
 */
export async function prepareVolumes(
  pod: KubeObject,
  reader: ResourceReader,
  dirs: VolumeDirs,
): Promise<Map<string, string>> {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const namespace = pod.metadata.namespace ?? 'default';
  const fsGroup = numberOr(isRecord(spec.securityContext) ? spec.securityContext.fsGroup : undefined);
  const paths = new Map<string, string>();
  for (const volume of Array.isArray(spec.volumes) ? spec.volumes.filter(isRecord) : []) {
    const name = String(volume.name);
    const dir = join(dirs.podDir, 'volumes', name);
    if (isRecord(volume.configMap)) {
      const source = volume.configMap;
      const object = reader.get('', 'configmaps', namespace, String(source.name));
      if (!object && source.optional !== true) throw new VolumeError(`configmap "${String(source.name)}" not found`);
      await writeProjection(dir, configMapData(object), source, fsGroup);
    } else if (isRecord(volume.secret)) {
      const source = volume.secret;
      const object = reader.get('', 'secrets', namespace, String(source.secretName));
      if (!object && source.optional !== true) throw new VolumeError(`secret "${String(source.secretName)}" not found`);
      await writeProjection(dir, secretData(object), source, fsGroup);
    } else if (isRecord(volume.emptyDir)) {
      await makeSharedDir(dir, fsGroup);
    } else if (isRecord(volume.persistentVolumeClaim)) {
      const claim = String(volume.persistentVolumeClaim.claimName);
      if (!reader.get('', 'persistentvolumeclaims', namespace, claim))
        throw new VolumeError(`persistentvolumeclaim "${claim}" not found`);
      const claimDir = join(dirs.claimsDir, namespace, claim);
      await makeSharedDir(claimDir, fsGroup);
      paths.set(name, claimDir);
      continue;
    } else if (isRecord(volume.hostPath)) {
      paths.set(name, String(volume.hostPath.path));
      continue;
    } else {
      const kind = Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(`volume "${name}" of type ${kind} is not supported by the local kubelet`);
    }
    paths.set(name, dir);
  }
  return paths;
}

/**
 * A container's volume mounts as bind mounts, parents before children (so `/opt/flink/conf/x.yaml` lands inside an
 * earlier `/opt/flink`). A subPath that does not exist in an emptyDir or a claim is created as a directory, as the
 * kubelet does.
 */
export async function containerMounts(
  container: JsonRecord,
  volumePaths: ReadonlyMap<string, string>,
  readOnlyClaims: ReadonlySet<string>,
): Promise<BindMount[]> {
  const mounts: BindMount[] = [];
  for (const mount of Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isRecord) : []) {
    const name = String(mount.name);
    const root = volumePaths.get(name);
    if (!root) throw new VolumeError(`volumeMount "${name}" names no volume of the pod`);
    const subPath = typeof mount.subPath === 'string' && mount.subPath !== '' ? mount.subPath : undefined;
    if (subPath && (subPath.startsWith('/') || normalize(subPath).startsWith('..')))
      throw new VolumeError(`subPath "${subPath}" must be a relative path inside the volume`);
    const source = subPath ? join(root, subPath) : root;
    let file = false;
    try {
      file = !(await stat(source)).isDirectory();
    } catch {
      await mkdir(source, { recursive: true });
    }
    mounts.push({
      source,
      target: String(mount.mountPath),
      readOnly: mount.readOnly === true || readOnlyClaims.has(name),
      file,
    });
  }
  return mounts.sort((a, b) => depth(a.target) - depth(b.target));
}

/** The names of persistentVolumeClaim volumes the pod mounts read-only at the volume level. */
export function readOnlyClaimVolumes(pod: KubeObject): Set<string> {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const names = new Set<string>();
  for (const volume of Array.isArray(spec.volumes) ? spec.volumes.filter(isRecord) : [])
    if (isRecord(volume.persistentVolumeClaim) && volume.persistentVolumeClaim.readOnly === true)
      names.add(String(volume.name));
  return names;
}

function depth(path: string): number {
  return normalize(path).split('/').filter(Boolean).length;
}

function configMapData(object: KubeObject | undefined): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  if (!object) return data;
  if (isRecord(object.data))
    for (const [key, value] of Object.entries(object.data)) data.set(key, Buffer.from(String(value), 'utf8'));
  if (isRecord(object.binaryData))
    for (const [key, value] of Object.entries(object.binaryData)) data.set(key, Buffer.from(String(value), 'base64'));
  return data;
}

function secretData(object: KubeObject | undefined): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  if (!object) return data;
  if (isRecord(object.data))
    for (const [key, value] of Object.entries(object.data)) data.set(key, Buffer.from(String(value), 'base64'));
  // The API server folds stringData into data; a reader that hands over the object as applied may still carry it.
  if (isRecord(object.stringData))
    for (const [key, value] of Object.entries(object.stringData)) data.set(key, Buffer.from(String(value), 'utf8'));
  return data;
}

/** Writes a configMap or secret volume: every key, or only `items` at their paths, with their modes. */
async function writeProjection(
  dir: string,
  data: ReadonlyMap<string, Buffer>,
  source: JsonRecord,
  fsGroup: number | undefined,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (fsGroup !== undefined) await chown(dir, 0, fsGroup);
  const defaultMode = numberOr(source.defaultMode) ?? DEFAULT_MODE;
  const items = Array.isArray(source.items) ? source.items.filter(isRecord) : undefined;
  const files = items
    ? items.map((item) => ({
        key: String(item.key),
        path: String(item.path),
        mode: numberOr(item.mode) ?? defaultMode,
      }))
    : [...data.keys()].map((key) => ({ key, path: key, mode: defaultMode }));
  for (const { key, path, mode } of files) {
    const content = data.get(key);
    if (!content) {
      if (source.optional === true) continue;
      throw new VolumeError(`key "${key}" not found in ${source.secretName ? 'secret' : 'configmap'}`);
    }
    if (path.startsWith('/') || normalize(path).startsWith('..'))
      throw new VolumeError(`item path "${path}" must be a relative path inside the volume`);
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, content);
    if (fsGroup !== undefined) await chown(file, 0, fsGroup);
    await chmod(file, mode);
  }
}

/**
 * A directory every container of the pod can write, as an emptyDir (0777) or a freshly provisioned local volume;
 * with fsGroup, group-owned by it with the setgid bit, as the kubelet's fsGroup handling leaves it.
 */
async function makeSharedDir(dir: string, fsGroup: number | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (fsGroup !== undefined) {
    await chown(dir, 0, fsGroup);
    await chmod(dir, 0o2777);
  } else {
    await chmod(dir, 0o777);
  }
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
