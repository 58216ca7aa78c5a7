import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EKSClient } from '@aws-sdk/client-eks';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientTimeouts, dependencyDeadlines } from '../../functions/adapters/deadlines.ts';
import { createDynamoDbClusterStore } from '../../functions/adapters/dynamodb-cluster-store.ts';
import { createEksConnection } from '../../functions/adapters/eks-connection.ts';
import { readPlatformSecret } from '../../functions/adapters/hmac-secret-source.ts';
import { createKubernetesApplier } from '../../functions/adapters/kubernetes-applier.ts';
import { createPodIdentityAccess } from '../../functions/adapters/pod-identity-access.ts';
import { createS3BucketStore, s3ClientConfigForEndpoint } from '../../functions/adapters/s3-bucket-store.ts';
import { createZooKeeperNamespaces } from '../../functions/adapters/zookeeper-namespaces.ts';
import { createZooKeeperTunnel } from '../../functions/adapters/zookeeper-tunnel.ts';
import { startSilentPeer } from '../reliability/support/faulting-tcp-proxy.ts';
import { startSecretsManagerStandin } from '../support/secrets-manager-standin.ts';

/**
 * Each adapter against a peer that accepts TCP and never answers, with the deadlines a 3 s Lambda would get (1 s per
 * dependency): every call ends in `dependency_unavailable` on its own deadline. The fault suite proves the same
 * through the API for DynamoDB, S3, ZooKeeper and Kubernetes; EKS and Secrets Manager have no local stand-in there.
 */
const deadlines = dependencyDeadlines(3_000);
const CREDENTIALS = { accessKeyId: 'silent', secretAccessKey: 'silent' };
const aws = () => ({
  endpoint: peer.url,
  region: 'eu-west-1',
  credentials: CREDENTIALS,
  ...awsClientTimeouts(deadlines),
});

let peer: Awaited<ReturnType<typeof startSilentPeer>>;

beforeAll(async () => {
  peer = await startSilentPeer();
});

afterAll(async () => {
  await peer?.close();
});

function silentKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'silent', server: peer.url, skipTLSVerify: true }],
    users: [{ name: 'silent', token: 'silent' }],
    contexts: [{ name: 'silent', cluster: 'silent', user: 'silent' }],
    currentContext: 'silent',
  });
  return config;
}

/** The call's error, which must be a coded `dependency_unavailable`. */
async function unavailable(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toMatchObject({ name: 'FlinkplaneError', code: 'dependency_unavailable' });
}

describe('adapters against a silent peer, with the deadlines of a 3 s Lambda', () => {
  it('DynamoDB: a read gives up after its attempts', async () => {
    const client = new DynamoDBClient(aws());
    const store = createDynamoDbClusterStore({ client, tableName: 'clusters' });
    await unavailable(store.getCluster('acme'));
    client.destroy();
  });

  it('S3: creating a bucket gives up after its attempts', async () => {
    const client = new S3Client({
      ...s3ClientConfigForEndpoint(peer.url),
      credentials: CREDENTIALS,
      ...awsClientTimeouts(deadlines),
    });
    const store = createS3BucketStore({ client, expectedBucketOwner: '111111111111' });
    await unavailable(store.ensureBucket('flinkplane-tenant-acme', 'acme'));
    client.destroy();
  });

  it('Secrets Manager: reading the platform key gives up, where a stand-in that answers gives the key', async () => {
    const client = new SecretsManagerClient(aws());
    await unavailable(readPlatformSecret(client, 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:key'));
    client.destroy();
    const secret = { platformKey: 'k'.repeat(32), zookeeperAdmin: { user: 'flinkplane', password: 'p'.repeat(16) } };
    const standin = await startSecretsManagerStandin({ key: JSON.stringify(secret) });
    const answering = new SecretsManagerClient({ ...aws(), endpoint: standin.endpoint });
    await expect(readPlatformSecret(answering, 'key')).resolves.toEqual(secret);
    answering.destroy();
    await standin.stop();
  });

  it('EKS: describing the cluster for a kubeconfig gives up', async () => {
    const eks = new EKSClient(aws());
    const connection = createEksConnection({
      clusterName: 'platform',
      region: 'eu-west-1',
      eks,
      credentials: async () => CREDENTIALS,
    });
    await unavailable(connection.kubeConfig());
    eks.destroy();
  });

  it('EKS Pod Identity: granting access gives up', async () => {
    const eks = new EKSClient(aws());
    const access = createPodIdentityAccess({
      eks,
      clusterName: 'platform',
      roleArn: 'arn:aws:iam::111111111111:role/pods',
    });
    await unavailable(access.grant('acme', 'tenant-acme', 'flink'));
    eks.destroy();
  });

  it('Kubernetes: an apply is aborted on its per-request deadline and gives up after its attempts', async () => {
    const config = silentKubeConfig();
    const applier = createKubernetesApplier({ kubeConfig: async () => config, ...deadlines.kubernetes });
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-acme' } };
    await unavailable(applier.apply([[namespace]]));
  });

  it('ZooKeeper: the first session gives up on its connect deadline', async () => {
    const namespaces = createZooKeeperNamespaces({
      connectString: `127.0.0.1:${peer.port}`,
      adminIdentity: { user: 'flinkplane', password: 'p'.repeat(16) },
      ...deadlines.zookeeper,
    });
    await unavailable(namespaces.namespaceExists('/flinkplane/tenants/acme'));
    await namespaces.close();
  });

  it('the ZooKeeper tunnel: listing the pods through Kubernetes gives up', async () => {
    const config = silentKubeConfig();
    const tunnel = createZooKeeperTunnel({
      kubeConfig: async () => config,
      namespace: 'flinkplane-zookeeper',
      podLabelSelector: 'app.kubernetes.io/name=zookeeper',
      port: 2181,
      ...deadlines.tunnel,
    });
    await unavailable(tunnel.connectString());
    await tunnel.close();
  });
});
