import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { resolveServiceEndpoints } from '../../../local/kube-standin/service-endpoints.ts';
import {
  type LocalControlPlane,
  type LocalControlPlaneOptions,
  startLocalControlPlane,
} from '../../../local/local-control-plane.ts';
import { type LocalServer, serveLocalPlane } from '../../../local/local-server.ts';
import { freePort } from '../../../local/net.ts';
import { createApiClient } from '../../support/local-api.ts';

/**
 * The local control plane (real stores, the Kubernetes stand-in with simulated Pods) behind the same server `npm start`
 * runs: the local ingress by Host header, then the console's files, then the API; the UI URL is http on its port.
 */
export interface IngressPlane {
  readonly local: LocalControlPlane;
  readonly port: number;
  /** The console's and API's origin. */
  readonly url: string;
  readonly adminToken: string;
  readonly api: ReturnType<typeof createApiClient>;
  /** What the server logged, to check that no secret is in it. */
  readonly logged: string[];
  /** `flink-cluster-ui-<tenant>.flink.localhost:<port>`. */
  vhost(tenant: string): string;
  registerTenant(name: string): Promise<string>;
  deployAndWaitRunning(tenant: string, token: string): Promise<void>;
  /** Points the tenant's JobManager Pod at `ip`, as a kubelet reports a Pod's address: through the status subresource. */
  setJobManagerIp(tenant: string, ip: string): Promise<void>;
  stop(): Promise<void>;
}

/** `options` go to the local control plane (e.g. `pods: 'kubelet'` and a pod CIDR of the suite's own). */
export async function startIngressPlane(options: Partial<LocalControlPlaneOptions> = {}): Promise<IngressPlane> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = options.adminToken ?? `operator-${randomBytes(16).toString('hex')}`;
  const logged: string[] = [];
  const local = await startLocalControlPlane({
    ...options,
    adminToken,
    platformKey: options.platformKey ?? randomBytes(32).toString('hex'),
    platform: { ...options.platform, ui: { scheme: 'http', port } },
  });
  const log = (message: string, context: Record<string, unknown>) => logged.push(JSON.stringify({ message, context }));
  let served: LocalServer;
  try {
    served = await serveLocalPlane(local, { port, adminToken, consoleUrl: url, log, connectTimeoutMs: 2_000 });
  } catch (error) {
    await local.stop();
    throw error;
  }
  const api = createApiClient(url, adminToken);
  const kube = local.kube!;

  return {
    local,
    port,
    url,
    adminToken,
    api,
    logged,
    vhost: (tenant) => `flink-cluster-ui-${tenant}.flink.localhost:${port}`,
    async registerTenant(name) {
      const registered = await api('POST', '/v1/tenants', { body: { name } });
      expect(registered.status).toBe(201);
      return registered.body.token as string;
    },
    async deployAndWaitRunning(tenant, token) {
      expect((await api('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} })).status).toBe(202);
      const deadline = Date.now() + 30_000;
      for (;;) {
        await local.plane.reconcile();
        const response = await api('GET', `/v1/tenants/${tenant}/flink-cluster`);
        if (response.body?.state === 'RUNNING') return;
        if (Date.now() > deadline) throw new Error(`${tenant} stayed ${JSON.stringify(response.body)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async setJobManagerIp(tenant, ip) {
      const namespace = `tenant-${tenant}`;
      const [endpoint] = resolveServiceEndpoints(kube.store, namespace, 'flink-cluster-jobmanager', 'rest');
      if (!endpoint) throw new Error(`${tenant} has no ready JobManager`);
      const response = await fetch(`${kube.url}/api/v1/namespaces/${namespace}/pods/${endpoint.pod}/status`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${kube.token}`, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ status: { podIP: ip, podIPs: [{ ip }] } }),
      });
      expect(response.status).toBe(200);
    },
    async stop() {
      await served.close();
      await local.stop();
    },
  };
}
