import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { KubeConfig } from '@kubernetes/client-node';
import { renderManifestStages } from '../../../cluster-templates/manifest-renderer.ts';
import {
  awsClientTimeouts,
  type DependencyDeadlines,
  dependencyDeadlines,
} from '../../../functions/adapters/deadlines.ts';
import { createDynamoDbClusterStore, ensureClusterTable } from '../../../functions/adapters/dynamodb-cluster-store.ts';
import { createHmacSecretSource } from '../../../functions/adapters/hmac-secret-source.ts';
import { createKubernetesApplier } from '../../../functions/adapters/kubernetes-applier.ts';
import { createS3BucketStore, s3ClientConfigForEndpoint } from '../../../functions/adapters/s3-bucket-store.ts';
import {
  type ClosableZooKeeperNamespaces,
  createZooKeeperNamespaces,
} from '../../../functions/adapters/zookeeper-namespaces.ts';
import { ControlPlane } from '../../../functions/core/control-plane.ts';
import { type PlatformSettings, parsePlatformSettings } from '../../../functions/core/platform.ts';
import type { ClusterStore, SecretSource, ZooKeeperIdentity } from '../../../functions/core/ports.ts';
import { createBearerTokenAuthenticator } from '../../../functions/http/authenticator.ts';
import { createRouter } from '../../../functions/http/router.ts';
import { type DynamoDbServer, startDynamoDb } from '../../../local/dynamodb-server.ts';
import { createHttpServer } from '../../../local/http-server.ts';
import { type KubeStandin, startKubeStandin } from '../../../local/kube-standin/server.ts';
import { CLUSTER_TABLE_NAME, derive } from '../../../local/local-control-plane.ts';
import { createLocalTenantAccess, type LocalGrant } from '../../../local/local-tenant-access.ts';
import { S3RVER_ACCOUNT_ID, S3RVER_CREDENTIALS, type S3Server, startS3 } from '../../../local/s3-server.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../../../local/zookeeper-server.ts';
import { type ApiResponse, createApiClient, type RequestOptions } from './api-client.ts';
import { type FaultingTcpProxy, startFaultingTcpProxy } from './faulting-tcp-proxy.ts';

/**
 * The control plane wired as `startLocalControlPlane` wires it, but with DynamoDB (dynalite), S3 (s3rver), ZooKeeper
 * and the Kubernetes stand-in reached through faulting TCP proxies, and an HTTP server in front of the router. The
 * stand-in also injects faults of its own into its answers. Every client has the deadlines a Lambda with
 * `timeoutMs` would give it.
 */
export interface ProxiedControlPlane {
  readonly plane: ControlPlane;
  readonly platform: PlatformSettings;
  readonly url: string;
  readonly adminToken: string;
  readonly secrets: SecretSource;
  readonly zookeeperAdmin: ZooKeeperIdentity;
  readonly access: { grants(): LocalGrant[] };
  /** The store the control plane uses: through the DynamoDB proxy. */
  readonly store: ClusterStore;
  /** The servers themselves, for checks that must not meet a fault. */
  readonly direct: {
    readonly dynamo: DynamoDbServer;
    readonly s3: S3Server;
    readonly zookeeper: ZooKeeperServer;
    readonly kube: KubeStandin;
  };
  readonly proxies: {
    readonly dynamo: FaultingTcpProxy;
    readonly s3: FaultingTcpProxy;
    readonly zookeeper: FaultingTcpProxy;
    readonly kube: FaultingTcpProxy;
  };
  /** The deadlines every client of the plane has. */
  readonly deadlines: DependencyDeadlines;
  /** The SDK clients the control plane uses (through the proxies), e.g. to add a middleware that loses a response. */
  readonly clients: { readonly dynamo: DynamoDBClient; readonly s3: S3Client };
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  registerTenant(name: string): Promise<string>;
  stop(): Promise<void>;
}

export interface ProxiedControlPlaneOptions {
  readonly seed: number;
  readonly leaseMs: number;
  readonly readinessDelayMs: number;
  readonly log: (message: string, context: Record<string, unknown>) => void;
  /** The Lambda timeout the clients' deadlines are derived from (`dependencyDeadlines`). @default 12 000 ms */
  readonly timeoutMs?: number;
}

export async function startProxiedControlPlane(options: ProxiedControlPlaneOptions): Promise<ProxiedControlPlane> {
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };
  try {
    const platformKey = randomBytes(32).toString('hex');
    const adminToken = `admin-${randomBytes(16).toString('hex')}`;
    const platform = parsePlatformSettings({});

    const dynamo = await startDynamoDb();
    stoppers.push(() => dynamo.stop());
    await ensureClusterTable(dynamo.client, CLUSTER_TABLE_NAME);
    const s3Directory = await mkdtemp(join(tmpdir(), 'flinkplane-reliability-s3-'));
    stoppers.push(() => rm(s3Directory, { recursive: true, force: true }));
    const s3 = await startS3({ directory: s3Directory });
    stoppers.push(() => s3.stop());
    const zookeeper = await startZooKeeperServer();
    stoppers.push(() => zookeeper.stop());
    const kube = await startKubeStandin({ readinessDelayMs: options.readinessDelayMs, seed: options.seed });
    stoppers.push(() => kube.stop());

    const proxyTo = async (endpoint: { host: string; port: number }, label: number) => {
      const proxy = await startFaultingTcpProxy({ target: endpoint, seed: (options.seed + label) >>> 0 });
      stoppers.push(() => proxy.close());
      return proxy;
    };
    const proxies = {
      dynamo: await proxyTo(hostPort(dynamo.endpoint), 1),
      s3: await proxyTo(hostPort(s3.endpoint), 2),
      zookeeper: await proxyTo({ host: zookeeper.host, port: zookeeper.port }, 3),
      kube: await proxyTo(hostPort(kube.url), 4),
    };
    const deadlines = dependencyDeadlines(options.timeoutMs ?? 12_000);

    const dynamoClient = new DynamoDBClient({
      endpoint: proxies.dynamo.url,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...awsClientTimeouts(deadlines),
    });
    stoppers.push(async () => dynamoClient.destroy());
    const s3Client = new S3Client({
      ...s3ClientConfigForEndpoint(proxies.s3.url),
      credentials: S3RVER_CREDENTIALS,
      ...awsClientTimeouts(deadlines),
    });
    stoppers.push(async () => s3Client.destroy());
    const zookeeperAdmin = { user: 'flinkplane', password: derive(platformKey, 'zookeeper-admin') };
    const namespaces: ClosableZooKeeperNamespaces = createZooKeeperNamespaces({
      connectString: proxies.zookeeper.address,
      adminIdentity: zookeeperAdmin,
      sessionTimeoutMs: 6_000,
      connectTimeoutMs: deadlines.zookeeper.connectTimeoutMs,
      requestTimeoutMs: deadlines.zookeeper.requestTimeoutMs,
    });
    stoppers.push(() => namespaces.close());

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kube.kubeconfigYaml().replace(kube.url, proxies.kube.url));
    const store = createDynamoDbClusterStore({ client: dynamoClient, tableName: CLUSTER_TABLE_NAME });
    const access = createLocalTenantAccess();
    const secrets = createHmacSecretSource(platformKey);
    const plane = new ControlPlane({
      platform,
      store,
      buckets: createS3BucketStore({ client: s3Client, expectedBucketOwner: S3RVER_ACCOUNT_ID }),
      zookeeper: namespaces,
      kubernetes: createKubernetesApplier({ kubeConfig: async () => kubeConfig, ...deadlines.kubernetes }),
      access,
      secrets,
      render: renderManifestStages,
      clock: { now: () => new Date() },
      leaseMs: options.leaseMs,
    });
    const handle = createRouter({
      controlPlane: plane,
      authenticate: createBearerTokenAuthenticator({ adminToken, store }),
      log: options.log,
    });
    const server: Server = createHttpServer(handle, options.log);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stoppers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const request = createApiClient(url, adminToken);

    return {
      plane,
      platform,
      url,
      adminToken,
      secrets,
      zookeeperAdmin,
      access,
      store,
      direct: { dynamo, s3, zookeeper, kube },
      proxies,
      deadlines,
      clients: { dynamo: dynamoClient, s3: s3Client },
      request,
      async registerTenant(name) {
        const response = await request('POST', '/v1/tenants', { body: { name } });
        if (response.status !== 201) {
          throw new Error(`register ${name}: ${response.status} ${JSON.stringify(response.body)}`);
        }
        return response.body.token as string;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function hostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname, port: Number(url.port) };
}
