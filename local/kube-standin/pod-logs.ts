import type { IncomingMessage, ServerResponse } from 'node:http';
import { PODS, specOf } from './controllers/pods.ts';
import type { LogOptions, PodRuntime } from './node/pod-runtime.ts';
import { isRecord, type JsonRecord, type KubeObject } from './objects.ts';
import { badRequest, invalid, notFound } from './status.ts';
import type { ObjectStore } from './store.ts';

/** What the kubelet prints for a container that has not run yet, by waiting reason. */
const WAITING_MESSAGES: Record<string, string> = {
  ImagePullBackOff: 'trying and failing to pull image',
  ErrImagePull: "image can't be pulled",
  InvalidImageName: 'invalid image name',
};

/**
 * `GET /api/v1/namespaces/{ns}/pods/{name}/log`: the checks the API server and then the kubelet make, in their
 * order and wording, then the runtime's log as plain text, streamed (chunked) so that `follow` sends lines as they
 * come and ends when the container stops or the client goes away. Answers the HTTP status sent.
 */
export async function servePodLog(
  store: ObjectStore,
  runtime: PodRuntime,
  namespace: string,
  name: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<number> {
  const options = logOptions(query);
  const pod = store.get(PODS, namespace, name);
  if (!pod) throw notFound(PODS, name);
  const container = pickContainer(pod, query.get('container') ?? '');
  if (!specOf(pod).nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const status = containerStatus(pod, container);
  if (options.previous) {
    if (!isRecord(status?.lastState) || !isRecord(status.lastState.terminated)) {
      throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    }
  } else {
    const state = isRecord(status?.state) ? status.state : {};
    const waiting = isRecord(state.waiting) ? state.waiting : undefined;
    const ranBefore = isRecord(status?.lastState) && isRecord(status.lastState.terminated);
    if (!status || (waiting && !ranBefore)) {
      const reason = String(waiting?.reason ?? 'ContainerCreating');
      throw badRequest(
        `container "${container}" in pod "${name}" is waiting to start: ${WAITING_MESSAGES[reason] ?? reason}`,
      );
    }
  }
  const stream = runtime.readLogs?.(namespace, name, container, options);
  if (!stream && options.previous) {
    throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  if (!stream) {
    res.end();
    return 200;
  }
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.destroy();
      resolve();
    };
    res.on('close', done);
    req.on('close', () => {
      if (!res.writableEnded) done();
    });
    stream.on('error', () => res.end());
    stream.on('end', () => res.end());
    stream.pipe(res, { end: false });
  });
  return 200;
}

function logOptions(query: URLSearchParams): LogOptions {
  const flag = (key: string) => query.get(key) === 'true' || query.get(key) === '1';
  const errors: { field: string; value: unknown; detail: string }[] = [];
  const integer = (key: string, minimum: number): number | undefined => {
    const text = query.get(key);
    if (text === null) return undefined;
    const value = Number(text);
    if (!/^-?\d+$/.test(text)) throw badRequest(`strconv.ParseInt: parsing "${text}": invalid syntax`);
    if (value < minimum)
      errors.push({ field: key, value, detail: `must be greater than ${minimum === 0 ? 'or equal to 0' : '0'}` });
    return value;
  };
  const options: LogOptions = {
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    tailLines: integer('tailLines', 0),
    sinceSeconds: integer('sinceSeconds', 1),
    limitBytes: integer('limitBytes', 1),
  };
  if (errors.length > 0) {
    throw invalid(
      { group: '', kind: 'PodLogOptions' },
      '',
      errors.map((e) => ({ type: 'FieldValueInvalid', field: e.field, value: e.value, detail: e.detail })),
    );
  }
  return options;
}

/** The container a log request means: the one named, or the only one; the API server's errors otherwise. */
function pickContainer(pod: KubeObject, requested: string): string {
  const names = (list: unknown) =>
    (Array.isArray(list) ? list.filter(isRecord) : []).map((c: JsonRecord) => String(c.name));
  const containers = names(specOf(pod).containers);
  const inits = names(specOf(pod).initContainers);
  const name = pod.metadata.name!;
  if (requested === '') {
    if (containers.length === 1) return containers[0]!;
    const initPart = inits.length > 0 ? ` or one of the init containers: [${inits.join(' ')}]` : '';
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${initPart}`,
    );
  }
  if (!containers.includes(requested) && !inits.includes(requested)) {
    throw badRequest(`container ${requested} is not valid for pod ${name}`);
  }
  return requested;
}

function containerStatus(pod: KubeObject, container: string): JsonRecord | undefined {
  const status = isRecord(pod.status) ? pod.status : {};
  const all = [
    ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []),
    ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []),
  ];
  return all.find((s): s is JsonRecord => isRecord(s) && s.name === container);
}
