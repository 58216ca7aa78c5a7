import type { ContainerLaunch, ResourceReader } from '../../kube-standin/node/pod-runtime.ts';
import { isRecord, type JsonRecord, type KubeObject } from '../../kube-standin/objects.ts';

/** A container cannot be configured as its spec asks (a missing key, root where non-root is required). */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function podSpec(pod: KubeObject): JsonRecord {
  return isRecord(pod.spec) ? pod.spec : {};
}

export function podContainers(pod: KubeObject): JsonRecord[] {
  const containers = podSpec(pod).containers;
  return Array.isArray(containers) ? containers.filter(isRecord) : [];
}

/** The identity a container runs as: the container's securityContext over the pod's, root when neither says. */
export function containerIdentity(
  pod: KubeObject,
  container: JsonRecord,
): { uid: number; gid: number; groups: number[] } {
  const podContext = isRecord(podSpec(pod).securityContext) ? (podSpec(pod).securityContext as JsonRecord) : {};
  const own = isRecord(container.securityContext) ? container.securityContext : {};
  const pick = (field: string) =>
    typeof own[field] === 'number' ? (own[field] as number) : (podContext[field] as number | undefined);
  const uid = pick('runAsUser') ?? 0;
  const gid = pick('runAsGroup') ?? 0;
  const runAsNonRoot = (own.runAsNonRoot ?? podContext.runAsNonRoot) === true;
  if (runAsNonRoot && uid === 0)
    throw new ContainerConfigError('container has runAsNonRoot and image will run as root');
  const groups = [
    ...(typeof podContext.fsGroup === 'number' ? [podContext.fsGroup] : []),
    ...(Array.isArray(podContext.supplementalGroups) ? podContext.supplementalGroups.filter(Number.isInteger) : []),
  ] as number[];
  return { uid, gid, groups: [...new Set(groups)] };
}

export function containerSecurity(container: JsonRecord): {
  noNewPrivileges: boolean;
  dropAll: boolean;
  readOnlyRoot: boolean;
} {
  const context = isRecord(container.securityContext) ? container.securityContext : {};
  const drop =
    isRecord(context.capabilities) && Array.isArray(context.capabilities.drop) ? context.capabilities.drop : [];
  return {
    noNewPrivileges: context.allowPrivilegeEscalation === false,
    dropAll: drop.includes('ALL'),
    readOnlyRoot: context.readOnlyRootFilesystem === true,
  };
}

/**
 * The process's environment as the kubelet builds it: a default PATH, the image's env, HOSTNAME, then the container's
 * `envFrom` and `env` (value with `$(VAR)` expansion, configMapKeyRef, secretKeyRef, fieldRef).
 */
export function containerEnv(
  pod: KubeObject,
  container: JsonRecord,
  launch: ContainerLaunch,
  placement: { podIP: string; hostIP: string; nodeName: string },
  reader: ResourceReader,
): Record<string, string> {
  const namespace = pod.metadata.namespace ?? 'default';
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...launch.env, HOSTNAME: pod.metadata.name ?? '' };
  for (const from of Array.isArray(container.envFrom) ? container.envFrom.filter(isRecord) : []) {
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    const ref = isRecord(from.configMapRef) ? from.configMapRef : isRecord(from.secretRef) ? from.secretRef : undefined;
    if (!ref) continue;
    const kind = isRecord(from.configMapRef) ? 'ConfigMap' : 'Secret';
    const data = objectData(reader, kind, namespace, String(ref.name), ref.optional === true);
    for (const [key, value] of data) env[`${prefix}${key}`] = value;
  }
  for (const entry of Array.isArray(container.env) ? container.env.filter(isRecord) : []) {
    const name = String(entry.name);
    if (typeof entry.value === 'string') env[name] = expand(entry.value, env);
    else if (isRecord(entry.valueFrom)) {
      const value = valueFrom(entry.valueFrom, pod, placement, reader);
      if (value !== undefined) env[name] = value;
    } else env[name] = '';
  }
  return env;
}

/** The command line, Kubernetes style: `command` replaces the image's entrypoint and args, `args` its args. */
export function containerCommand(
  container: JsonRecord,
  launch: ContainerLaunch,
  env: Readonly<Record<string, string>>,
): { command: string; args: string[] } {
  const strings = (value: unknown) => (Array.isArray(value) ? value.map((v) => expand(String(v), env)) : undefined);
  const command = strings(container.command);
  const args = strings(container.args);
  if (command && command.length > 0) return { command: command[0]!, args: [...command.slice(1), ...(args ?? [])] };
  return { command: launch.command, args: args ?? [...launch.args] };
}

/** `$(VAR)` references to variables defined so far; `$$(VAR)` stays literal, as Kubernetes expands. */
function expand(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$(\$|\(([A-Za-z_][A-Za-z0-9_]*)\))/g, (match, dollar: string, name?: string) => {
    if (dollar === '$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name]! : match;
  });
}

function valueFrom(
  source: JsonRecord,
  pod: KubeObject,
  placement: { podIP: string; hostIP: string; nodeName: string },
  reader: ResourceReader,
): string | undefined {
  const namespace = pod.metadata.namespace ?? 'default';
  for (const [field, kind] of [
    ['configMapKeyRef', 'ConfigMap'],
    ['secretKeyRef', 'Secret'],
  ] as const) {
    const ref = source[field];
    if (!isRecord(ref)) continue;
    const optional = ref.optional === true;
    const data = objectData(reader, kind, namespace, String(ref.name), optional);
    const value = data.get(String(ref.key));
    if (value === undefined && !optional)
      throw new ContainerConfigError(
        `couldn't find key ${String(ref.key)} in ${kind} ${namespace}/${String(ref.name)}`,
      );
    return value;
  }
  if (isRecord(source.fieldRef)) {
    const path = String(source.fieldRef.fieldPath);
    const annotated = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (annotated) return pod.metadata[annotated[1] as 'labels' | 'annotations']?.[annotated[2]!] ?? '';
    const fields: Record<string, string | undefined> = {
      'metadata.name': pod.metadata.name,
      'metadata.namespace': pod.metadata.namespace,
      'metadata.uid': pod.metadata.uid,
      'spec.nodeName': placement.nodeName,
      'spec.serviceAccountName': String(podSpec(pod).serviceAccountName ?? 'default'),
      'status.podIP': placement.podIP,
      'status.podIPs': placement.podIP,
      'status.hostIP': placement.hostIP,
      'status.hostIPs': placement.hostIP,
    };
    if (!(path in fields)) throw new ContainerConfigError(`unsupported fieldRef fieldPath "${path}"`);
    return fields[path] ?? '';
  }
  throw new ContainerConfigError(`unsupported valueFrom ${Object.keys(source).join(', ')}`);
}

function objectData(
  reader: ResourceReader,
  kind: 'ConfigMap' | 'Secret',
  namespace: string,
  name: string,
  optional: boolean,
): Map<string, string> {
  const object = reader.get('', kind === 'Secret' ? 'secrets' : 'configmaps', namespace, name);
  if (!object) {
    if (optional) return new Map();
    throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
  }
  const data = new Map<string, string>();
  if (isRecord(object.data))
    for (const [key, value] of Object.entries(object.data))
      data.set(key, kind === 'Secret' ? Buffer.from(String(value), 'base64').toString('utf8') : String(value));
  if (kind === 'Secret' && isRecord(object.stringData))
    for (const [key, value] of Object.entries(object.stringData)) data.set(key, String(value));
  return data;
}

/** Guaranteed when every container has equal cpu and memory requests and limits; BestEffort when none has any. */
export function qosClass(containers: readonly JsonRecord[]): string {
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const resources = isRecord(c.resources) ? c.resources : {};
    const limits = isRecord(resources.limits) ? resources.limits : {};
    const requests = isRecord(resources.requests) ? resources.requests : limits;
    if (Object.keys(limits).length > 0 || Object.keys(requests).length > 0) any = true;
    if (!limits.cpu || !limits.memory || requests.cpu !== limits.cpu || requests.memory !== limits.memory)
      guaranteed = false;
  }
  if (guaranteed) return 'Guaranteed';
  return any ? 'Burstable' : 'BestEffort';
}
