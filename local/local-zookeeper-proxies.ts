import { digestId } from '../functions/adapters/zookeeper-namespaces.ts';
import { tenantNames } from '../functions/core/naming.ts';
import type { PlatformSettings } from '../functions/core/platform.ts';
import type { ClusterState, ClusterStore, SecretSource, ZooKeeperIdentity } from '../functions/core/ports.ts';
import { startZooKeeperProxy, type ZooKeeperProxy } from '../zookeeper-proxy/proxy.ts';

/** States in which a tenant's cluster exists, and so does its proxy. */
const PROXIED_STATES: ReadonlySet<ClusterState> = new Set(['DEPLOYING', 'RUNNING', 'DEGRADED', 'FAILED']);

export interface LocalZooKeeperProxies {
  /** Starts a proxy for every tenant whose cluster exists and stops the ones of destroyed clusters. */
  sync(): Promise<void>;
  /** `tenant → 127.0.0.1:<port>` of the running proxies. */
  addresses(): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The local control plane's tenant ZooKeeper proxies: the same module the proxy image runs, one per deployed tenant,
 * in-process on a free loopback port, confining that tenant to its chroot with its own identity.
 */
export function createLocalZooKeeperProxies(options: {
  store: ClusterStore;
  secrets: SecretSource;
  platform: PlatformSettings;
  upstream: { host: string; port: number };
  controlPlane: ZooKeeperIdentity;
}): LocalZooKeeperProxies {
  const running = new Map<string, ZooKeeperProxy & { connectString: string }>();
  let syncing: Promise<void> | undefined;

  const syncOnce = async () => {
    const wanted = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await options.store.listClusters(100, cursor);
      for (const { value } of page.items) if (PROXIED_STATES.has(value.state)) wanted.add(value.tenant);
      cursor = page.cursor;
    } while (cursor);
    for (const tenant of wanted) {
      if (running.has(tenant)) continue;
      const proxy = await startZooKeeperProxy({
        listen: { host: '127.0.0.1', port: 0 },
        upstreams: [options.upstream],
        chroot: tenantNames(tenant, options.platform).zookeeperChroot,
        auth: options.secrets.zookeeperIdentity(tenant),
        openAclGrants: [{ scheme: 'digest', id: digestId(options.controlPlane) }],
        logger: () => undefined,
      });
      running.set(tenant, proxy);
    }
    for (const [tenant, proxy] of running) {
      if (wanted.has(tenant)) continue;
      running.delete(tenant);
      await proxy.close();
    }
  };

  return {
    sync() {
      // One sync at a time; a caller during a sync waits for it rather than starting a second proxy.
      syncing ??= syncOnce().finally(() => {
        syncing = undefined;
      });
      return syncing;
    },
    addresses: () => Object.fromEntries([...running].map(([tenant, proxy]) => [tenant, proxy.connectString])),
    async stop() {
      await syncing?.catch(() => undefined);
      await Promise.all([...running.values()].map((proxy) => proxy.close()));
      running.clear();
    },
  };
}
