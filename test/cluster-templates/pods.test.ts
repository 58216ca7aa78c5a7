import type { V1ConfigMap, V1Deployment, V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { TenantObject } from '../../cluster-templates/index.ts';
import { FLINK_VERSIONS } from '../../functions/core/catalog.ts';
import { acmeObjects, clusterOf, DEFAULT_PLATFORM, find, NGINX_PLATFORM } from './fixtures.ts';

const JOBMANAGER = 'flink-cluster-jobmanager';
const TASKMANAGER = 'flink-cluster-taskmanager';
const PROXY = 'zookeeper-proxy';

function deployment(objects: readonly TenantObject[], name: string): V1Deployment {
  return find<V1Deployment>(objects, 'Deployment', name);
}

function container(objects: readonly TenantObject[], name: string) {
  return deployment(objects, name).spec!.template.spec!.containers[0]!;
}

function deployments(objects: readonly TenantObject[]): V1Deployment[] {
  return objects.filter((object): object is V1Deployment => object.kind === 'Deployment');
}

describe('Flink pods', () => {
  it('sizes the JobManager from the spec with requests equal to limits', () => {
    const resources = container(acmeObjects({ jobManager: { cpu: 1.25, memoryMB: 2048 } }), JOBMANAGER).resources;
    expect(resources).toEqual({
      requests: { cpu: '1250m', memory: '2048Mi' },
      limits: { cpu: '1250m', memory: '2048Mi' },
    });
  });

  it('sizes each TaskManager from the spec with requests equal to limits', () => {
    const resources = container(acmeObjects({ taskManager: { cpu: 0.5, memoryMB: 4096 } }), TASKMANAGER).resources;
    expect(resources).toEqual({
      requests: { cpu: '500m', memory: '4096Mi' },
      limits: { cpu: '500m', memory: '4096Mi' },
    });
  });

  it('runs as many TaskManagers as the spec asks for', () => {
    expect(deployment(acmeObjects({ taskManager: { instances: 7 } }), TASKMANAGER).spec?.replicas).toBe(7);
    expect(deployment(acmeObjects(), TASKMANAGER).spec?.replicas).toBe(2);
  });

  it('runs exactly one JobManager and stops the old one before starting a new one', () => {
    const spec = deployment(acmeObjects({ taskManager: { instances: 4 } }), JOBMANAGER).spec!;
    expect(spec.replicas).toBe(1);
    expect(spec.strategy?.type).toBe('Recreate');
  });

  it('starts the JobManager and the TaskManager roles of the platform image', () => {
    const objects = acmeObjects({ flinkVersion: '1.19' });
    expect(container(objects, JOBMANAGER).args).toEqual(['jobmanager']);
    expect(container(objects, TASKMANAGER).args).toEqual(['taskmanager']);
    expect(container(objects, JOBMANAGER).image).toBe(clusterOf('acme', { flinkVersion: '1.19' }).image);
  });

  it('exposes RPC, blob, REST and metrics on the JobManager and its Service', () => {
    const objects = acmeObjects();
    expect(container(objects, JOBMANAGER).ports?.map((port) => port.containerPort)).toEqual([6123, 6124, 8081, 9163]);
    expect(find<V1Service>(objects, 'Service', JOBMANAGER).spec?.ports?.map((port) => port.port)).toEqual([
      6123, 6124, 8081, 9163,
    ]);
    expect(container(objects, TASKMANAGER).ports?.map((port) => port.containerPort)).toEqual([6122, 9163]);
  });

  it('checks JobManager readiness on /config of the REST port', () => {
    const jobManager = container(acmeObjects(), JOBMANAGER);
    expect(jobManager.readinessProbe?.httpGet).toEqual({ path: '/config', port: 'rest' });
    expect(jobManager.ports?.find((port) => port.name === 'rest')?.containerPort).toBe(8081);
    expect(jobManager.livenessProbe?.tcpSocket?.port).toBe('rest');
  });

  it('mounts the JAR volume at /storage on the JobManager only', () => {
    const objects = acmeObjects();
    const jobManager = deployment(objects, JOBMANAGER).spec!.template.spec!;
    const mount = jobManager.containers[0]!.volumeMounts!.find((candidate) => candidate.mountPath === '/storage');
    expect(mount).toBeDefined();
    const volume = jobManager.volumes!.find((candidate) => candidate.name === mount!.name);
    expect(volume?.persistentVolumeClaim?.claimName).toBe('faas-volume');
    const taskManagerVolumes = deployment(objects, TASKMANAGER).spec!.template.spec!.volumes!;
    expect(taskManagerVolumes.some((candidate) => candidate.persistentVolumeClaim)).toBe(false);
  });

  it('claims 20 GiB ReadWriteOnce of the platform storage class for the JAR volume', () => {
    const claim = find<V1PersistentVolumeClaim>(acmeObjects(), 'PersistentVolumeClaim', 'faas-volume');
    expect(claim.spec?.resources?.requests).toEqual({ storage: '20Gi' });
    expect(claim.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec?.storageClassName).toBe('gp3-encrypted');
  });

  it('runs the Flink pods as the tenant service account without a Kubernetes API token', () => {
    const objects = acmeObjects();
    for (const name of [JOBMANAGER, TASKMANAGER]) {
      const spec = deployment(objects, name).spec!.template.spec!;
      expect(spec.serviceAccountName).toBe('flink-cluster');
      expect(spec.automountServiceAccountToken).toBe(false);
    }
    expect(find(objects, 'ServiceAccount', 'flink-cluster')).toMatchObject({ automountServiceAccountToken: false });
  });
});

describe('Flink configuration files', () => {
  it.each(FLINK_VERSIONS.map((version) => [version.version, version.configFileName] as const))(
    'mounts each role its own rendered file on Flink %s as /opt/flink/conf/%s',
    (flinkVersion, fileName) => {
      const cluster = clusterOf('acme', { flinkVersion });
      const objects = acmeObjects({ flinkVersion });
      const configMap = find<V1ConfigMap>(objects, 'ConfigMap', 'flink-cluster-config');
      for (const [name, role] of [
        [JOBMANAGER, 'jobmanager'],
        [TASKMANAGER, 'taskmanager'],
      ] as const) {
        const mount = container(objects, name).volumeMounts!.find(
          (candidate) => candidate.mountPath === `/opt/flink/conf/${fileName}`,
        );
        expect(mount?.subPath, name).toBe(`${fileName.replace('.yaml', '')}-${role}.yaml`);
        expect(configMap.data?.[mount!.subPath!], name).toBe(cluster.configurationFiles[role]);
      }
    },
  );

  it('names the files flink-conf for 1.x and config for 2.x', () => {
    expect(
      Object.keys(find<V1ConfigMap>(acmeObjects({ flinkVersion: '1.20' }), 'ConfigMap', 'flink-cluster-config').data!),
    ).toEqual(['flink-conf-jobmanager.yaml', 'flink-conf-taskmanager.yaml', 'logback-console.xml']);
    expect(
      Object.keys(find<V1ConfigMap>(acmeObjects({ flinkVersion: '2.1' }), 'ConfigMap', 'flink-cluster-config').data!),
    ).toEqual(['config-jobmanager.yaml', 'config-taskmanager.yaml', 'logback-console.xml']);
  });

  it('mounts the logback console configuration next to the Flink file', () => {
    const objects = acmeObjects();
    const mount = container(objects, TASKMANAGER).volumeMounts!.find(
      (candidate) => candidate.mountPath === '/opt/flink/conf/logback-console.xml',
    );
    expect(mount?.subPath).toBe('logback-console.xml');
    expect(find<V1ConfigMap>(objects, 'ConfigMap', 'flink-cluster-config').data?.['logback-console.xml']).toContain(
      'ch.qos.logback.core.ConsoleAppender',
    );
  });
});

describe('every pod', () => {
  it.each([JOBMANAGER, TASKMANAGER, PROXY])('hardens the %s pod to the restricted standard', (name) => {
    const spec = deployment(acmeObjects(), name).spec!.template.spec!;
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 9999,
      runAsGroup: 9999,
      fsGroup: 9999,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const each of spec.containers) {
      expect(each.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
    }
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it('gives every pod a /tmp emptyDir, resources with requests equal to limits, and the tenant zone', () => {
    const objects = acmeObjects({ zone: 'eu-west-1c' });
    for (const each of deployments(objects)) {
      const spec = each.spec!.template.spec!;
      expect(spec.nodeSelector, each.metadata?.name).toEqual({ 'topology.kubernetes.io/zone': 'eu-west-1c' });
      const tmp = spec.containers[0]!.volumeMounts!.find((mount) => mount.mountPath === '/tmp');
      expect(spec.volumes!.find((volume) => volume.name === tmp?.name)?.emptyDir, each.metadata?.name).toEqual({});
      const resources = spec.containers[0]!.resources!;
      expect(resources.limits, each.metadata?.name).toEqual(resources.requests);
      expect(Object.keys(resources.limits!).sort()).toEqual(['cpu', 'memory']);
    }
  });

  it('annotates every pod template for Prometheus on its metrics port', () => {
    const ports = Object.fromEntries(
      deployments(acmeObjects()).map((each) => [each.metadata!.name, each.spec!.template.metadata!.annotations!]),
    );
    expect(ports[JOBMANAGER]).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9163',
      'prometheus.io/path': '/metrics',
    });
    expect(ports[TASKMANAGER]).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9163' });
    expect(ports[PROXY]).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9164' });
  });
});

describe('ZooKeeper proxy', () => {
  it('runs with a fixed 0.1 CPU and 1024 MiB whatever the cluster size', () => {
    const resources = container(
      acmeObjects({ taskManager: { cpu: 4, memoryMB: 16_384, instances: 8 } }),
      PROXY,
    ).resources;
    expect(resources).toEqual({
      requests: { cpu: '100m', memory: '1024Mi' },
      limits: { cpu: '100m', memory: '1024Mi' },
    });
  });

  it('runs the platform proxy image with a read-only root filesystem', () => {
    const proxy = container(acmeObjects(), PROXY);
    expect(proxy.image).toBe(NGINX_PLATFORM.images.zookeeperProxy);
    expect(proxy.securityContext?.readOnlyRootFilesystem).toBe(true);
  });

  it('listens on 7451 and confines the tenant to its chroot on the platform upstream', () => {
    const proxy = container(acmeObjects(), PROXY);
    expect(proxy.args).toEqual([
      '--listen',
      '0.0.0.0:7451',
      '--upstream',
      'zookeeper.flinkplane-zookeeper.svc:2181',
      '--chroot',
      '/flinkplane/tenants/acme',
      '--auth-file',
      '/etc/zookeeper-proxy/identity',
      '--grant-acl-file',
      '/etc/zookeeper-proxy/grant-acl',
      '--metrics',
      '0.0.0.0:9164',
    ]);
    const objects = acmeObjects();
    expect(find<V1Service>(objects, 'Service', PROXY).spec?.ports?.map((port) => port.port)).toEqual([7451]);
  });

  it('reads its identity from the Secret at /etc/zookeeper-proxy/identity', () => {
    const spec = deployment(acmeObjects(), PROXY).spec!.template.spec!;
    const mount = spec.containers[0]!.volumeMounts!.find((candidate) => candidate.mountPath === '/etc/zookeeper-proxy');
    const volume = spec.volumes!.find((candidate) => candidate.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('zookeeper-proxy-identity');
    expect(volume?.secret?.optional).toBeUndefined();
  });

  it('never runs the proxy under the Flink service account that carries the tenant role', () => {
    expect(deployment(acmeObjects(), PROXY).spec!.template.spec!.serviceAccountName).toBeUndefined();
  });

  it('follows the platform upstream', () => {
    const objects = acmeObjects(
      {},
      { ...DEFAULT_PLATFORM, zookeeper: { upstream: 'zk-0.zk:2281,zk-1.zk:2281', rootPath: '/fp' } },
    );
    const args = container(objects, PROXY).args!;
    expect(args.slice(2, 6)).toEqual(['--upstream', 'zk-0.zk:2281,zk-1.zk:2281', '--chroot', '/fp/tenants/acme']);
  });
});
