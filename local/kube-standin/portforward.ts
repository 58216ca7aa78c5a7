import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { isRecord, type KubeObject } from './objects.ts';
import { resourceDef } from './resources.ts';
import { badRequest, KubeStatusError, notFound } from './status.ts';
import type { ObjectStore } from './store.ts';

/** The WebSocket subprotocol of the kubelet's port-forward: binary frames, one channel byte in front of each. */
export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';

const PODS = resourceDef('', 'pods');
/** Frames a pod side may send before the WebSocket is read from again (backpressure towards the target). */
const MAX_UNSENT_FRAMES = 16;
const NORMAL_CLOSURE = 1000;
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/** A checked port-forward request: the Pod it reaches and the ports, in channel order. */
export type PortForwardRequest = { pod: KubeObject; ports: number[] };

/**
 * The kubelet's side of `pods/{name}/portforward` over WebSocket, as the API server proxies it, so clients such as
 * @kubernetes/client-node's `PortForward` talk to the stand-in as to a cluster.
 *
 * The protocol (kubelet `cri/streaming/portforward/websocket.go`, client-node `portforward.js`): subprotocol
 * `v4.channel.k8s.io` (or none), binary messages whose first byte is the channel. Port `i` of `?ports=` has the
 * data channel `2i` and the error channel `2i+1`. Right after the handshake the server sends, on each of the two
 * channels, one message holding only the port as an unsigned 16-bit little-endian number (client-node strips two
 * bytes from the first message of every channel). Client messages on a data channel go to the pod's port; those on
 * error or unknown channels are dropped. A failed forward writes its message to the error channel; the WebSocket
 * closes (1000) once every port's forward has ended, e.g. when the pod side closed. v4 has no half-close: a client
 * ends a forward by closing the WebSocket.
 *
 * Where the stand-in forwards: a target map sends `<namespace>/<pod>:<port>` (or `<namespace>/*:<port>`) to a real
 * local address, e.g. a ZooKeeper server on 127.0.0.1. Without a target, a Pod run by a runtime with a reachable pod
 * network (the local kubelet) is reached at its IP; in a simulated Pod nothing listens, so the forward fails with the
 * kubelet's "connection refused" message.
 */
export class PortForwarder {
  private readonly targets = new Map<string, { host: string; port: number }>();
  private readonly server: WebSocketServer;
  private readonly forwards = new Set<() => void>();

  /**
   * @param podAddress where a port of a Pod is reached when no target is set: its IP on a pod network this process
   * reaches (the local kubelet's), or undefined where nothing listens (the simulated runtime).
   */
  constructor(
    private readonly store: ObjectStore,
    targets: Record<string, string> = {},
    private readonly podAddress: (pod: KubeObject, port: number) => { host: string; port: number } | undefined = () =>
      undefined,
  ) {
    for (const [key, address] of Object.entries(targets)) {
      const match = /^(.+):(\d+)$/.exec(key);
      if (!match) throw new Error(`kube stand-in: port-forward target "${key}" is not <namespace>/<pod-or-*>:<port>`);
      this.setTarget(match[1]!, Number(match[2]), address);
    }
    this.server = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(PORT_FORWARD_PROTOCOL) ? PORT_FORWARD_PROTOCOL : false),
    });
  }

  /** Sends forwards of `port` on `<namespace>/<pod>` (or `<namespace>/*`) to `host:port`; undefined removes it. */
  setTarget(namespaceAndPod: string, port: number, address: string | undefined): void {
    if (!/^[^/]+\/[^/]+$/.test(namespaceAndPod)) {
      throw new Error(`kube stand-in: "${namespaceAndPod}" is not <namespace>/<pod> or <namespace>/*`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`kube stand-in: bad port ${port}`);
    const key = `${namespaceAndPod}:${port}`;
    if (address === undefined) {
      this.targets.delete(key);
      return;
    }
    const match = /^(.+):(\d+)$/.exec(address);
    if (!match) throw new Error(`kube stand-in: port-forward address "${address}" is not <host>:<port>`);
    this.targets.set(key, { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) });
  }

  /**
   * Checks a request in the order the API server and then the kubelet do; throws the `Status` they answer:
   * 404 for a missing Pod, 400 for one without a node or for bad `ports`, 500 for a Pod whose sandbox is not running.
   */
  prepare(namespace: string, name: string, query: URLSearchParams): PortForwardRequest {
    const pod = this.store.get(PODS, namespace, name);
    if (!pod) throw notFound(PODS, name);
    const spec = isRecord(pod.spec) ? pod.spec : {};
    if (!spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
    const ports = parsePorts(query);
    const phase = isRecord(pod.status) ? pod.status.phase : undefined;
    if (phase !== 'Running') {
      // The kubelet finds no running sandbox for the Pod; the API server passes its plain 500 on.
      throw new KubeStatusError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `error upgrading connection: pod ${name} is not running (phase ${String(phase ?? 'Pending')})`,
        reason: 'InternalError',
        code: 500,
      });
    }
    return { pod, ports };
  }

  /**
   * Answers 400 like the kubelet's handshake when the client offers subprotocols but not `v4.channel.k8s.io`, or
   * sends no valid WebSocket key or version (which the `ws` handshake would otherwise refuse without a Status).
   */
  checkHandshake(req: IncomingMessage): void {
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (offered.length > 0 && !offered.includes(PORT_FORWARD_PROTOCOL)) {
      throw badRequest(
        `unable to upgrade websocket connection: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [ ${PORT_FORWARD_PROTOCOL}]`,
      );
    }
    const version = req.headers['sec-websocket-version'];
    if (!WEBSOCKET_KEY.test(req.headers['sec-websocket-key'] ?? '') || (version !== '13' && version !== '8')) {
      throw badRequest('unable to upgrade websocket connection: missing or invalid Sec-WebSocket-Key or -Version');
    }
  }

  /** Completes the WebSocket handshake and starts forwarding; resolves with 101, or 0 when the client went away. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, request: PortForwardRequest): Promise<number> {
    return new Promise((resolve) => {
      if (socket.destroyed) {
        resolve(0);
        return;
      }
      socket.once('close', () => resolve(0));
      this.server.handleUpgrade(req, socket, head, (ws) => {
        resolve(101);
        this.forward(ws, request);
      });
    });
  }

  /** Ends every forward (the WebSockets and the connections to the targets). */
  close(): void {
    for (const end of this.forwards) end();
    this.forwards.clear();
    this.server.close();
  }

  private forward(ws: WebSocket, { pod, ports }: PortForwardRequest): void {
    const namespace = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const sandbox = (pod.metadata.uid ?? name).replaceAll('-', '');
    const streams: { port: number; target?: Socket; done: boolean }[] = ports.map((port) => ({ port, done: false }));
    const end = () => {
      for (const stream of streams) stream.target?.destroy();
      ws.terminate();
    };
    this.forwards.add(end);

    const send = (channel: number, payload: Buffer, sent?: () => void) =>
      ws.send(Buffer.concat([Buffer.of(channel), payload]), () => sent?.());
    const finish = (index: number, error?: string) => {
      const stream = streams[index]!;
      if (stream.done) return;
      stream.done = true;
      if (error) {
        const message = `error forwarding port ${stream.port} to pod ${sandbox}, uid : ${error}`;
        send(index * 2 + 1, Buffer.from(message, 'utf8'));
      }
      if (streams.every((s) => s.done)) ws.close(NORMAL_CLOSURE);
    };

    ws.on('error', () => end());
    ws.on('close', () => {
      this.forwards.delete(end);
      for (const stream of streams) stream.target?.destroy();
    });
    // The default binaryType, 'nodebuffer', delivers every message as one Buffer.
    ws.on('message', (raw) => {
      const data = raw as Buffer;
      if (data.length === 0) return;
      const channel = data[0]!;
      const stream = channel % 2 === 0 ? streams[channel / 2] : undefined;
      // Writes to an error channel or an unknown channel are dropped, as by the kubelet's wsstream.
      if (!stream?.target || stream.done) return;
      if (!stream.target.write(data.subarray(1))) {
        ws.pause();
        stream.target.once('drain', () => ws.resume());
      }
    });

    streams.forEach((stream, index) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(stream.port);
      send(index * 2, portBytes);
      send(index * 2 + 1, portBytes);
    });
    const refused = (port: number) =>
      `failed to execute portforward in network namespace "/var/run/netns/cni-${sandbox}": failed to connect to ` +
      `localhost:${port} inside namespace "${sandbox}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused`;

    streams.forEach((stream, index) => {
      const address =
        this.targets.get(`${namespace}/${name}:${stream.port}`) ??
        this.targets.get(`${namespace}/*:${stream.port}`) ??
        this.podAddress(pod, stream.port);
      if (!address || !containersRunning(pod)) {
        finish(index, refused(stream.port));
        return;
      }
      const target = connect({ host: address.host, port: address.port });
      stream.target = target;
      let unsent = 0;
      let failure: Error | undefined;
      target.on('data', (chunk: Buffer) => {
        unsent++;
        if (unsent >= MAX_UNSENT_FRAMES) target.pause();
        send(index * 2, chunk, () => {
          unsent--;
          if (unsent < MAX_UNSENT_FRAMES) target.resume();
        });
      });
      target.on('error', (error) => {
        failure = error;
      });
      target.on('close', () => {
        const code = (failure as NodeJS.ErrnoException | undefined)?.code;
        finish(index, !failure ? undefined : code === 'ECONNREFUSED' ? refused(stream.port) : failure.message);
      });
    });
  }
}

/** The kubelet's `port` parsing (the API server passes `ports` on as `port`): one or more, comma-separated. */
function parsePorts(query: URLSearchParams): number[] {
  const values = query.getAll('ports');
  if (values.length === 0) throw badRequest('query parameter "port" is required');
  const ports: number[] = [];
  for (const value of values) {
    if (value === '') throw badRequest('query parameter "port" cannot be empty');
    for (const part of value.split(',')) {
      const port = /^\d+$/.test(part) ? Number(part) : Number.NaN;
      if (!(port <= 65_535)) throw badRequest(`unable to parse "${value}" as a port: invalid syntax`);
      if (port < 1) throw badRequest(`port "${value}" must be > 0`);
      ports.push(port);
    }
  }
  return ports;
}

/** True when every container is running: a crash-looping container listens on nothing. */
function containersRunning(pod: KubeObject): boolean {
  const status = isRecord(pod.status) ? pod.status : {};
  const containers = Array.isArray(status.containerStatuses) ? status.containerStatuses.filter(isRecord) : [];
  return containers.every((c) => isRecord(c.state) && isRecord(c.state.running));
}
