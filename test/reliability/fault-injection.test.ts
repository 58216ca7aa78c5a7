import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestId } from '../../functions/adapters/zookeeper-namespaces.ts';
import { type ClusterSpec, type ClusterSpecInput, validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { tenantNames } from '../../functions/core/naming.ts';
import { hashToken } from '../../functions/core/principal.ts';
import { HTTP_STATUS_BY_CODE } from '../../functions/http/errors.ts';
import type { KubeFaults } from '../../local/kube-standin/server.ts';
import { CLUSTER_TABLE_NAME } from '../../local/local-control-plane.ts';
import { PERMS_ALL } from '../../zookeeper-proxy/raw-client.ts';
import { type ApiResponse, sleep, startReconcileLoop } from './support/api-client.ts';
import type { TcpFaults } from './support/faulting-tcp-proxy.ts';
import { type ProxiedControlPlane, startProxiedControlPlane } from './support/proxied-control-plane.ts';
import { type SeededRandom, seededRandom, suiteSeed } from './support/seeded-random.ts';
import { scanClusterTable } from './support/table-scan.ts';
import {
  appliedByControlPlane,
  expectedTenantObjects,
  SYSTEM_NAMESPACES,
  storedNamespaceObjects,
  subsetDifferences,
} from './support/tenant-objects.ts';
import { connectDirect } from './support/zookeeper-tree.ts';

const SEED = suiteSeed(20_251_121);
const TENANT_COUNT = 10;
const OPERATION_COUNT = 100;
/** A client gives up on one operation after this many answers or this long, whichever comes first. */
const MAX_ATTEMPTS = 60;
const OPERATION_DEADLINE_MS = 60_000;
const SETTLE_DEADLINE_MS = 60_000;
/** Short, so a lease a lost response leaves held expires within the test; every step renews it. */
const LEASE_MS = 3_000;

/** About 30% of the stand-in's answers are faults: 5% hang then drop, then 27% of the rest are 5xx or 429. */
const KUBE_FAULTS: KubeFaults = {
  timeoutRate: 0.05,
  hangMs: 50,
  errorRate: 0.27,
  statuses: [500, 502, 503, 504, 429],
  applyThenFail: true,
  seed: SEED,
};
const STORE_FAULTS: TcpFaults = { dropRate: 0.1, delayRate: 0.2, delayMs: [1, 15], resetRate: 0.03 };
// The ZooKeeper client reconnects on its own; the first chunks are its handshake.
const ZOOKEEPER_FAULTS: TcpFaults = { ...STORE_FAULTS, resetAfterChunks: 2 };

type Intent =
  | { readonly kind: 'deploy'; readonly label: 'deploy' | 'update' | 'redeploy'; readonly input: ClusterSpecInput }
  | { readonly kind: 'destroy' };

interface Accepted {
  readonly intent: Intent;
  readonly generation: number;
  readonly state: string;
  readonly attempts: number;
}

/** The seeded plan: which tenant gets which deploy, update or destroy, in order; every tenant deploys first. */
function planOperations(random: SeededRandom, tenants: readonly string[]): Map<string, Intent[]> {
  const plan = new Map<string, Intent[]>(tenants.map((tenant) => [tenant, []]));
  const live = new Map<string, 'none' | 'running' | 'destroyed'>(tenants.map((tenant) => [tenant, 'none']));
  const current = new Map<string, number>();
  for (let index = 0; index < OPERATION_COUNT; index += 1) {
    const tenant = index < tenants.length ? tenants[index]! : random.pick(tenants);
    const state = live.get(tenant)!;
    let intent: Intent;
    if (state === 'none') intent = { kind: 'deploy', label: 'deploy', input: randomSpec(random) };
    else if (state === 'destroyed') intent = { kind: 'deploy', label: 'redeploy', input: randomSpec(random) };
    else if (random.chance(0.3)) intent = { kind: 'destroy' };
    else intent = { kind: 'deploy', label: 'update', input: randomSpec(random) };
    if (intent.kind === 'deploy') {
      // A move to an older release than the tenant runs is refused (409 version_downgrade) unless it starts clean.
      const version = VERSIONS.indexOf(intent.input.flinkVersion as (typeof VERSIONS)[number]);
      if (version < (current.get(tenant) ?? 0)) intent = { ...intent, input: { ...intent.input, restore: 'clean' } };
      current.set(tenant, version);
    }
    live.set(tenant, intent.kind === 'destroy' ? 'destroyed' : 'running');
    plan.get(tenant)!.push(intent);
  }
  return plan;
}

/** The catalog's versions, oldest first. */
const VERSIONS = ['1.18', '1.19', '1.20', '2.1'] as const;

function randomSpec(random: SeededRandom): ClusterSpecInput {
  return {
    flinkVersion: random.pick([...VERSIONS]),
    jobManager: { memoryMB: random.pick([1024, 1536]) },
    taskManager: { instances: random.int(1, 3), memoryMB: random.pick([1024, 2048, 3072]) },
    flinkConfiguration: { 'execution.checkpointing.interval': `${random.int(5, 60)} s` },
  };
}

/** Fails unless the answer is the documented error body with the status its code maps to. */
function documentedError(response: ApiResponse, label: string): string {
  const error = response.body?.error;
  const code = error?.code as keyof typeof HTTP_STATUS_BY_CODE;
  const documented =
    error &&
    Object.keys(response.body).length === 1 &&
    Object.keys(error).sort().join() === 'code,details,message' &&
    typeof error.message === 'string' &&
    typeof error.details === 'object' &&
    HTTP_STATUS_BY_CODE[code] === response.status;
  if (!documented) {
    throw new Error(`${label}: undocumented answer ${response.status} ${JSON.stringify(response.body)} (seed ${SEED})`);
  }
  return `${response.status} ${code}`;
}

describe(`operations under injected faults: Kubernetes stand-in, and TCP faults before dynalite, s3rver and ZooKeeper (seed ${SEED})`, () => {
  let env: ProxiedControlPlane;
  const logged: { message: string; code?: unknown; error?: unknown }[] = [];
  const tenants = Array.from({ length: TENANT_COUNT }, (_, index) => `fault-${String.fromCharCode(97 + index)}`);
  const tokens = new Map<string, string>();
  /** How long each silent dependency's deploy took to be answered 503, for the suite's log. */
  const measured = new Map<string, number>();

  beforeAll(async () => {
    env = await startProxiedControlPlane({
      seed: SEED,
      leaseMs: LEASE_MS,
      readinessDelayMs: 20,
      log: (message, context) => logged.push({ message, code: context.code, error: context.error }),
    });
    for (const tenant of tenants) tokens.set(tenant, await env.registerTenant(tenant));
  }, 120_000);

  afterAll(async () => {
    if (measured.size > 0) {
      console.info(`silent peers answered 503 after (ms): ${JSON.stringify(Object.fromEntries(measured))}`);
    }
    await env?.stop();
  });

  it('converges 100 deploys, updates and destroys across 10 tenants to the last accepted intent, orphaning and losing nothing', async () => {
    const random = seededRandom(SEED);
    const plan = planOperations(random.fork('plan'), tenants);
    const accepted = new Map<string, Accepted[]>(tenants.map((tenant) => [tenant, []]));
    const refusals = new Map<string, number>();

    env.direct.kube.clearRequestLog();
    env.direct.kube.setFaults(KUBE_FAULTS);
    env.proxies.dynamo.setFaults(STORE_FAULTS);
    env.proxies.s3.setFaults(STORE_FAULTS);
    env.proxies.zookeeper.setFaults(ZOOKEEPER_FAULTS);
    const reconciler = startReconcileLoop(() => env.plane.reconcile(), 200);

    /** Sends one operation until it is accepted (202), retrying 409 and 5xx with a growing, jittered back-off. */
    const untilAccepted = async (label: string, send: () => Promise<ApiResponse>, jitter: SeededRandom) => {
      const deadline = Date.now() + OPERATION_DEADLINE_MS;
      const seen: string[] = [];
      for (let attempt = 1; ; attempt += 1) {
        const response = await send();
        if (response.status === 202) return { response, attempts: attempt };
        const answer = documentedError(response, label);
        if (response.status !== 409 && response.status < 500) {
          throw new Error(`${label}: ${answer} is no answer to retry: ${JSON.stringify(response.body)} (seed ${SEED})`);
        }
        if (response.status === 409 && typeof response.body.error.details.generation !== 'number') {
          throw new Error(`${label}: a 409 without the current generation ${JSON.stringify(response.body)}`);
        }
        seen.push(answer);
        refusals.set(answer, (refusals.get(answer) ?? 0) + 1);
        if (attempt >= MAX_ATTEMPTS || Date.now() > deadline) {
          throw new Error(`${label}: not accepted after ${attempt} attempts (${seen.join(', ')}) (seed ${SEED})`);
        }
        await sleep(Math.min(1_000, 20 * 2 ** Math.min(attempt, 6)) * (0.5 + jitter.next()));
      }
    };

    const runTenant = async (tenant: string) => {
      const token = tokens.get(tenant)!;
      const jitter = random.fork(`jitter-${tenant}`);
      for (const [index, intent] of plan.get(tenant)!.entries()) {
        const label = `${tenant} #${index} ${intent.kind === 'deploy' ? intent.label : 'destroy'}`;
        const path = `/v1/tenants/${tenant}/flink-cluster`;
        const { response, attempts } = await untilAccepted(
          label,
          () =>
            intent.kind === 'deploy'
              ? env.request('PUT', path, { token, body: intent.input })
              : env.request('DELETE', path, { token }),
          jitter,
        );
        const expectedStates = intent.kind === 'deploy' ? ['DEPLOYING', 'RUNNING'] : ['DESTROYED'];
        expect(expectedStates, `${label}: accepted as ${response.body.state}`).toContain(response.body.state);
        if (intent.kind === 'deploy') expect(response.body.spec, label).toEqual(effectiveSpec(intent.input));
        accepted
          .get(tenant)!
          .push({ intent, generation: response.body.generation, state: response.body.state, attempts });
      }
    };

    try {
      await Promise.all(tenants.map(runTenant));

      // Still under faults: the reconciler brings every cluster to its final state on its own.
      const settleDeadline = Date.now() + SETTLE_DEADLINE_MS;
      const unsettled = async () => {
        const table = await scanClusterTable(env.direct.dynamo.client, CLUSTER_TABLE_NAME);
        return tenants.filter((tenant) => {
          const record = table.clusters.get(tenant)?.value;
          return !record || record.operation || record.state !== finalState(accepted.get(tenant)!);
        });
      };
      for (let waiting = await unsettled(); waiting.length > 0; waiting = await unsettled()) {
        if (Date.now() > settleDeadline) throw new Error(`not settled: ${waiting.join(', ')} (seed ${SEED})`);
        await sleep(100);
      }
    } finally {
      await reconciler.stop();
      env.direct.kube.clearFaults();
      env.proxies.dynamo.clearFaults();
      env.proxies.s3.clearFaults();
      env.proxies.zookeeper.clearFaults();
    }

    // The faults happened as promised, so convergence means something.
    const kubeLog = env.direct.kube.requestLog.filter((entry) => entry.resource !== undefined);
    const faulted = kubeLog.filter((entry) => entry.fault !== undefined).length / kubeLog.length;
    expect(faulted, `share of faulted Kubernetes calls (seed ${SEED})`).toBeGreaterThan(0.2);
    expect(faulted, `share of faulted Kubernetes calls (seed ${SEED})`).toBeLessThan(0.4);
    for (const name of ['dynamo', 's3', 'zookeeper'] as const) {
      const stats = env.proxies[name].stats();
      expect(stats.delayedChunks, `${name} proxy delays ${JSON.stringify(stats)}`).toBeGreaterThan(0);
      expect(stats.resets + stats.dropped, `${name} proxy faults ${JSON.stringify(stats)}`).toBeGreaterThan(0);
    }
    // A dependency that does not answer is a documented 503, never a 500.
    const internal = logged.filter((entry) => entry.code === 'internal');
    expect(refusals.get('500 internal') ?? 0, `500s (seed ${SEED}): ${JSON.stringify(internal)}`).toBe(0);
    expect([...refusals.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    expect([...accepted.values()].flat()).toHaveLength(OPERATION_COUNT);

    // No record lost: every tenant and cluster is in the table, at the generation of the last accepted request.
    const table = await scanClusterTable(env.direct.dynamo.client, CLUSTER_TABLE_NAME);
    expect(table.strays).toEqual([]);
    expect([...table.tenants.keys()].sort()).toEqual([...tenants].sort());
    expect([...table.clusters.keys()].sort()).toEqual([...tenants].sort());
    const namespaces = new Set(SYSTEM_NAMESPACES);
    for (const tenant of tenants) {
      const history = accepted.get(tenant)!;
      const label = `${tenant} (seed ${SEED}; accepted ${history.map((entry) => `${entry.intent.kind}@${entry.generation}`).join(' ')})`;
      const generations = history.map((entry) => entry.generation);
      expect(generations, `${label}: generations rise`).toEqual([...generations].sort((a, b) => a - b));
      expect(new Set(generations).size, label).toBe(generations.length);
      const lastDeploy = history.findLast((entry) => entry.intent.kind === 'deploy')!.intent as Intent & {
        kind: 'deploy';
      };
      const state = finalState(history);
      const spec = effectiveSpec(lastDeploy.input);

      expect(table.tenants.get(tenant)).toMatchObject({ name: tenant, tokenHash: hashToken(tokens.get(tenant)!) });
      const record = table.clusters.get(tenant)!;
      expect(record.value, label).toMatchObject({ tenant, state, generation: history.at(-1)!.generation, spec });
      expect(record.value.operation, label).toBeUndefined();
      expect(record.value.lastError, label).toBeUndefined();
      expect(Number.isInteger(record.version) && record.version > record.value.generation, label).toBe(true);

      // The API reports exactly what DynamoDB holds, to the tenant's own token.
      const view = await env.request('GET', `/v1/tenants/${tenant}/flink-cluster`, { token: tokens.get(tenant)! });
      expect(view.status, label).toBe(200);
      expect(view.body, label).toMatchObject({
        tenant,
        state: record.value.state,
        generation: record.value.generation,
        spec: record.value.spec,
        haClusterId: `${tenant}-ha${record.value.haEpoch}`,
        operation: null,
        lastError: null,
      });

      // No orphan: the namespace holds exactly the rendered set of the final state, as applied last.
      const names = tenantNames(tenant, env.platform);
      namespaces.add(names.namespace);
      const expected = expectedTenantObjects({
        tenant,
        spec,
        platform: env.platform,
        haEpoch: record.value.haEpoch,
        identity: env.secrets.zookeeperIdentity(tenant),
        state: state as 'RUNNING' | 'DESTROYED',
      });
      const stored = storedNamespaceObjects(env.direct.kube, names.namespace);
      expect([...stored.keys()].sort(), label).toEqual([...expected.keys()].sort());
      for (const [id, object] of expected) {
        const { metadata, ...rest } = object;
        expect(
          subsetDifferences({ ...rest, metadata: { labels: metadata.labels } }, stored.get(id)),
          `${label} ${id}`,
        ).toEqual([]);
      }
      const deployments = new Set(
        [...stored.values()].filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name),
      );
      for (const pod of env.direct.kube
        .objects()
        .filter((o) => o.kind === 'Pod' && podNamespace(o) === names.namespace)) {
        const owner = (pod.metadata as { ownerReferences?: { kind: string; name: string }[] }).ownerReferences?.[0];
        expect(owner?.kind === 'Deployment' && deployments.has(owner.name), `${label}: orphaned pod`).toBe(true);
      }
      const granted = env.access.grants().some((grant) => grant.tenant === tenant);
      expect(granted, `${label}: bucket access granted`).toBe(state === 'RUNNING');
      const bucket = await env.direct.s3.client.send(new HeadBucketCommand({ Bucket: names.bucket }));
      expect(bucket.$metadata.httpStatusCode, `${label}: bucket ${names.bucket}`).toBe(200);
      await expectChroot(names.zookeeperChroot, tenant);
    }

    // Nothing lives in a namespace that belongs to no tenant, and no namespace exists for nobody.
    const all = env.direct.kube.objects();
    expect(
      all
        .filter((object) => object.kind === 'Namespace')
        .map((object) => (object.metadata as { name: string }).name)
        .sort(),
    ).toEqual([...namespaces].sort());
    const strays = all.filter((object) => {
      const namespace = podNamespace(object);
      if (namespace === undefined) return false;
      // Nothing outlives its namespace; the system namespaces hold only the cluster's own objects (its Node's Events).
      if (!namespaces.has(namespace)) return true;
      return SYSTEM_NAMESPACES.includes(namespace) && (appliedByControlPlane(object) || object.kind === 'Pod');
    });
    expect(strays.map((object) => `${object.kind} ${podNamespace(object)}/${object.metadata.name}`)).toEqual([]);
    expect(logged.filter((entry) => entry.code !== 'dependency_unavailable')).toEqual([]);
  }, 240_000);

  it.each([
    ['DynamoDB', 'dynamo', 'GET'],
    ['S3', 's3', 'PUT'],
    ['ZooKeeper', 'zookeeper', 'PUT'],
  ] as const)(
    'answers 503 dependency_unavailable while %s does not answer, and serves again once it does',
    async (_, proxy, method) => {
      const tenant = `silent-${proxy}`;
      const token = await env.registerTenant(tenant);
      const path = `/v1/tenants/${tenant}/flink-cluster`;
      const send = () => env.request(method, path, { token, ...(method === 'PUT' ? { body: {} } : {}) });
      env.proxies[proxy].setFaults({ dropRate: 1, resetRate: 1 });
      try {
        const refused = await send();
        expect(`${documentedError(refused, tenant)}`, JSON.stringify(refused.body)).toBe('503 dependency_unavailable');
        expect(JSON.stringify(refused.body)).not.toMatch(/ECONNRESET|socket|stack|at \//);
      } finally {
        env.proxies[proxy].clearFaults();
      }
      // The ZooKeeper client reconnects on its own schedule; give it a few seconds.
      const deadline = Date.now() + 15_000;
      let served = await send();
      while (served.status === 503 && Date.now() < deadline) {
        await sleep(250);
        served = await send();
      }
      expect(served.status, JSON.stringify(served.body)).toBe(method === 'PUT' ? 202 : 404);
    },
    60_000,
  );

  /** The step each silent dependency's deploy fails in: the steps before it completed, none after it ran. */
  const SILENT_STEP = { dynamo: 'authenticate', s3: 'bucket', zookeeper: 'zookeeper', kube: 'kubernetes' } as const;

  it.each([
    ['DynamoDB', 'dynamo'],
    ['S3', 's3'],
    ['ZooKeeper', 'zookeeper'],
    ['the Kubernetes API', 'kube'],
  ] as const)(
    'answers a deploy 503 dependency_unavailable while %s accepts connections and never answers, releases the lease, applies nothing after the silent step, and the reconciler re-drives the deploy once it answers',
    async (_, proxy) => {
      const tenant = `mute-${proxy}`;
      const token = await env.registerTenant(tenant);
      const names = tenantNames(tenant, env.platform);
      const path = `/v1/tenants/${tenant}/flink-cluster`;
      const label = `${tenant} after the silence`;
      const started = Date.now();
      const step = SILENT_STEP[proxy];
      env.proxies[proxy].setFaults({ silent: true });
      try {
        const refused = await env.request('PUT', path, { token, body: {} });
        const elapsedMs = Date.now() - started;
        const during = `${tenant}: answered after ${elapsedMs} ms (budget ${env.deadlines.budgetMs} ms per dependency)`;
        measured.set(proxy, elapsedMs);
        expect(documentedError(refused, during), during).toBe('503 dependency_unavailable');
        expect(env.proxies[proxy].stats().silenced, `${during}: the peer swallowed the request`).toBeGreaterThan(0);

        // While the peer is still silent: the lease is released and nothing after the failed step exists.
        const table = await scanClusterTable(env.direct.dynamo.client, CLUSTER_TABLE_NAME);
        const record = table.clusters.get(tenant)?.value;
        if (step === 'authenticate') {
          expect(record, `${during}: no intent was written`).toBeUndefined();
        } else {
          expect(record?.state, during).toBe('DEPLOYING');
          expect(record?.lastError?.code, during).toBe('dependency_unavailable');
          expect(record?.lastError?.message, during).toContain(`after step "${stepBefore(step)}"`);
          expect(Date.parse(record!.operation!.leaseUntil), `${during}: lease released`).toBeLessThanOrEqual(
            Date.now(),
          );
        }
        const reached = (later: string) => STEPS.indexOf(later) < STEPS.indexOf(step);
        expect(await chrootExists(names.zookeeperChroot), `${during}: chroot`).toBe(reached('zookeeper'));
        expect(
          env.access.grants().some((grant) => grant.tenant === tenant),
          `${during}: access`,
        ).toBe(reached('access'));
        expect(storedNamespaceObjects(env.direct.kube, names.namespace).size, `${during}: objects`).toBe(0);
      } finally {
        env.proxies[proxy].clearFaults();
      }
      if (step === 'authenticate') {
        // Nothing was accepted, so nothing is re-driven: the client's own retry is accepted.
        let retried = await env.request('PUT', path, { token, body: {} });
        for (let attempt = 0; retried.status === 503 && attempt < 20; attempt += 1) {
          await sleep(250);
          retried = await env.request('PUT', path, { token, body: {} });
        }
        expect(retried.status, JSON.stringify(retried.body)).toBe(202);
      }
      // The reconciler alone finishes the deploy once the peer answers: RUNNING with the full set of objects.
      for (let sweep = 0; ; sweep += 1) {
        const current = (await scanClusterTable(env.direct.dynamo.client, CLUSTER_TABLE_NAME)).clusters.get(tenant);
        if (current?.value.state === 'RUNNING' && !current.value.operation) break;
        if (sweep > 200) throw new Error(`${label}: not re-driven: ${JSON.stringify(current?.value)}`);
        await env.plane.reconcile().catch(() => undefined);
        await sleep(100);
      }
      const final = (await scanClusterTable(env.direct.dynamo.client, CLUSTER_TABLE_NAME)).clusters.get(tenant)!.value;
      const expected = expectedTenantObjects({
        tenant,
        spec: final.spec,
        platform: env.platform,
        haEpoch: final.haEpoch,
        identity: env.secrets.zookeeperIdentity(tenant),
        state: 'RUNNING',
      });
      const stored = storedNamespaceObjects(env.direct.kube, names.namespace);
      expect([...stored.keys()].sort(), label).toEqual([...expected.keys()].sort());
      expect(final.lastError, label).toBeUndefined();
      await expectChroot(names.zookeeperChroot, tenant);
    },
    90_000,
  );

  it('answers 201 with a working token when the tenant write landed but its response was lost', async () => {
    const lost = loseNextResponse(env, 'PutItemCommand');
    try {
      const response = await env.request('POST', '/v1/tenants', { body: { name: 'lost-register' } });
      expect(lost.fired()).toBe(true);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      const view = await env.request('GET', '/v1/tenants/lost-register/flink-cluster', { token: response.body.token });
      expect(view.body.error?.code).toBe('cluster_not_found');
    } finally {
      lost.remove();
    }
  });

  it('accepts a deploy whose intent write landed but whose response was lost, and holds no lease after it', async () => {
    const tenant = 'lost-intent';
    const token = await env.registerTenant(tenant);
    const lost = loseNextResponse(env, 'PutItemCommand');
    try {
      const response = await env.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, { token, body: {} });
      expect(lost.fired()).toBe(true);
      expect(response.status, JSON.stringify(response.body)).toBe(202);
      expect(response.body).toMatchObject({ generation: 1, operation: null });
    } finally {
      lost.remove();
    }
    const update = await env.request('PUT', `/v1/tenants/${tenant}/flink-cluster`, {
      token,
      body: { taskManager: { instances: 1 } },
    });
    expect(update.status, JSON.stringify(update.body)).toBe(202);
    expect(update.body.generation).toBe(2);
  });

  function effectiveSpec(input: ClusterSpecInput): ClusterSpec {
    const validation = validateClusterSpec(input, env.platform);
    if (!validation.ok) throw new Error(`the planned spec is invalid: ${JSON.stringify(validation.issues)}`);
    return validation.spec;
  }

  async function chrootExists(chroot: string): Promise<boolean> {
    const client = await connectDirect(env.direct.zookeeper, env.zookeeperAdmin);
    try {
      await client.getACL(chroot);
      return true;
    } catch {
      return false;
    } finally {
      client.destroy();
    }
  }

  /** The chroot exists with the tenant's and the control plane's digest ACL, read straight from ZooKeeper. */
  async function expectChroot(chroot: string, tenant: string) {
    const client = await connectDirect(env.direct.zookeeper, env.zookeeperAdmin);
    try {
      const acl = await client.getACL(chroot);
      expect(acl.map((entry) => `${entry.perms}:${entry.scheme}:${entry.id}`).sort()).toEqual(
        [digestId(env.secrets.zookeeperIdentity(tenant)), digestId(env.zookeeperAdmin)]
          .map((id) => `${PERMS_ALL}:digest:${id}`)
          .sort(),
      );
    } finally {
      client.destroy();
    }
  }
});

/**
 * Makes the SDK lose the response of the next `command` after DynamoDB applied it, as a connection reset between the
 * write and its answer would: the SDK's own retry then sends the same write again.
 */
function loseNextResponse(env: ProxiedControlPlane, command: string) {
  let armed = true;
  const name = `lose-response-${command}`;
  env.clients.dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (armed && context.commandName === command) {
        armed = false;
        throw Object.assign(new Error('socket hang up (the response was lost)'), { code: 'ECONNRESET' });
      }
      return result;
    },
    { step: 'deserialize', name },
  );
  return { fired: () => !armed, remove: () => env.clients.dynamo.middlewareStack.remove(name) };
}

/** The deploy's steps in order, as the control plane records them; `authenticate` comes before any intent. */
const STEPS = ['authenticate', 'intent', 'bucket', 'zookeeper', 'access', 'kubernetes'];

function stepBefore(step: string): string {
  return STEPS[STEPS.indexOf(step) - 1]!;
}

function finalState(history: readonly Accepted[]): 'RUNNING' | 'DESTROYED' {
  return history.at(-1)!.intent.kind === 'destroy' ? 'DESTROYED' : 'RUNNING';
}

function podNamespace(object: { metadata: unknown }): string | undefined {
  return (object.metadata as { namespace?: string }).namespace;
}
