import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { createManifestRenderer } from '../cluster-templates/manifest-renderer.ts';
import { createDynamoDbClusterStore, ensureClusterTable } from '../functions/adapters/dynamodb-cluster-store.ts';
import { createHmacSecretSource } from '../functions/adapters/hmac-secret-source.ts';
import { createKubernetesApplier } from '../functions/adapters/kubernetes-applier.ts';
import { createS3BucketStore, type S3BucketStore } from '../functions/adapters/s3-bucket-store.ts';
import {
  type ClosableZooKeeperNamespaces,
  createZooKeeperNamespaces,
  digestId,
} from '../functions/adapters/zookeeper-namespaces.ts';
import { ControlPlane } from '../functions/core/control-plane.ts';
import { FlinkplaneError } from '../functions/core/errors.ts';
import {
  type PlatformSettings,
  type PlatformSettingsInput,
  parsePlatformSettings,
} from '../functions/core/platform.ts';
import type {
  Clock,
  ClusterStore,
  SecretSource,
  TenantAccess,
  ZooKeeperIdentity,
  ZooKeeperNamespaces,
} from '../functions/core/ports.ts';
import { createBearerTokenAuthenticator } from '../functions/http/authenticator.ts';
import type { HttpRequest, HttpResponse } from '../functions/http/http-types.ts';
import { createRouter } from '../functions/http/router.ts';
import { type DynamoDbServer, startDynamoDb } from './dynamodb-server.ts';
import { type KubeStandin, startKubeStandin } from './kube-standin/server.ts';
import { createLocalTenantAccess } from './local-tenant-access.ts';
import { createLocalZooKeeperProxies, type LocalZooKeeperProxies } from './local-zookeeper-proxies.ts';
import { type S3Server, startS3 } from './s3-server.ts';
import { ZOOKEEPER_VERSION, ZooKeeperUnavailableError } from './zookeeper-artifacts.ts';
import { startZooKeeperServer, type ZooKeeperServer } from './zookeeper-server.ts';

export const CLUSTER_TABLE_NAME = 'flinkplane-clusters';

export interface LocalControlPlaneOptions {
  /** Where every store keeps its data; without one, everything lives in a temporary directory removed on stop. */
  readonly dataDir?: string;
  /** The operator's bearer token. */
  readonly adminToken: string;
  /** The key tenant ZooKeeper identities derive from (32+ bytes). */
  readonly platformKey: string;
  readonly platform?: PlatformSettingsInput;
  /** A real cluster's kubeconfig; without one the in-process Kubernetes stand-in runs. */
  readonly kubeConfig?: KubeConfig;
  /** Stand-in only: how long Deployments take to become ready. @default 50 ms */
  readonly readinessDelayMs?: number;
  readonly leaseMs?: number;
  readonly clock?: Clock;
  /**
   * Start ZooKeeper (its jars fetched from Maven Central on first use); when false, or when it cannot be fetched,
   * ZooKeeper is reported unavailable with the reason. @default true
   */
  readonly zookeeper?: boolean;
  /** Where unexpected errors are logged. @default JSON lines on stderr */
  readonly log?: (message: string, context: Record<string, unknown>) => void;
  /** Wraps the ports, e.g. to inject failures in tests. */
  readonly wrap?: <T extends object>(name: string, port: T) => T;
}

/** The parts of a running local control plane, for the server, the CLI and tests. */
export interface LocalControlPlane {
  readonly plane: ControlPlane;
  readonly handle: (request: HttpRequest) => Promise<HttpResponse>;
  readonly platform: PlatformSettings;
  readonly store: ClusterStore;
  readonly buckets: S3BucketStore;
  readonly access: TenantAccess;
  /** The tenant ZooKeeper namespaces (reported unavailable when ZooKeeper does not run). */
  readonly zookeeper: ZooKeeperNamespaces;
  readonly secrets: SecretSource;
  /** The control plane's own ZooKeeper digest identity (it has ALL on every chroot). */
  readonly zookeeperAdmin: ZooKeeperIdentity;
  readonly dynamo: DynamoDbServer;
  readonly s3: S3Server;
  readonly zookeeperServer?: ZooKeeperServer;
  readonly kube?: KubeStandin;
  /** One in-process ZooKeeper proxy per deployed tenant (when ZooKeeper runs). */
  readonly zookeeperProxies?: LocalZooKeeperProxies;
  readonly dataDir: string;
  health(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts dynalite, s3rver, ZooKeeper and the Kubernetes stand-in (or uses a real cluster) and wires the control plane. */
export async function startLocalControlPlane(options: LocalControlPlaneOptions): Promise<LocalControlPlane> {
  const ephemeral = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'flinkplane-'));
  mkdirSync(dataDir, { recursive: true });
  const stoppers: (() => Promise<void>)[] = [];
  const wrap = options.wrap ?? (<T extends object>(_name: string, port: T) => port);
  try {
    const platform = parsePlatformSettings(options.platform ?? {});
    const dynamo = await startDynamoDb(ephemeral ? {} : { path: join(dataDir, 'dynamodb') });
    stoppers.push(() => dynamo.stop());
    await ensureClusterTable(dynamo.client, CLUSTER_TABLE_NAME);
    const s3 = await startS3({ directory: join(dataDir, 's3') });
    stoppers.push(() => s3.stop());

    const zookeeperAdmin = { user: 'flinkplane', password: derive(options.platformKey, 'zookeeper-admin') };
    const secrets = createHmacSecretSource(options.platformKey);
    let zookeeperServer: ZooKeeperServer | undefined;
    let zookeeperUnavailable = 'ZooKeeper is turned off for this control plane (zookeeper: false).';
    if (options.zookeeper !== false) {
      zookeeperServer = await startZooKeeperServer(ephemeral ? {} : { dataDir: join(dataDir, 'zookeeper') }).catch(
        (error: unknown) => {
          if (!(error instanceof ZooKeeperUnavailableError)) throw error;
          zookeeperUnavailable = error.message;
          return undefined;
        },
      );
    }
    let zookeeper: ZooKeeperNamespaces & Partial<ClosableZooKeeperNamespaces> =
      unavailableZooKeeper(zookeeperUnavailable);
    if (zookeeperServer) {
      stoppers.push(() => zookeeperServer!.stop());
      const namespaces = createZooKeeperNamespaces({
        connectString: zookeeperServer.connectString,
        adminIdentity: zookeeperAdmin,
      });
      stoppers.push(() => namespaces.close());
      zookeeper = namespaces;
    }

    let kube: KubeStandin | undefined;
    let kubeConfig = options.kubeConfig;
    if (!kubeConfig) {
      kube = await startKubeStandin({
        readinessDelayMs: options.readinessDelayMs ?? 50,
        ...(ephemeral ? {} : { dataFile: join(dataDir, 'kubernetes-standin.json') }),
      });
      stoppers.push(() => kube!.stop());
      kubeConfig = kube.kubeConfig();
    }
    const fixedKubeConfig = kubeConfig;

    const store = wrap('store', createDynamoDbClusterStore({ client: dynamo.client, tableName: CLUSTER_TABLE_NAME }));
    const buckets = createS3BucketStore({ client: s3.client, tolerateUnsupported: true });
    const access = wrap('access', createLocalTenantAccess(ephemeral ? undefined : join(dataDir, 'tenant-access.json')));
    const plane = new ControlPlane({
      platform,
      store,
      buckets: wrap('buckets', buckets),
      zookeeper: wrap('zookeeper', zookeeper),
      kubernetes: wrap(
        'kubernetes',
        createKubernetesApplier({ kubeConfig: async () => fixedKubeConfig, backoffMs: 20 }),
      ),
      access,
      secrets,
      render: createManifestRenderer({ controlPlaneAclId: digestId(zookeeperAdmin) }),
      clock: options.clock ?? { now: () => new Date() },
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    let zookeeperProxies: LocalZooKeeperProxies | undefined;
    if (zookeeperServer) {
      zookeeperProxies = createLocalZooKeeperProxies({
        store,
        secrets,
        platform,
        upstream: { host: zookeeperServer.host, port: zookeeperServer.port },
        controlPlane: zookeeperAdmin,
      });
      stoppers.push(() => zookeeperProxies!.stop());
    }
    const health = async () => ({
      components: {
        dynamodb: { status: 'ok', runsOn: `dynalite at ${dynamo.endpoint} (own process, pid ${dynamo.pid})` },
        s3: { status: 'ok', runsOn: `s3rver at ${s3.endpoint} (own process, pid ${s3.pid})` },
        zookeeper: zookeeperServer
          ? {
              status: 'ok',
              runsOn: `ZooKeeper ${ZOOKEEPER_VERSION} at ${zookeeperServer.connectString}`,
              tenantProxies: zookeeperProxies?.addresses() ?? {},
            }
          : { status: 'unavailable', hint: zookeeperUnavailable },
        kubernetes: kube
          ? { status: 'ok', simulated: true, runsOn: `Kubernetes stand-in (simulated) at ${kube.url}` }
          : { status: 'ok', simulated: false, runsOn: `cluster ${fixedKubeConfig.getCurrentCluster()?.server}` },
      },
    });
    const handle = createRouter({
      controlPlane: plane,
      authenticate: createBearerTokenAuthenticator({ adminToken: options.adminToken, store }),
      log:
        options.log ?? ((message, context) => console.error(JSON.stringify({ level: 'error', message, ...context }))),
      health,
    });
    return {
      plane,
      handle,
      platform,
      store,
      buckets,
      access,
      zookeeper,
      secrets,
      zookeeperAdmin,
      dynamo,
      s3,
      dataDir,
      health,
      ...(zookeeperServer ? { zookeeperServer } : {}),
      ...(kube ? { kube } : {}),
      ...(zookeeperProxies ? { zookeeperProxies } : {}),
      async stop() {
        for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
        if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

/** A secret derived from the platform key for one purpose, so the local plane needs to keep only the key. */
export function derive(platformKey: string, purpose: string): string {
  return createHmac('sha256', platformKey).update(purpose).digest('base64url');
}

function unavailableZooKeeper(reason: string): ZooKeeperNamespaces {
  const fail = async (): Promise<never> => {
    throw new FlinkplaneError('dependency_unavailable', `ZooKeeper is unavailable. ${reason}`);
  };
  return { ensureNamespace: fail, namespaceExists: fail, deleteNamespace: fail };
}
