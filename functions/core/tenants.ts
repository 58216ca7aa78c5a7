/** Tenants: registration, the operator's list, and the purge that deletes everything a tenant retained. */
import type { ClusterRecords } from './cluster-records.ts';
import { FlinkplaneError } from './errors.ts';
import { COMPONENT_NAMES, tenantNames } from './naming.ts';
import type { ClusterRecord } from './ports.ts';
import { hashToken, newTenantToken, type Principal, requireOperator } from './principal.ts';
import { validateTenantName } from './tenant-name.ts';

export class Tenants {
  private readonly records: ClusterRecords;

  constructor(records: ClusterRecords) {
    this.records = records;
  }

  /** Registers a tenant (operator only); the token is returned once and stored only as a hash. */
  async register(principal: Principal, name: unknown): Promise<{ name: string; token: string }> {
    requireOperator(principal);
    const issues = validateTenantName(name, 'name');
    if (issues.length > 0) {
      throw new FlinkplaneError('invalid_request', issues.map((issue) => issue.message).join('; '), { issues });
    }
    const tenant = name as string;
    const token = newTenantToken(tenant);
    await this.records.deps.store.createTenant({
      name: tenant,
      tokenHash: hashToken(token),
      createdAt: this.records.now(),
    });
    return { name: tenant, token };
  }

  /** Tenants with their cluster's state (operator only). */
  async list(principal: Principal, limit: number, cursor?: string) {
    requireOperator(principal);
    const { store } = this.records.deps;
    const page = await store.listTenants(limit, cursor);
    const items = await Promise.all(
      page.items.map(async (tenant) => {
        const cluster = await store.getCluster(tenant.name);
        return { name: tenant.name, createdAt: tenant.createdAt, clusterState: cluster?.value.state ?? null };
      }),
    );
    return { items, cursor: page.cursor };
  }

  /**
   * Deletes everything a tenant retained — namespace, volume, bucket, ZooKeeper namespace — and the tenant itself.
   * Operator only, confirmed by the tenant's name, and only once the cluster is destroyed. Idempotent.
   */
  async purge(principal: Principal, tenant: string, confirm: unknown): Promise<{ tenant: string; purged: string[] }> {
    const { records } = this;
    const { deps } = records;
    requireOperator(principal);
    if (confirm !== tenant) {
      throw new FlinkplaneError(
        'invalid_request',
        `Purging deletes every retained resource; confirm with confirm=${tenant}`,
        {
          field: 'confirm',
          value: confirm ?? null,
          rule: 'equal to the tenant name',
        },
      );
    }
    await records.requireTenant(tenant);
    const current = await deps.store.getCluster(tenant);
    const purgeRetry = current?.value.operation?.kind === 'purge';
    if (current && (current.value.state !== 'DESTROYED' || (current.value.operation && !purgeRetry))) {
      throw new FlinkplaneError('conflict', `Destroy the cluster of ${tenant} before purging it`, {
        tenant,
        state: current.value.state,
        generation: current.value.generation,
      });
    }
    if (current) {
      // Hold the tenant while purging: a deploy that starts now finds the lease, or loses the race for the record.
      const hold: ClusterRecord = {
        ...current.value,
        operation: {
          kind: 'purge',
          generation: current.value.generation,
          step: 'intent',
          leaseUntil: records.leaseUntil(),
        },
        updatedAt: records.now(),
      };
      await records.persist(hold, current.version);
    }
    const names = tenantNames(tenant, deps.platform);
    await deps.access.revoke(tenant, names.namespace, names.serviceAccount);
    await deps.kubernetes.deleteNamespace(names.namespace);
    await deps.buckets.deleteBucket(names.bucket);
    await deps.zookeeper.deleteNamespace(names.zookeeperChroot);
    await deps.store.deleteTenant(tenant);
    return {
      tenant,
      purged: [
        `namespace ${names.namespace} (with volume ${COMPONENT_NAMES.volume})`,
        `bucket ${names.bucket}`,
        `ZooKeeper namespace ${names.zookeeperChroot}`,
        `tenant ${tenant}`,
      ],
    };
  }
}
