/**
 * The ZooKeeper tunnel against a real ZooKeeper 3.8 server and real ZooKeeper clients, through the kube stand-in's
 * pod port-forward (the API server/kubelet WebSocket protocol, `v4.channel.k8s.io`, over TLS with a bearer token).
 * Kubernetes has no real component here, so the stand-in plays the API server; it forwards the simulated ZooKeeper
 * pods' port 2181 to the real server.
 */
import { get as httpsGet } from 'node:https';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import ZooKeeper from 'zookeeper';
import { createZooKeeperNamespaces, digestId } from '../../functions/adapters/zookeeper-namespaces.ts';
import { createZooKeeperTunnel, type ZooKeeperTunnel } from '../../functions/adapters/zookeeper-tunnel.ts';
import { FlinkplaneError } from '../../functions/core/errors.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import type { ZooKeeperIdentity } from '../../functions/core/ports.ts';
import { buildZookeeperEnsemble } from '../../infra/kubernetes/zookeeper.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { freePort } from '../../local/net.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../../local/zookeeper-server.ts';
import { selfSignedCertificate } from '../support/self-signed-certificate.ts';
import { connectZooKeeper, type TestZooKeeper } from '../support/zookeeper-client.ts';

const NAMESPACE = 'flinkplane-zookeeper';
const SELECTOR = 'app.kubernetes.io/name=zookeeper';
const TOKEN = 'control-plane-token';
const ADMIN: ZooKeeperIdentity = { user: 'flinkplane-admin', password: 'admin-secret-password' };
const ACME: ZooKeeperIdentity = { user: 'tenant-acme', password: 'acme-secret-password' };
const { constants } = ZooKeeper;

let zookeeper: ZooKeeperServer;
let standin: KubeStandin;
let tls: { key: string; cert: string };
const tunnels: ZooKeeperTunnel[] = [];
const sessions: TestZooKeeper[] = [];

/** A tunnel to the stand-in's ZooKeeper pods, closed after each test. */
function tunnel(
  overrides: {
    podLabelSelector?: string;
    port?: number;
    kubeConfig?: () => Promise<KubeConfig>;
    onError?: (e: FlinkplaneError) => void;
  } = {},
): ZooKeeperTunnel {
  const created = createZooKeeperTunnel({
    kubeConfig: async () => standin.kubeConfig(),
    namespace: NAMESPACE,
    podLabelSelector: SELECTOR,
    port: 2181,
    apiTimeoutMs: 5_000,
    ...overrides,
  });
  tunnels.push(created);
  return created;
}

async function session(connectString: string): Promise<TestZooKeeper> {
  const opened = await connectZooKeeper(connectString);
  sessions.push(opened);
  return opened;
}

async function waitForReadyPods(kubeConfig: KubeConfig, selector: string, count: number): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (let attempt = 0; attempt < 200; attempt++) {
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: selector });
    const ready = pods.items.filter((pod) =>
      pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    );
    if (ready.length === count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`pods matching ${selector} did not become ready`);
}

async function until(check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !check(); attempt++) await new Promise((r) => setTimeout(r, 10));
}

function forwards() {
  return standin.requestLog.filter((entry) => entry.subresource === 'portforward');
}

beforeAll(async () => {
  tls = selfSignedCertificate();
  [zookeeper, standin] = await Promise.all([
    startZooKeeperServer(),
    startKubeStandin({ tls, token: TOKEN, readinessDelayMs: 20 }),
  ]);
  // The ensemble's real namespace and StatefulSet (3 replicas), so the selector is the one the platform labels with.
  const platform = parsePlatformSettings({ storageClassName: 'gp3' });
  const ensemble = buildZookeeperEnsemble({ namespace: NAMESPACE, storageClassName: 'gp3' }, platform);
  const kubeConfig = standin.kubeConfig();
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: ensemble.namespace });
  const statefulSet = ensemble.objects.find((object) => object.kind === 'StatefulSet') as V1StatefulSet;
  await kubeConfig.makeApiClient(AppsV1Api).createNamespacedStatefulSet({ namespace: NAMESPACE, body: statefulSet });
  await waitForReadyPods(kubeConfig, SELECTOR, 3);
  standin.setPortForwardTarget(`${NAMESPACE}/*`, 2181, zookeeper.connectString);
});

afterEach(async () => {
  for (const opened of sessions.splice(0)) opened.close();
  await Promise.all(tunnels.splice(0).map((created) => created.close()));
  standin.clearFaults();
});

afterAll(async () => {
  await standin?.stop();
  await zookeeper?.stop();
});

describe('ZooKeeper tunnel through the kube stand-in port-forward', () => {
  it('creates a tenant chroot with its digest ACL that a direct client sees', async () => {
    const connectString = await tunnel().connectString();
    expect(connectString).toMatch(/^127\.0\.0\.1:\d+$/);
    const namespaces = createZooKeeperNamespaces({ connectString, adminIdentity: ADMIN });
    try {
      await namespaces.ensureNamespace('/flinkplane/tenants/acme', ACME);
    } finally {
      await namespaces.close();
    }

    const direct = new ZooKeeper({
      connect: zookeeper.connectString,
      timeout: 10_000,
      debug_level: constants.ZOO_LOG_LEVEL_ERROR,
    });
    try {
      await new Promise<void>((resolve) => {
        direct.once('connect', () => resolve());
        direct.init({});
      });
      await new Promise<void>((resolve, reject) =>
        direct.add_auth('digest', `${ADMIN.user}:${ADMIN.password}`, (rc: number) =>
          rc === 0 ? resolve() : reject(new Error(`add_auth: ${rc}`)),
        ),
      );
      const [acl] = (await direct.get_acl('/flinkplane/tenants/acme')) as unknown as [
        { perms: number; scheme: string; auth: string }[],
      ];
      expect(acl).toHaveLength(2);
      expect(acl).toEqual(
        expect.arrayContaining([
          { perms: constants.ZOO_PERM_ALL, scheme: 'digest', auth: digestId(ACME) },
          { perms: constants.ZOO_PERM_ALL, scheme: 'digest', auth: digestId(ADMIN) },
        ]),
      );
    } finally {
      direct.close();
    }
  });

  it('carries several concurrent sessions, each forwarded to one of the Ready pods in turn', async () => {
    const connectString = await tunnel().connectString();
    standin.clearRequestLog();
    const opened = await Promise.all([1, 2, 3, 4, 5, 6].map(() => session(connectString)));
    await opened[0]!.createTree('/tunnel/concurrent');
    await Promise.all(opened.map((client, index) => client.create(`/tunnel/concurrent/session-${index}`, `${index}`)));
    const direct = await session(zookeeper.connectString);
    for (const index of [0, 1, 2, 3, 4, 5]) {
      expect(await direct.getData(`/tunnel/concurrent/session-${index}`)).toBe(`${index}`);
    }
    expect(new Set(forwards().map((entry) => entry.name))).toEqual(
      new Set(['zookeeper-0', 'zookeeper-1', 'zookeeper-2']),
    );
  });

  it('shows every forward in the request log as a WebSocket GET on pods/portforward', async () => {
    standin.clearRequestLog();
    const connectString = await tunnel().connectString();
    await session(connectString);
    const entries = forwards();
    // The probe of connectString() and the session's connection.
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        method: 'GET',
        verb: 'get',
        resource: 'pods',
        subresource: 'portforward',
        namespace: NAMESPACE,
        query: { ports: '2181' },
        status: 101,
      });
    }
  });

  it('answers dependency_unavailable when no pod matches the selector', async () => {
    const error = await tunnel({ podLabelSelector: 'app.kubernetes.io/name=nothing' })
      .connectString()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FlinkplaneError);
    expect((error as FlinkplaneError).code).toBe('dependency_unavailable');
    expect((error as FlinkplaneError).message).toContain('No Ready ZooKeeper pod');
    expect((error as FlinkplaneError).details).toMatchObject({ matchingPods: 0 });
  });

  it('closes a connection it cannot forward once its pods are gone and reports dependency_unavailable', async () => {
    const apps = standin.kubeConfig().makeApiClient(AppsV1Api);
    await apps.createNamespacedStatefulSet({
      namespace: NAMESPACE,
      body: statefulSet('flaky', 'registry.example/zk:1'),
    });
    await waitForReadyPods(standin.kubeConfig(), 'app=flaky', 1);
    const reported: FlinkplaneError[] = [];
    const connectString = await tunnel({
      podLabelSelector: 'app=flaky',
      onError: (e) => reported.push(e),
    }).connectString();
    await apps.deleteNamespacedStatefulSet({ namespace: NAMESPACE, name: 'flaky' });

    const [host, port] = connectString.split(':') as [string, string];
    const outcome = await new Promise<string>((resolve) => {
      const socket = tcpConnect(Number(port), host);
      socket.on('error', (e) => resolve(`error ${e.message}`));
      socket.on('close', () => resolve('closed'));
    });
    expect(outcome).toBe('closed');
    expect(reported.map((e) => [e.code, e.message.includes('No Ready ZooKeeper pod')])).toEqual([
      ['dependency_unavailable', true],
    ]);
    // The tunnel still serves: the process did not crash and the listener is open.
    expect(await (await session(await tunnel().connectString())).exists('/')).toBe(true);
  });

  it('closes a connection whose pod refuses the port and reports the kubelet error', async () => {
    const reported: FlinkplaneError[] = [];
    // Nothing listens on 2182 in the pods: the handshake succeeds, the error channel says "connection refused".
    const connectString = await tunnel({ port: 2182, onError: (e) => reported.push(e) }).connectString();
    const [host, port] = connectString.split(':') as [string, string];
    const outcome = await new Promise<string>((resolve) => {
      const socket = tcpConnect(Number(port), host);
      socket.on('error', (e) => resolve(`error ${e.message}`));
      socket.on('close', () => resolve('closed'));
    });
    expect(outcome).toBe('closed');
    expect(reported).toHaveLength(1);
    expect(reported[0]!.code).toBe('dependency_unavailable');
    expect(reported[0]!.message).toMatch(/port 2182 .*connection refused/);
  });

  it('answers dependency_unavailable for pods that exist but are not Ready', async () => {
    const kubeConfig = standin.kubeConfig();
    await kubeConfig.makeApiClient(AppsV1Api).createNamespacedStatefulSet({
      namespace: NAMESPACE,
      body: statefulSet('broken', 'registry.example/does-not-exist:1'),
    });
    const error = await tunnel({ podLabelSelector: 'app=broken' })
      .connectString()
      .catch((caught: unknown) => caught);
    expect((error as FlinkplaneError).code).toBe('dependency_unavailable');
    expect((error as FlinkplaneError).details).toMatchObject({ matchingPods: 1 });
  });

  it('answers dependency_unavailable with 401 when the stand-in does not get its token', async () => {
    const withoutToken = async () => {
      const kubeConfig = standin.kubeConfig();
      kubeConfig.loadFromString(standin.kubeconfigYaml().replace(TOKEN, 'not-the-token'));
      return kubeConfig;
    };
    const error = await tunnel({ kubeConfig: withoutToken })
      .connectString()
      .catch((caught: unknown) => caught);
    expect((error as FlinkplaneError).code).toBe('dependency_unavailable');
    expect((error as FlinkplaneError).details).toMatchObject({ status: 401 });
  });

  it('answers dependency_unavailable when the API server cannot be reached', async () => {
    const unreachable = async () => {
      const kubeConfig = standin.kubeConfig();
      kubeConfig.loadFromString(standin.kubeconfigYaml().replace(standin.url, `https://127.0.0.1:${await freePort()}`));
      return kubeConfig;
    };
    const error = await tunnel({ kubeConfig: unreachable })
      .connectString()
      .catch((caught: unknown) => caught);
    expect((error as FlinkplaneError).code).toBe('dependency_unavailable');
    expect((error as FlinkplaneError).message).toMatch(/could not be reached .*ECONNREFUSED/);
  });

  it('answers dependency_unavailable with 403 when the API server forbids the port-forward', async () => {
    standin.setFaults({ resources: ['pods/portforward'], errorRate: 1, statuses: [403] });
    const error = await tunnel()
      .connectString()
      .catch((caught: unknown) => caught);
    expect((error as FlinkplaneError).code).toBe('dependency_unavailable');
    expect((error as FlinkplaneError).details).toMatchObject({ status: 403 });
    expect((error as FlinkplaneError).message).toContain('Role');
  });

  it('lists the pods again when a forward fails and carries the connection to another pod', async () => {
    const reported: FlinkplaneError[] = [];
    const connectString = await tunnel({ onError: (e) => reported.push(e) }).connectString();
    // connectString() listed zookeeper-0..2 and probed zookeeper-0, so the next connection goes to zookeeper-1. It
    // restarts and stays Pending: a forward to it gets 500.
    standin.setReadinessDelay(60_000);
    try {
      await standin
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .deleteNamespacedPod({ namespace: NAMESPACE, name: 'zookeeper-1' });
      standin.clearRequestLog();
      const opened = await session(connectString);
      expect(await opened.exists('/')).toBe(true);
      // Pod requests only: the client may also read discovery documents.
      const requests = standin.requestLog
        .filter((e) => e.resource === 'pods')
        .map((e) => `${e.verb} ${e.resource}${e.name ? ` ${e.name}` : ''} ${e.status}`);
      expect(requests).toEqual([
        'get pods zookeeper-1 500',
        'list pods 200',
        expect.stringMatching(/^get pods zookeeper-[02] 101$/),
      ]);
      // The same connection was carried on: the ZooKeeper client never saw the failure.
      expect(reported).toEqual([]);
    } finally {
      standin.setReadinessDelay(20);
      await waitForReadyPods(standin.kubeConfig(), SELECTOR, 3);
    }
  });

  it('stops listening and ends the forwarded connections on close', async () => {
    const created = tunnel();
    const connectString = await created.connectString();
    const [host, port] = connectString.split(':') as [string, string];
    standin.clearRequestLog();
    const forwarded = tcpConnect(Number(port), host);
    const ended = new Promise<void>((resolve) => forwarded.on('close', () => resolve()));
    forwarded.on('error', () => {});
    await until(() => forwards().some((entry) => entry.status === 101));
    await created.close();
    await ended;
    const refused = await new Promise<string>((resolve) => {
      const socket = tcpConnect(Number(port), host);
      socket.on('connect', () => resolve('connected'));
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

/** A one-replica StatefulSet labelled `app=<name>`; an image containing `does-not-exist` never becomes Ready. */
function statefulSet(name: string, image: string): V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'zookeeper', image }] },
      },
    },
  };
}

describe('kube stand-in pods/portforward (raw WebSocket client)', () => {
  let echo: Server;
  let echoPort: number;

  beforeAll(async () => {
    // A tiny TCP echo server standing in for the pod's process; "bye" makes it close the connection.
    echo = createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', (data) => (data.toString() === 'bye' ? socket.end() : socket.write(data)));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoPort = (echo.address() as { port: number }).port;
    standin.setPortForwardTarget(`${NAMESPACE}/zookeeper-0`, 7777, `127.0.0.1:${echoPort}`);
  });

  afterAll(async () => {
    await new Promise((resolve) => echo.close(resolve));
  });

  type Opened = { ws: WebSocket; messages: Buffer[]; closed: Promise<number> };

  function open(path: string, protocols = ['v4.channel.k8s.io'], token = TOKEN): Promise<Opened> {
    const url = `${standin.url.replace('https://', 'wss://')}${path}`;
    const ws = new WebSocket(url, protocols, { headers: { Authorization: `Bearer ${token}` }, ca: tls.cert });
    const messages: Buffer[] = [];
    ws.on('message', (data) => messages.push(data as Buffer));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      ws.on('open', () => resolve({ ws, messages, closed }));
      ws.on('error', reject);
    });
  }

  /** The status and `Status` body of a refused upgrade. */
  function refusal(path: string, protocols = ['v4.channel.k8s.io'], token = TOKEN): Promise<[number, unknown]> {
    const url = `${standin.url.replace('https://', 'wss://')}${path}`;
    const ws = new WebSocket(url, protocols, { headers: { Authorization: `Bearer ${token}` }, ca: tls.cert });
    return new Promise((resolve, reject) => {
      ws.on('error', () => {});
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve([response.statusCode ?? 0, JSON.parse(Buffer.concat(chunks).toString())]));
      });
    });
  }

  const pod0 = `/api/v1/namespaces/${NAMESPACE}/pods/zookeeper-0/portforward`;

  it('sends the port, little-endian, as the first message of the data and the error channel', async () => {
    const { ws, messages } = await open(`${pod0}?ports=7777`);
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    await until(() => messages.length >= 2);
    // 7777 = 0x1E61.
    expect(messages.slice(0, 2)).toEqual([Buffer.from([0, 0x61, 0x1e]), Buffer.from([1, 0x61, 0x1e])]);
    ws.close();
  });

  it('carries data channel messages to the pod port and back, and drops writes to the error channel', async () => {
    const { ws, messages } = await open(`${pod0}?ports=7777`);
    ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('not forwarded')]));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping')]));
    await until(() => messages.length >= 3);
    expect(messages.slice(2).map((m) => [m[0], m.subarray(1).toString()])).toEqual([[0, 'ping']]);
    ws.close();
  });

  it('gives the second port channels 2 and 3, reports a refused port there and closes after the last forward', async () => {
    const { ws, messages, closed } = await open(`${pod0}?ports=7777,9`);
    await until(() => messages.some((m) => m[0] === 3 && m.length > 3));
    expect(messages.slice(0, 4).map((m) => [...m])).toEqual([
      [0, 0x61, 0x1e],
      [1, 0x61, 0x1e],
      [2, 9, 0],
      [3, 9, 0],
    ]);
    const error = messages
      .find((m) => m[0] === 3 && m.length > 3)!
      .subarray(1)
      .toString();
    expect(error).toMatch(/^error forwarding port 9 to pod .*connection refused$/);
    // Port 7777 still works; when its pod side closes, every forward has ended and the WebSocket closes normally.
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('bye')]));
    expect(await closed).toBe(1000);
  });

  it('refuses a missing pod with 404, a bad port with 400 and a foreign subprotocol with 400', async () => {
    expect(await refusal(`/api/v1/namespaces/${NAMESPACE}/pods/zookeeper-9/portforward?ports=2181`)).toEqual([
      404,
      expect.objectContaining({ kind: 'Status', reason: 'NotFound', message: 'pods "zookeeper-9" not found' }),
    ]);
    expect(await refusal(`${pod0}?ports=http`)).toEqual([400, expect.objectContaining({ reason: 'BadRequest' })]);
    expect(await refusal(`${pod0}`)).toEqual([
      400,
      expect.objectContaining({ message: 'query parameter "port" is required' }),
    ]);
    expect(await refusal(`${pod0}?ports=7777`, ['v5.channel.k8s.io'])).toEqual([
      400,
      expect.objectContaining({ reason: 'BadRequest' }),
    ]);
  });

  it('refuses an upgrade without the bearer token with 401', async () => {
    expect(await refusal(`${pod0}?ports=7777`, ['v4.channel.k8s.io'], 'guessed')).toEqual([
      401,
      expect.objectContaining({ reason: 'Unauthorized' }),
    ]);
  });

  it('advertises pods/portforward with the create and get verbs in discovery', async () => {
    const list = (await standin.kubeConfig().makeApiClient(CoreV1Api).getAPIResources()).resources;
    expect(list.find((resource) => resource.name === 'pods/portforward')).toMatchObject({
      kind: 'PodPortForwardOptions',
      namespaced: true,
      verbs: ['create', 'get'],
    });
  });

  it('answers a plain request to portforward with 400 Upgrade request required', async () => {
    const [status, body] = await new Promise<[number, string]>((resolve, reject) => {
      const request = httpsGet(
        `${standin.url}${pod0}?ports=7777`,
        { ca: tls.cert, headers: { Authorization: `Bearer ${TOKEN}` } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve([response.statusCode ?? 0, Buffer.concat(chunks).toString()]));
        },
      );
      request.on('error', reject);
    });
    expect(status).toBe(400);
    expect(JSON.parse(body)).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: 'Upgrade request required',
    });
  });
});
