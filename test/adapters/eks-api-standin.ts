import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EKSClient } from '@aws-sdk/client-eks';

/**
 * A stand-in for the EKS control-plane API (there is no local EKS): a loopback HTTP server answering the REST-JSON
 * routes the adapters use, with the request and response shapes of the real service, so the real `EKSClient`
 * serialises and parses them.
 */
export type EksApiStandin = {
  endpoint: string;
  /** An `EKSClient` pointed at the stand-in, with static test credentials. */
  client: EKSClient;
  /** Every request seen, e.g. `GET /clusters/prod`. */
  readonly requests: string[];
  /** The stored associations, as the service would describe them. */
  readonly associations: StoredAssociation[];
  /** Runs before each request is answered, e.g. to simulate a concurrent change. */
  beforeRequest?: (method: string, path: string) => void;
  stop(): Promise<void>;
};

export type StandinCluster = { name: string; endpoint?: string; caData?: string; status?: string };

export type StoredAssociation = {
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  associationArn: string;
  associationId: string;
  tags: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
};

const ACCOUNT = '111122223333';

export async function startEksApiStandin(options: {
  region: string;
  clusters: StandinCluster[];
  /** Page size of ListPodIdentityAssociations when the caller sends no maxResults. */
  listPageSize?: number;
}): Promise<EksApiStandin> {
  const requests: string[] = [];
  const associations: StoredAssociation[] = [];
  const clusters = new Map(options.clusters.map((cluster) => [cluster.name, cluster]));

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      sendError(response, 500, 'ServerException', error instanceof Error ? error.message : String(error));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://standin');
    requests.push(`${request.method} ${url.pathname}`);
    standin.beforeRequest?.(request.method ?? '', url.pathname);
    if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
      return sendError(response, 403, 'UnrecognizedClientException', 'The request is not signed.');
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'clusters' || parts[1] === undefined) {
      return sendError(response, 404, 'UnknownOperationException', 'No such route');
    }
    const cluster = clusters.get(parts[1]);
    if (!cluster)
      return sendError(response, 404, 'ResourceNotFoundException', `No cluster found for name: ${parts[1]}.`);

    if (parts.length === 2 && request.method === 'GET') {
      return send(response, 200, { cluster: describe(cluster) });
    }
    if (parts[2] !== 'pod-identity-associations') return sendError(response, 404, 'UnknownOperationException', '');

    if (parts.length === 3 && request.method === 'GET') {
      const namespace = url.searchParams.get('namespace');
      const serviceAccount = url.searchParams.get('serviceAccount');
      const pageSize = Number(url.searchParams.get('maxResults') ?? options.listPageSize ?? 100);
      const start = Number(url.searchParams.get('nextToken') ?? '0');
      const matching = associations.filter(
        (entry) =>
          entry.clusterName === cluster.name &&
          (namespace === null || entry.namespace === namespace) &&
          (serviceAccount === null || entry.serviceAccount === serviceAccount),
      );
      const page = matching.slice(start, start + pageSize);
      const body: Record<string, unknown> = {
        associations: page.map(({ clusterName, namespace, serviceAccount, associationArn, associationId }) => ({
          clusterName,
          namespace,
          serviceAccount,
          associationArn,
          associationId,
        })),
      };
      if (start + pageSize < matching.length) body.nextToken = String(start + pageSize);
      return send(response, 200, body);
    }

    if (parts.length === 3 && request.method === 'POST') {
      const input = JSON.parse(await readBody(request)) as Partial<StoredAssociation> & { clientRequestToken?: string };
      for (const field of ['namespace', 'serviceAccount', 'roleArn'] as const) {
        if (typeof input[field] !== 'string' || input[field] === '') {
          return sendError(response, 400, 'InvalidParameterException', `${field} is required`);
        }
      }
      const existing = associations.find(
        (entry) =>
          entry.clusterName === cluster.name &&
          entry.namespace === input.namespace &&
          entry.serviceAccount === input.serviceAccount,
      );
      if (existing) {
        return sendError(
          response,
          409,
          'ResourceInUseException',
          `Association already exists: ${existing.associationArn}`,
        );
      }
      const associationId = `a-${randomBytes(9).toString('hex').slice(0, 17)}`;
      const now = Date.now() / 1000;
      const created: StoredAssociation = {
        clusterName: cluster.name,
        namespace: input.namespace!,
        serviceAccount: input.serviceAccount!,
        roleArn: input.roleArn!,
        associationArn: `arn:aws:eks:${options.region}:${ACCOUNT}:podidentityassociation/${cluster.name}/${associationId}`,
        associationId,
        tags: input.tags ?? {},
        createdAt: now,
        modifiedAt: now,
      };
      associations.push(created);
      return send(response, 200, { association: created });
    }

    if (parts.length === 4 && request.method === 'DELETE') {
      const index = associations.findIndex(
        (entry) => entry.clusterName === cluster.name && entry.associationId === parts[3],
      );
      if (index < 0) {
        return sendError(
          response,
          404,
          'ResourceNotFoundException',
          `No Pod Identity Association found for ${parts[3]}`,
        );
      }
      const [deleted] = associations.splice(index, 1);
      return send(response, 200, { association: deleted });
    }
    return sendError(response, 405, 'UnknownOperationException', 'Method not allowed');
  }

  function describe(cluster: StandinCluster) {
    return {
      name: cluster.name,
      arn: `arn:aws:eks:${options.region}:${ACCOUNT}:cluster/${cluster.name}`,
      createdAt: 1_700_000_000.5,
      version: '1.33',
      status: cluster.status ?? 'ACTIVE',
      ...(cluster.endpoint === undefined ? {} : { endpoint: cluster.endpoint }),
      ...(cluster.caData === undefined ? {} : { certificateAuthority: { data: cluster.caData } }),
      platformVersion: 'eks.5',
      tags: {},
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new EKSClient({
    endpoint,
    region: options.region,
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
  });
  const standin: EksApiStandin = {
    endpoint,
    client,
    requests,
    associations,
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standin;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomBytes(16).toString('hex'),
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ message });
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': type,
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
