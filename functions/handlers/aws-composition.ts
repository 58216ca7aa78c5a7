import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EKSClient } from '@aws-sdk/client-eks';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { KubeConfig } from '@kubernetes/client-node';
import * as z from 'zod';
import { renderManifestStages } from '../../cluster-templates/manifest-renderer.ts';
import { createDynamoDbClusterStore } from '../adapters/dynamodb-cluster-store.ts';
import { createEksConnection } from '../adapters/eks-connection.ts';
import { createHmacSecretSource } from '../adapters/hmac-secret-source.ts';
import { createKubernetesApplier } from '../adapters/kubernetes-applier.ts';
import { createPodIdentityAccess } from '../adapters/pod-identity-access.ts';
import { createS3BucketStore } from '../adapters/s3-bucket-store.ts';
import { createZooKeeperNamespaces } from '../adapters/zookeeper-namespaces.ts';
import { ControlPlane } from '../core/control-plane.ts';
import { parseLambdaEnvironment } from './environment.ts';

/** The platform key secret: the HMAC key for tenant ZooKeeper identities and the control plane's ZooKeeper digest. */
const PlatformSecretSchema = z.object({
  platformKey: z.string().min(32),
  zookeeperAdmin: z.object({ user: z.string().min(1), password: z.string().min(16) }),
});

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'flinkplane' });
export const environment = parseLambdaEnvironment();

const region = environment.AWS_REGION;
const credentials = defaultProvider();
const dynamo = new DynamoDBClient({ region });
const s3Compatible = environment.S3_COMPATIBLE_STORE === 'true';
const s3 = new S3Client({
  region,
  ...(s3Compatible
    ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
    : {}),
});
const eks = new EKSClient({ region });
const secretsManager = new SecretsManagerClient({ region });

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
  const secret = await secretsManager.send(
    new GetSecretValueCommand({ SecretId: environment.PLATFORM_KEY_SECRET_ARN }),
  );
  const platformSecret = PlatformSecretSchema.parse(JSON.parse(secret.SecretString ?? '{}'));
  const connection = createEksConnection({ clusterName: environment.EKS_CLUSTER_NAME, region, eks, credentials });
  let kubeConfig: { token: string; config: KubeConfig } | undefined;
  return new ControlPlane({
    platform: environment.platform,
    store: createDynamoDbClusterStore({ client: dynamo, tableName: environment.CLUSTER_TABLE }),
    buckets: createS3BucketStore({ client: s3, region, tolerateUnsupported: s3Compatible }),
    zookeeper: createZooKeeperNamespaces({
      connectString: environment.ZOOKEEPER_CONNECT,
      adminIdentity: platformSecret.zookeeperAdmin,
    }),
    access: createPodIdentityAccess({
      eks,
      clusterName: environment.EKS_CLUSTER_NAME,
      roleArn: environment.TENANT_ROLE_ARN,
    }),
    secrets: createHmacSecretSource(platformSecret.platformKey),
    kubernetes: createKubernetesApplier({
      kubeConfig: async () => {
        const current = await connection.kubeConfig();
        if (kubeConfig?.token !== current.token) {
          const config = new KubeConfig();
          config.loadFromOptions({
            clusters: [{ name: 'eks', server: current.server, caData: current.caData, skipTLSVerify: false }],
            users: [{ name: 'flinkplane', token: current.token }],
            contexts: [{ name: 'eks', cluster: 'eks', user: 'flinkplane' }],
            currentContext: 'eks',
          });
          kubeConfig = { token: current.token, config };
        }
        return kubeConfig.config;
      },
    }),
    render: renderManifestStages,
    clock: { now: () => new Date() },
  });
}
