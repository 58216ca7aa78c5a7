import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { JOBMANAGER_PORTS } from '../../cluster-templates/jobmanager.ts';
import { flinkInternalPorts } from '../../cluster-templates/network-policies.ts';
import { TASKMANAGER_PORTS } from '../../cluster-templates/taskmanager.ts';
import { FLINK_VERSIONS } from '../../functions/core/catalog.ts';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { buildEffectiveCluster } from '../../functions/core/effective-cluster.ts';
import { PORTS } from '../../functions/core/naming.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { platform } from './fixtures.ts';

function cluster(flinkVersion: string, haEpoch = 1) {
  const result = validateClusterSpec(
    { flinkVersion, flinkConfiguration: { 'pipeline.name': 'orders', 'taskmanager.numberOfTaskSlots': 2 } },
    platform,
  );
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return buildEffectiveCluster('acme', result.spec, platform, haEpoch);
}

describe('rendered Flink configuration', () => {
  it.each(
    FLINK_VERSIONS.flatMap((version) => [
      [version.version, 'jobmanager'] as const,
      [version.version, 'taskmanager'] as const,
    ]),
  )('matches the golden file for Flink %s (%s)', async (version, role) => {
    const rendered = cluster(version);
    await expect(rendered.configurationFiles[role]).toMatchFileSnapshot(
      `__golden__/flink-${version}-${role}.${rendered.version.configFileName}`,
    );
  });

  it('writes flink-conf.yaml for 1.x and config.yaml for 2.x', () => {
    expect(cluster('1.18').version.configFileName).toBe('flink-conf.yaml');
    expect(cluster('1.20').version.configFileName).toBe('flink-conf.yaml');
    expect(cluster('2.1').version.configFileName).toBe('config.yaml');
  });

  it('uses the 2.x names for checkpoint directories on 2.1 and the 1.x names before', () => {
    expect(cluster('2.1').configurationFiles.jobmanager).toContain('execution.checkpointing.dir: s3://');
    expect(cluster('2.1').configurationFiles.jobmanager).not.toContain('state.checkpoints.dir');
    expect(cluster('1.19').configurationFiles.jobmanager).toContain('state.checkpoints.dir: s3://');
  });

  it('renders valid YAML for 2.x whose keys match the entries', () => {
    const rendered = cluster('2.1');
    const parsed = parse(rendered.configurationFiles.taskmanager) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(rendered.configuration.taskmanager.map((entry) => entry.key));
    expect(parsed['high-availability.zookeeper.client.ensemble-tracker']).toBe(false);
  });

  it('points HA at the tenant proxy and keeps state under the HA cluster id in the tenant bucket', () => {
    const entries = Object.fromEntries(cluster('1.20').configuration.jobmanager.map((e) => [e.key, e.value]));
    expect(entries['high-availability.zookeeper.quorum']).toBe('zookeeper-proxy.tenant-acme:7451');
    expect(entries['high-availability.cluster-id']).toBe('acme-ha1');
    expect(entries['high-availability.storageDir']).toBe('s3://flinkplane-acme/acme-ha1/ha');
    expect(entries['state.checkpoints.dir']).toBe('s3://flinkplane-acme/acme-ha1/checkpoints');
    expect(entries['zookeeper.sasl.disable']).toBe(true);
    expect(entries['high-availability.zookeeper.client.ensemble-tracker']).toBe(false);
  });

  it('moves to a new HA cluster id and storage prefix in the next epoch', () => {
    const next = cluster('1.20', 2);
    expect(next.haClusterId).toBe('acme-ha2');
    expect(next.ha.storageDir).toBe('s3://flinkplane-acme/acme-ha2/ha');
  });

  it('derives the process memory from the pod memory', () => {
    const rendered = cluster('1.20');
    const jm = rendered.configuration.jobmanager.find((e) => e.key === 'jobmanager.memory.process.size');
    const tm = rendered.configuration.taskmanager.find((e) => e.key === 'taskmanager.memory.process.size');
    expect(jm?.value).toBe('1024m');
    expect(tm?.value).toBe('3072m');
  });

  it('puts JobManager-only settings only in the JobManager file and TaskManager-only ones only in the TaskManager file', () => {
    const rendered = cluster('1.20');
    expect(rendered.configurationFiles.jobmanager).toContain('restart-strategy.fixed-delay.attempts: 1440');
    expect(rendered.configurationFiles.taskmanager).not.toContain('restart-strategy');
    expect(rendered.configurationFiles.taskmanager).toContain('parallelism.default: 1');
    expect(rendered.configurationFiles.jobmanager).not.toContain('parallelism.default');
  });

  it("marks fixed and platform entries as fixed and the tenant keys as the tenant's", () => {
    const entries = cluster('1.20').configuration.jobmanager;
    expect(entries.find((e) => e.key === 'rest.port')).toMatchObject({ source: 'fixed', fixed: true });
    expect(entries.find((e) => e.key === 'high-availability.cluster-id')).toMatchObject({
      source: 'platform',
      fixed: true,
    });
    expect(entries.find((e) => e.key === 'pipeline.name')).toMatchObject({ source: 'tenant', fixed: false });
  });

  it('lets a tenant override a platform default', () => {
    const entries = cluster('1.20').configuration.taskmanager;
    expect(entries.filter((e) => e.key === 'taskmanager.numberOfTaskSlots')).toEqual([
      { key: 'taskmanager.numberOfTaskSlots', value: 2, source: 'tenant', fixed: false },
    ]);
  });
});

describe("the platform's S3 endpoint", () => {
  const spec = validateClusterSpec({}, platform);
  if (!spec.ok) throw new Error('fixture');

  it('renders no S3 endpoint without one, as on AWS', () => {
    const rendered = buildEffectiveCluster('acme', spec.spec, platform, 1);
    expect(rendered.configurationFiles.jobmanager).not.toMatch(/^s3\./m);
  });

  it('renders the endpoint and path-style access for an S3-compatible store, and never credentials', () => {
    const local = parsePlatformSettings({
      objectStorage: { endpoint: 'http://10.244.0.1:9000', pathStyleAccess: true },
    });
    for (const role of ['jobmanager', 'taskmanager'] as const) {
      const text = buildEffectiveCluster('acme', spec.spec, local, 1).configurationFiles[role];
      expect(text).toContain('s3.endpoint: http://10.244.0.1:9000');
      expect(text).toContain('s3.path.style.access: true');
      expect(text).not.toMatch(/access-key|secret-key|access\.key|secret\.key/);
    }
  });

  it.each(['s3.endpoint', 'fs.s3a.endpoint', 's3.secret-key', 's3.path.style.access'])(
    'refuses %s from a tenant',
    (key) => {
      const result = validateClusterSpec({ flinkConfiguration: { [key]: 'x' } }, platform);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.map((issue) => issue.path)).toContain(`flinkConfiguration.${key}`);
    },
  );
});

describe('ports', () => {
  const rendered = cluster('1.20');
  const value = (role: 'jobmanager' | 'taskmanager', key: string) =>
    rendered.configuration[role].find((entry) => entry.key === key)?.value;

  it('renders every port as a number taken from the one ports constant', () => {
    const known: readonly number[] = Object.values(PORTS);
    for (const role of ['jobmanager', 'taskmanager'] as const) {
      const ports = rendered.configuration[role].filter((entry) => /\.port$/.test(entry.key));
      expect(ports.length).toBeGreaterThan(3);
      for (const entry of ports) {
        expect(typeof entry.value, entry.key).toBe('number');
        expect(known, entry.key).toContain(entry.value);
      }
    }
  });

  it('opens on the containers the ports the configuration makes Flink listen on', () => {
    const jobManager = Object.fromEntries(JOBMANAGER_PORTS.map((port) => [port.name, port.containerPort]));
    expect(jobManager).toEqual({
      rpc: value('jobmanager', 'jobmanager.rpc.port'),
      blob: value('jobmanager', 'blob.server.port'),
      rest: value('jobmanager', 'rest.port'),
      metrics: value('jobmanager', 'metrics.reporter.prom.port'),
    });
    const taskManager = Object.fromEntries(TASKMANAGER_PORTS.map((port) => [port.name, port.containerPort]));
    expect(taskManager).toEqual({
      rpc: value('taskmanager', 'taskmanager.rpc.port'),
      metrics: value('taskmanager', 'metrics.reporter.prom.port'),
    });
  });

  it('opens between Flink pods every port the configuration pins, but REST and metrics, which come from outside', () => {
    const pinned = new Set(
      (['jobmanager', 'taskmanager'] as const).flatMap((role) =>
        rendered.configuration[role]
          .filter((entry) => /\.port$/.test(entry.key))
          .filter((entry) => entry.key !== 'rest.port' && entry.key !== 'metrics.reporter.prom.port')
          .map((entry) => entry.value),
      ),
    );
    expect(new Set(flinkInternalPorts().map((port) => port.port))).toEqual(pinned);
  });
});
