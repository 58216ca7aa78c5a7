import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EKSClient } from '@aws-sdk/client-eks';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { KubeConfig } from '@kubernetes/client-node';
import { createManifestRenderer } from '../../cluster-templates/manifest-renderer.ts';
import { awsClientTimeouts, dependencyDeadlines } from '../adapters/deadlines.ts';
import { createDynamoDbClusterStore } from '../adapters/dynamodb-cluster-store.ts';
import { createEksConnection } from '../adapters/eks-connection.ts';
import { createHmacSecretSource, readPlatformSecret } from '../adapters/hmac-secret-source.ts';
import { createKubernetesApplier } from '../adapters/kubernetes-applier.ts';
import { createPodIdentityAccess } from '../adapters/pod-identity-access.ts';
import { createPodLogs } from '../adapters/pod-logs.ts';
import { createS3BucketStore } from '../adapters/s3-bucket-store.ts';
import { createS3ObjectStore } from '../adapters/s3-object-store.ts';
import { createS3UploadSigner } from '../adapters/s3-upload-signer.ts';
import {
  type ClosableZooKeeperNamespaces,
  createZooKeeperNamespaces,
  digestId,
} from '../adapters/zookeeper-namespaces.ts';
import { createZooKeeperTunnel, type ZooKeeperTunnel } from '../adapters/zookeeper-tunnel.ts';
import { ControlPlane } from '../core/control-plane.ts';
import type { ZooKeeperIdentity, ZooKeeperNamespaces } from '../core/ports.ts';
import { parseLambdaEnvironment } from './environment.ts';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'flinkplane' });
export const environment = parseLambdaEnvironment();

const region = environment.AWS_REGION;
const credentials = defaultProvider();
// Every outbound call has a deadline that fits inside this function's own timeout, so a dependency that accepts and
// never answers is a 503 (and a released lease), not a Lambda timeout.
const deadlines = dependencyDeadlines(environment.LAMBDA_TIMEOUT_SECONDS * 1000);
// Each command class resolves its middleware stack once per client rather than on every call (about 15% less CPU per
// call); the clients are never given per-call middleware, which is what the cache would not see.
const clientConfig = { region, ...awsClientTimeouts(deadlines), cacheMiddleware: true };
const dynamo = new DynamoDBClient(clientConfig);
const s3 = new S3Client(clientConfig);
const eks = new EKSClient(clientConfig);
const secretsManager = new SecretsManagerClient(clientConfig);

let controlPlane: Promise<ControlPlane> | undefined;

/** The control plane wired to AWS, built once per execution environment (the secret is read on first use). */
export function awsControlPlane(): Promise<ControlPlane> {
  controlPlane ??= build().catch((error: unknown) => {
    controlPlane = undefined;
    throw error;
  });
  return controlPlane;
}

async function build(): Promise<ControlPlane> {
  const platformSecret = await readPlatformSecret(secretsManager, environment.PLATFORM_KEY_SECRET_ARN);
  const connection = createEksConnection({ clusterName: environment.EKS_CLUSTER_NAME, region, eks, credentials });
  let cachedConfig: { token: string; config: KubeConfig } | undefined;
  const eksKubeConfig = async (): Promise<KubeConfig> => {
    const current = await connection.kubeConfig();
    if (cachedConfig?.token !== current.token) {
      const config = new KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: 'eks', server: current.server, caData: current.caData, skipTLSVerify: false }],
        users: [{ name: 'flinkplane', token: current.token }],
        contexts: [{ name: 'eks', cluster: 'eks', user: 'flinkplane' }],
        currentContext: 'eks',
      });
      cachedConfig = { token: current.token, config };
    }
    return cachedConfig.config;
  };
  const adminIdentity = platformSecret.zookeeperAdmin;
  return new ControlPlane({
    platform: environment.platform,
    store: createDynamoDbClusterStore({ client: dynamo, tableName: environment.CLUSTER_TABLE }),
    buckets: createS3BucketStore({ client: s3, region, expectedBucketOwner: environment.accountId }),
    objects: createS3ObjectStore({ client: s3, expectedBucketOwner: environment.accountId }),
    // Presigned JAR uploads act with this function's role, which may write only under the tenant buckets' `jars/`.
    uploads: createS3UploadSigner({ credentials, region }),
    zookeeper: environment.ZOOKEEPER_CONNECT
      ? createZooKeeperNamespaces({
          connectString: environment.ZOOKEEPER_CONNECT,
          adminIdentity,
          ...deadlines.zookeeper,
        })
      : tunnelledZooKeeperNamespaces(
          createZooKeeperTunnel({
            kubeConfig: eksKubeConfig,
            namespace: environment.platform.zookeeperNamespace,
            podLabelSelector: 'app.kubernetes.io/name=zookeeper',
            port: 2181,
            ...deadlines.tunnel,
            onError: (error) => logger.warn('ZooKeeper tunnel: a forward failed', { error }),
          }),
          adminIdentity,
        ),
    access: createPodIdentityAccess({
      eks,
      clusterName: environment.EKS_CLUSTER_NAME,
      roleArn: environment.TENANT_ROLE_ARN,
    }),
    secrets: createHmacSecretSource(platformSecret.platformKey),
    kubernetes: createKubernetesApplier({
      kubeConfig: eksKubeConfig,
      ...deadlines.kubernetes,
      onUnauthorized: () => connection.invalidateToken(),
    }),
    render: createManifestRenderer({ controlPlaneAclId: digestId(adminIdentity) }),
    podLogs: createPodLogs({ kubeConfig: eksKubeConfig }),
    clock: { now: () => new Date() },
    log: (message, context) => logger.error(message, context),
  });
}

/** ZooKeeper namespaces through the tunnel, opened on first use so a ZooKeeper problem never fails a cold start. */
function tunnelledZooKeeperNamespaces(tunnel: ZooKeeperTunnel, adminIdentity: ZooKeeperIdentity): ZooKeeperNamespaces {
  let namespaces: Promise<ClosableZooKeeperNamespaces> | undefined;
  const open = () => {
    namespaces ??= tunnel.connectString().then(
      (connectString) => createZooKeeperNamespaces({ connectString, adminIdentity, ...deadlines.zookeeper }),
      (error: unknown) => {
        namespaces = undefined;
        throw error;
      },
    );
    return namespaces;
  };
  return {
    ensureNamespace: async (chroot, identity) => (await open()).ensureNamespace(chroot, identity),
    namespaceExists: async (chroot) => (await open()).namespaceExists(chroot),
    deleteNamespace: async (chroot) => (await open()).deleteNamespace(chroot),
  };
}
