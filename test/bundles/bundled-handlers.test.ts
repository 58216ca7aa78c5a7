import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClusterTable } from '../../functions/adapters/dynamodb-cluster-store.ts';
import { bundleHandler, type HandlerName } from '../../functions/handlers/bundle.ts';
import { type DynamoDbServer, startDynamoDb } from '../../local/dynamodb-server.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { S3RVER_CREDENTIALS, type S3Server, startS3 } from '../../local/s3-server.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../../local/zookeeper-server.ts';
import { type EksApiStandin, startEksApiStandin } from '../adapters/eks-api-standin.ts';
import { apiGatewayEvent } from '../support/api-gateway-event.ts';
import { startCloudFormationResponseReceiver } from '../support/cloudformation-response-receiver.ts';
import { startSecretsManagerStandin } from '../support/secrets-manager-standin.ts';
import { selfSignedCertificate } from '../support/self-signed-certificate.ts';
import { installZooKeeperEnsemble } from '../support/zookeeper-ensemble-standin.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:flinkplane-platform-key';

// The bundled Lambda files run in a fresh Node process with real dynalite, s3rver and ZooKeeper (reached through a
// Kubernetes port-forward tunnel); EKS, Kubernetes and Secrets Manager are stand-ins speaking their real protocols.
describe('bundled Lambda handlers (EKS, Kubernetes and Secrets Manager stand-ins)', () => {
  const bundles = new Map<HandlerName, string>();
  // Inside the repository, so the bundles resolve the AWS SDK as the Lambda runtime provides it.
  const outDir = mkdtempSync(join(REPO, 'node_modules', '.flinkplane-bundles-'));
  let dynamo: DynamoDbServer;
  let s3: S3Server;
  let zookeeper: ZooKeeperServer;
  let kube: KubeStandin;
  let eks: EksApiStandin;
  let secrets: Awaited<ReturnType<typeof startSecretsManagerStandin>>;
  let env: Record<string, string>;
  const s3Dir = mkdtempSync(join(tmpdir(), 'bundle-s3-'));
  const tls = selfSignedCertificate();

  beforeAll(async () => {
    for (const name of ['api', 'reconciler', 'flink-cluster-resource'] as const)
      bundles.set(name, (await bundleHandler(name, outDir)).file);
    [dynamo, s3, zookeeper, kube] = await Promise.all([
      startDynamoDb(),
      // The bundle tolerates no unimplemented S3 call, as against AWS: the front answers the settings s3rver lacks.
      startS3({ directory: s3Dir }),
      startZooKeeperServer(),
      // TLS, as EKS serves it: the handler must verify the API server against the CA that DescribeCluster returns.
      startKubeStandin({ readinessDelayMs: 20, tls }),
    ]);
    await ensureClusterTable(dynamo.client, 'flinkplane-clusters');
    // As on EKS: the ensemble runs in the cluster and the handlers reach it through a Kubernetes port-forward.
    await installZooKeeperEnsemble(kube, zookeeper.connectString);
    eks = await startEksApiStandin({
      region: 'eu-west-1',
      clusters: [{ name: 'platform', endpoint: kube.url, caData: Buffer.from(tls.cert).toString('base64') }],
    });
    secrets = await startSecretsManagerStandin({
      [SECRET_ARN]: JSON.stringify({
        platformKey: randomBytes(32).toString('hex'),
        zookeeperAdmin: { user: 'flinkplane', password: randomBytes(16).toString('hex') },
      }),
    });
    env = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-west-1',
      // s3rver checks signatures against its own fixed key pair; the other endpoints accept any.
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_EKS: eks.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      CLUSTER_TABLE: 'flinkplane-clusters',
      PLATFORM_SETTINGS: JSON.stringify({ domain: 'flink.example.com' }),
      EKS_CLUSTER_NAME: 'platform',
      TENANT_ROLE_ARN: 'arn:aws:iam::111111111111:role/flinkplane-tenant-pods',
      ZOOKEEPER_CONNECT: '',
      PLATFORM_KEY_SECRET_ARN: SECRET_ARN,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    };
  });

  afterAll(async () => {
    await Promise.all([dynamo?.stop(), s3?.stop(), zookeeper?.stop(), kube?.stop(), eks?.stop?.(), secrets?.stop()]);
    rmSync(outDir, { recursive: true, force: true });
    rmSync(s3Dir, { recursive: true, force: true });
  });

  /** Imports the bundle in a fresh Node process and calls its handler with each event in turn. */
  async function invoke(name: HandlerName, events: unknown[]): Promise<unknown[]> {
    const script = `
      const { handler } = await import(${JSON.stringify(bundles.get(name))});
      const results = [];
      for (const event of JSON.parse(process.env.EVENTS)) results.push(await handler(event, {}));
      // Lambda freezes the process after the response; here the open ZooKeeper session would keep it alive.
      process.stdout.write('@@results@@' + JSON.stringify(results), () => process.exit(0));`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...env, EVENTS: JSON.stringify(events) },
      cwd: outDir,
    });
    if (process.env.DEBUG_BUNDLES) console.log(stdout, stderr);
    return JSON.parse(stdout.slice(stdout.indexOf('@@results@@') + '@@results@@'.length)) as unknown[];
  }

  const operator = { sub: 'op-1', 'cognito:groups': '[flinkplane-operators]' };
  const acme = { sub: 'user-1', 'custom:tenant': 'acme' };
  const beta = { sub: 'user-2', 'custom:tenant': 'beta' };

  it('serves registration, catalog, deploy, status, cross-tenant refusal and validation from the bundled API handler', async () => {
    // Pods stay pending until the reconciler test, so the cluster is still DEPLOYING when the reconciler first sees it.
    kube.setReadinessDelay(600_000);
    const results = (await invoke('api', [
      apiGatewayEvent('POST', '/v1/tenants', { claims: operator, body: { name: 'acme' } }),
      apiGatewayEvent('GET', '/v1/flink-versions', { claims: acme }),
      apiGatewayEvent('PUT', '/v1/tenants/acme/flink-cluster', {
        claims: acme,
        body: { taskManager: { instances: 3 } },
      }),
      apiGatewayEvent('GET', '/v1/tenants/acme/flink-cluster', { claims: beta }),
      apiGatewayEvent('PUT', '/v1/tenants/acme/flink-cluster', {
        claims: acme,
        body: { taskManager: { memoryMB: 512 } },
      }),
      apiGatewayEvent('GET', '/v1/flink-clusters', { claims: operator, query: 'limit=10' }),
    ])) as { statusCode: number; body: string }[];
    const [registered, catalog, deployed, foreign, invalid, list] = results.map((result) => ({
      status: result.statusCode,
      body: JSON.parse(result.body),
    }));
    expect(registered).toMatchObject({ status: 201, body: { name: 'acme' } });
    expect(catalog!.status).toBe(200);
    expect(deployed).toMatchObject({ status: 202, body: { tenant: 'acme', haClusterId: 'acme-ha1', generation: 1 } });
    expect(deployed!.body.spec.taskManager.instances).toBe(3);
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'invalid_cluster_spec' } } });
    expect(list!.body.items.map((item: { tenant: string }) => item.tenant)).toEqual(['acme']);
    expect(eks.associations.map((association) => association.namespace)).toEqual(['tenant-acme']);
    expect(kube.requestLog.some((entry) => entry.subresource === 'portforward' && entry.status === 101)).toBe(true);
  });

  it('creates, updates and deletes Custom::FlinkCluster through the bundled provider and the same workflow', async () => {
    const responses = await startCloudFormationResponseReceiver();
    try {
      const base = {
        ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:flinkplane-flink-cluster-resource',
        StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/tenant-gamma/1',
        LogicalResourceId: 'Flink',
        ResourceType: 'Custom::FlinkCluster',
      };
      const properties = (spec: object) => ({
        ServiceToken: base.ServiceToken,
        Tenant: 'gamma',
        Spec: JSON.stringify(spec),
      });
      await invoke('api', [apiGatewayEvent('POST', '/v1/tenants', { claims: operator, body: { name: 'gamma' } })]);
      const invalid = await invoke('flink-cluster-resource', [
        {
          ...base,
          RequestType: 'Create',
          RequestId: 'r0',
          ResponseURL: responses.url('r0'),
          ResourceProperties: properties({ taskManager: { memoryMB: 512 } }),
        },
      ]);
      expect(invalid[0]).toMatchObject({ Status: 'FAILED' });
      expect(responses.received.get('r0')).toMatchObject({
        Status: 'FAILED',
        Reason: expect.stringContaining(
          'invalid_cluster_spec: The cluster spec is invalid: taskManager.memoryMB is 512 MB; the minimum is 1024 MB',
        ),
      });

      await invoke('flink-cluster-resource', [
        {
          ...base,
          RequestType: 'Create',
          RequestId: 'r1',
          ResponseURL: responses.url('r1'),
          ResourceProperties: properties({}),
        },
        {
          ...base,
          RequestType: 'Update',
          RequestId: 'r2',
          ResponseURL: responses.url('r2'),
          PhysicalResourceId: 'flinkplane:flink-cluster:gamma',
          ResourceProperties: properties({ taskManager: { instances: 3 } }),
          OldResourceProperties: properties({}),
        },
      ]);
      expect(responses.received.get('r1')).toMatchObject({
        Status: 'SUCCESS',
        PhysicalResourceId: 'flinkplane:flink-cluster:gamma',
        Data: {
          UiUrl: 'https://flink-cluster-ui-gamma.flink.example.com',
          HaClusterId: 'gamma-ha1',
          BucketName: 'flinkplane-gamma',
        },
      });
      expect(responses.received.get('r2')).toMatchObject({ Status: 'SUCCESS' });
      const taskManagers = kube
        .objects()
        .find(
          (object) =>
            object.kind === 'Deployment' &&
            object.metadata.namespace === 'tenant-gamma' &&
            object.metadata.name === 'flink-cluster-taskmanager',
        ) as { spec: { replicas: number } } | undefined;
      expect(taskManagers?.spec.replicas).toBe(3);

      await invoke('flink-cluster-resource', [
        {
          ...base,
          RequestType: 'Delete',
          RequestId: 'r3',
          ResponseURL: responses.url('r3'),
          PhysicalResourceId: 'flinkplane:flink-cluster:gamma',
          ResourceProperties: properties({ taskManager: { instances: 3 } }),
        },
      ]);
      expect(responses.received.get('r3')).toMatchObject({ Status: 'SUCCESS' });
      const [status] = (await invoke('api', [
        apiGatewayEvent('GET', '/v1/tenants/gamma/flink-cluster', { claims: operator }),
      ])) as {
        body: string;
      }[];
      expect(JSON.parse(status!.body)).toMatchObject({ state: 'DESTROYED', generation: 3 });
      expect(
        kube
          .objects()
          .some((object) => object.kind === 'PersistentVolumeClaim' && object.metadata.namespace === 'tenant-gamma'),
      ).toBe(true);
    } finally {
      await responses.stop();
    }
  });

  it('brings the cluster to RUNNING from the bundled reconciler handler', async () => {
    const [before] = (await invoke('api', [
      apiGatewayEvent('GET', '/v1/tenants/acme/flink-cluster', { claims: acme }),
    ])) as {
      body: string;
    }[];
    expect(JSON.parse(before!.body).state).toBe('DEPLOYING');
    kube.setReadinessDelay(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [summary] = (await invoke('reconciler', [{ source: 'aws.events', 'detail-type': 'Scheduled Event' }])) as {
      checked: number;
      changed: number;
    }[];
    expect(summary).toMatchObject({ checked: 2, failed: 0 });
    expect(summary!.changed).toBeGreaterThanOrEqual(1);
    const [status] = (await invoke('api', [
      apiGatewayEvent('GET', '/v1/tenants/acme/flink-cluster', { claims: acme }),
    ])) as {
      body: string;
    }[];
    expect(JSON.parse(status!.body).state).toBe('RUNNING');
  });
});
