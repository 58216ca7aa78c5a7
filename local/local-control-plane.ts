import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { createManifestRenderer } from '../cluster-templates/manifest-renderer.ts';
import { createDynamoDbClusterStore, ensureClusterTable } from '../functions/adapters/dynamodb-cluster-store.ts';
import { createFlinkRest } from '../functions/adapters/flink-rest.ts';
import { createHmacSecretSource } from '../functions/adapters/hmac-secret-source.ts';
import { createKubernetesApplier } from '../functions/adapters/kubernetes-applier.ts';
import { createPodLogs } from '../functions/adapters/pod-logs.ts';
import { createS3BucketStore } from '../functions/adapters/s3-bucket-store.ts';
import { createS3ObjectStore } from '../functions/adapters/s3-object-store.ts';
import { createS3UploadSigner } from '../functions/adapters/s3-upload-signer.ts';
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
  BucketStore,
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
import { createLocalImageTable } from './flink-runtime/image-table.ts';
import { createLocalSnapshotInspector } from './flink-runtime/snapshot-inspector.ts';
import type { KubeObject } from './kube-standin/objects.ts';
import { type KubeStandin, startKubeStandin } from './kube-standin/server.ts';
import { createLocalTenantAccess, type LocalGrant } from './local-tenant-access.ts';
import { KubeletRuntime } from './pod-runtimes/kubelet/kubelet-runtime.ts';
import { checkNetworkNamespaceSupport } from './pod-runtimes/kubelet/network.ts';
import { S3RVER_ACCOUNT_ID, S3RVER_CREDENTIALS, type S3Server, startS3 } from './s3-server.ts';
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
  /**
   * Stand-in only: how its pods run. `kubelet`: each container a real process (Flink from Maven Central, the proxy's
   * bundle) in a network namespace of its own on a bridge; needs root (CAP_NET_ADMIN). `simulated`: pods turn ready
   * after `readinessDelayMs` and run nothing, for tests and benchmarks with many tenants. @default simulated
   */
  readonly pods?: 'kubelet' | 'simulated';
  /** Simulated pods only: how long Deployments take to become ready. @default 50 ms */
  readonly readinessDelayMs?: number;
  /** Receives progress lines while a Flink image is fetched from Maven Central for the first time. @default none */
  readonly progress?: (line: string) => void;
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
  readonly buckets: BucketStore;
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
  /** How the stand-in's pods run (undefined with a real cluster). */
  readonly pods?: 'kubelet' | 'simulated';
  /** The pod network's gateway, where pods reach the stores (kubelet pods only). */
  readonly gateway?: string;
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
    const requested = parsePlatformSettings(options.platform ?? {});
    const access = wrap('access', createLocalTenantAccess(ephemeral ? undefined : join(dataDir, 'tenant-access.json')));
    // Real pods need their network before the stores, which listen on its gateway so pods reach them over the bridge.
    let kubelet: KubeletRuntime | undefined;
    if (!options.kubeConfig && options.pods === 'kubelet') {
      const support = await checkNetworkNamespaceSupport();
      if (!support.ok) throw new Error(`Real pods need network namespaces: ${support.reason}`);
      kubelet = await KubeletRuntime.start({
        images: createLocalImageTable({
          platform: requested,
          ...(options.progress ? { progress: options.progress } : {}),
          environment: (pod) => podIdentityEnvironment(pod, access.grants()),
        }),
        dataDir: join(dataDir, 'kubelet'),
        podCidr: requested.podCidr,
        nodeName: 'local-node',
      });
      const started = kubelet;
      stoppers.push(() => started.stop());
    }
    const storesHost = kubelet?.node().address ?? '127.0.0.1';

    const dynamo = await startDynamoDb(ephemeral ? {} : { path: join(dataDir, 'dynamodb') });
    stoppers.push(() => dynamo.stop());
    await ensureClusterTable(dynamo.client, CLUSTER_TABLE_NAME);
    // Pods and rendered configuration name the stores' addresses, so a plane on a kept data dir keeps its ports.
    const ports = ephemeral ? undefined : keptPorts(join(dataDir, 'ports.json'));
    const s3 = await startS3({ directory: join(dataDir, 's3'), host: storesHost, ...ports?.wanted('s3') }).catch(
      (error: unknown) => {
        if (!ports?.wanted('s3').port) throw error;
        return startS3({ directory: join(dataDir, 's3'), host: storesHost });
      },
    );
    ports?.keep('s3', Number(new URL(s3.endpoint).port));
    stoppers.push(() => s3.stop());

    const zookeeperAdmin = { user: 'flinkplane', password: derive(options.platformKey, 'zookeeper-admin') };
    const secrets = createHmacSecretSource(options.platformKey);
    let zookeeperServer: ZooKeeperServer | undefined;
    let zookeeperUnavailable = 'ZooKeeper is turned off for this control plane (zookeeper: false).';
    if (options.zookeeper !== false) {
      const start = (port?: number) =>
        startZooKeeperServer({
          clientPortAddress: storesHost,
          ...(port ? { port } : {}),
          ...(ephemeral ? {} : { dataDir: join(dataDir, 'zookeeper') }),
          ...(options.progress ? { progress: options.progress } : {}),
        });
      const wanted = ports?.wanted('zookeeper').port;
      zookeeperServer = await (wanted ? start(wanted).catch(() => start()) : start()).catch((error: unknown) => {
        if (!(error instanceof ZooKeeperUnavailableError)) throw error;
        zookeeperUnavailable = error.message;
        return undefined;
      });
    }
    let zookeeper: ZooKeeperNamespaces & Partial<ClosableZooKeeperNamespaces> =
      unavailableZooKeeper(zookeeperUnavailable);
    if (zookeeperServer) {
      ports?.keep('zookeeper', zookeeperServer.port);
      stoppers.push(() => zookeeperServer!.stop());
      const namespaces = createZooKeeperNamespaces({
        connectString: zookeeperServer.connectString,
        adminIdentity: zookeeperAdmin,
      });
      stoppers.push(() => namespaces.close());
      zookeeper = namespaces;
    }
    // The tenant proxies and Flink reach this plane's stores, wherever they listen; a real cluster keeps its own.
    const platform = options.kubeConfig
      ? requested
      : parsePlatformSettings({
          ...options.platform,
          zookeeper: {
            ...options.platform?.zookeeper,
            ...(zookeeperServer ? { upstream: zookeeperServer.connectString } : {}),
          },
          objectStorage: { endpoint: s3.endpoint, pathStyleAccess: true },
        });

    let kube: KubeStandin | undefined;
    let kubeConfig = options.kubeConfig;
    if (!kubeConfig) {
      kube = await startKubeStandin({
        readinessDelayMs: options.readinessDelayMs ?? 50,
        ...(kubelet ? { podRuntime: kubelet } : {}),
        ...(ephemeral ? {} : { dataFile: join(dataDir, 'kubernetes-standin.json') }),
      });
      stoppers.push(() => kube!.stop());
      // Stopping the stand-in stops its kubelet, which removes the bridge ZooKeeper listens on: the client closes
      // before, or its close request is never answered and its socket keeps the process alive.
      const namespaces = zookeeper;
      if (kubelet) stoppers.push(async () => namespaces.close?.());
      kubeConfig = kube.kubeConfig();
    }
    const fixedKubeConfig = kubeConfig;

    const store = wrap('store', createDynamoDbClusterStore({ client: dynamo.client, tableName: CLUSTER_TABLE_NAME }));
    const buckets = createS3BucketStore({ client: s3.client, expectedBucketOwner: S3RVER_ACCOUNT_ID });
    const log =
      options.log ?? ((message, context) => console.error(JSON.stringify({ level: 'error', message, ...context })));
    const plane = new ControlPlane({
      platform,
      store,
      buckets: wrap('buckets', buckets),
      objects: wrap('objects', createS3ObjectStore({ client: s3.client, expectedBucketOwner: S3RVER_ACCOUNT_ID })),
      // Presigned JAR uploads point at the local S3 server, so curl can PUT to them as to S3.
      uploads: createS3UploadSigner({ credentials: S3RVER_CREDENTIALS, region: 'us-east-1', endpoint: s3.endpoint }),
      zookeeper: wrap('zookeeper', zookeeper),
      kubernetes: wrap(
        'kubernetes',
        createKubernetesApplier({ kubeConfig: async () => fixedKubeConfig, backoffMs: 20 }),
      ),
      access,
      secrets,
      render: createManifestRenderer({ controlPlaneAclId: digestId(zookeeperAdmin) }),
      podLogs: wrap('podLogs', createPodLogs({ kubeConfig: async () => fixedKubeConfig })),
      clock: options.clock ?? { now: () => new Date() },
      // Simulated pods run no Flink to ask; real ones (and a real cluster) answer through a port-forward.
      ...(kube && !kubelet ? {} : { flinkRest: createFlinkRest({ kubeConfig: async () => fixedKubeConfig }) }),
      // A JVM per snapshot on the Flink version's own classpath, fetched from Maven Central on first use.
      snapshotInspector: wrap('snapshotInspector', createLocalSnapshotInspector({ s3: s3.client })),
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      log,
    });
    const health = async () => ({
      components: {
        dynamodb: { status: 'ok', runsOn: `dynalite at ${dynamo.endpoint} (own process, pid ${dynamo.pid})` },
        s3: { status: 'ok', runsOn: `s3rver at ${s3.endpoint} (own process, pid ${s3.pid})` },
        zookeeper: zookeeperServer
          ? { status: 'ok', runsOn: `ZooKeeper ${ZOOKEEPER_VERSION} at ${zookeeperServer.connectString}` }
          : { status: 'unavailable', hint: zookeeperUnavailable },
        kubernetes: kube
          ? {
              status: 'ok',
              simulated: true,
              pods: kube.podRuntime.kind,
              runsOn: `Kubernetes stand-in (simulated API) at ${kube.url}; ${
                kubelet
                  ? `pods run as real processes on the bridge ${kubelet.node().address} (${platform.podCidr})`
                  : 'pods are simulated (nothing runs)'
              }`,
            }
          : { status: 'ok', simulated: false, runsOn: `cluster ${fixedKubeConfig.getCurrentCluster()?.server}` },
      },
    });
    const handle = createRouter({
      controlPlane: plane,
      authenticate: createBearerTokenAuthenticator({ adminToken: options.adminToken, store }),
      log,
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
      ...(kube ? { kube, pods: kubelet ? ('kubelet' as const) : ('simulated' as const) } : {}),
      ...(kubelet ? { gateway: kubelet.node().address } : {}),
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

/**
 * The ports the stores listened on last time, kept in the data dir: the objects already applied (the proxies'
 * `--upstream`, Flink's `s3.endpoint`) name them. A port taken meanwhile is given up for a free one.
 */
function keptPorts(file: string) {
  let kept: Record<string, number> = {};
  try {
    kept = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    // First start on this data dir.
  }
  return {
    wanted: (name: string): { port?: number } => (kept[name] ? { port: kept[name] } : {}),
    keep(name: string, port: number) {
      kept = { ...kept, [name]: port };
      writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`);
    },
  };
}

/**
 * What EKS Pod Identity gives a pod whose service account has an association: credentials for the tenant's bucket,
 * in the environment, where S3A's default provider chain finds them. The local S3 server has one account and no IAM,
 * so this models only when a pod has credentials (granted, and not after destroy revoked them), not their scope.
 */
function podIdentityEnvironment(pod: KubeObject, grants: readonly LocalGrant[]): Record<string, string> {
  const spec = (pod.spec ?? {}) as { serviceAccountName?: string };
  const granted = grants.some(
    (grant) => grant.namespace === pod.metadata.namespace && grant.serviceAccount === spec.serviceAccountName,
  );
  if (!granted) return {};
  return {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

function unavailableZooKeeper(reason: string): ZooKeeperNamespaces {
  const fail = async (): Promise<never> => {
    throw new FlinkplaneError('dependency_unavailable', `ZooKeeper is unavailable. ${reason}`);
  };
  return { ensureNamespace: fail, namespaceExists: fail, deleteNamespace: fail };
}
