import { isRecord, type JsonRecord, type KubeObject } from './objects.ts';
import type { ResourceDef } from './resources.ts';

/**
 * The defaulting the real API server applies to the resources Flinkplane writes, so that what a client reads
 * back looks like what a cluster returns (`spec.replicas: 1`, `protocol: TCP`, `imagePullPolicy`, ...). Only the
 * common defaults are filled; exotic fields are left as sent. Mutates `obj`, which must be a private copy.
 */
export function applyDefaults(def: ResourceDef, obj: KubeObject): void {
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  switch (def.resource) {
    case 'deployments':
      if (!spec) return;
      fill(spec, 'replicas', 1);
      fill(spec, 'revisionHistoryLimit', 10);
      fill(spec, 'progressDeadlineSeconds', 600);
      fill(spec, 'strategy', { type: 'RollingUpdate' });
      if (isRecord(spec.strategy) && spec.strategy.type === 'RollingUpdate') {
        fill(spec.strategy, 'rollingUpdate', {});
        if (isRecord(spec.strategy.rollingUpdate)) {
          fill(spec.strategy.rollingUpdate, 'maxUnavailable', '25%');
          fill(spec.strategy.rollingUpdate, 'maxSurge', '25%');
        }
      }
      podTemplateDefaults(spec.template);
      return;
    case 'statefulsets':
      if (!spec) return;
      fill(spec, 'replicas', 1);
      fill(spec, 'podManagementPolicy', 'OrderedReady');
      fill(spec, 'revisionHistoryLimit', 10);
      fill(spec, 'updateStrategy', { type: 'RollingUpdate' });
      if (isRecord(spec.updateStrategy) && spec.updateStrategy.type === 'RollingUpdate') {
        fill(spec.updateStrategy, 'rollingUpdate', { partition: 0 });
      }
      fill(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
      if (Array.isArray(spec.volumeClaimTemplates)) {
        for (const claim of spec.volumeClaimTemplates) {
          if (isRecord(claim)) {
            fill(claim, 'apiVersion', 'v1');
            fill(claim, 'kind', 'PersistentVolumeClaim');
            if (isRecord(claim.spec)) fill(claim.spec, 'volumeMode', 'Filesystem');
          }
        }
      }
      podTemplateDefaults(spec.template);
      return;
    case 'pods':
      if (spec) podSpecDefaults(spec);
      return;
    case 'services':
      if (!spec) return;
      fill(spec, 'type', 'ClusterIP');
      fill(spec, 'sessionAffinity', 'None');
      if (spec.type !== 'ExternalName') {
        fill(spec, 'ipFamilies', ['IPv4']);
        fill(spec, 'ipFamilyPolicy', 'SingleStack');
        fill(spec, 'internalTrafficPolicy', 'Cluster');
      }
      for (const port of records(spec.ports)) {
        fill(port, 'protocol', 'TCP');
        if (port.port !== undefined) fill(port, 'targetPort', port.port);
      }
      return;
    case 'persistentvolumeclaims':
      if (spec) fill(spec, 'volumeMode', 'Filesystem');
      return;
    case 'secrets':
      fill(obj, 'type', 'Opaque');
      return;
    case 'networkpolicies':
      if (spec) fill(spec, 'policyTypes', spec.egress === undefined ? ['Ingress'] : ['Ingress', 'Egress']);
      return;
    case 'namespaces':
      fill(obj, 'spec', { finalizers: ['kubernetes'] });
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
      return;
  }
}

function podTemplateDefaults(template: unknown): void {
  if (isRecord(template) && isRecord(template.spec)) podSpecDefaults(template.spec);
}

function podSpecDefaults(spec: JsonRecord): void {
  fill(spec, 'restartPolicy', 'Always');
  fill(spec, 'terminationGracePeriodSeconds', 30);
  fill(spec, 'dnsPolicy', 'ClusterFirst');
  fill(spec, 'securityContext', {});
  fill(spec, 'schedulerName', 'default-scheduler');
  for (const container of [...records(spec.initContainers), ...records(spec.containers)]) {
    fill(container, 'terminationMessagePath', '/dev/termination-log');
    fill(container, 'terminationMessagePolicy', 'File');
    fill(container, 'imagePullPolicy', pullPolicy(container.image));
    fill(container, 'resources', {});
    for (const port of records(container.ports)) fill(port, 'protocol', 'TCP');
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const p = container[probe];
      if (!isRecord(p)) continue;
      fill(p, 'timeoutSeconds', 1);
      fill(p, 'periodSeconds', 10);
      fill(p, 'successThreshold', 1);
      fill(p, 'failureThreshold', 3);
    }
  }
  for (const volume of records(spec.volumes)) {
    if (isRecord(volume.configMap)) fill(volume.configMap, 'defaultMode', 420);
    if (isRecord(volume.secret)) fill(volume.secret, 'defaultMode', 420);
  }
}

function pullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  if (lastSegment.includes('@')) return 'IfNotPresent';
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function records(value: unknown): JsonRecord[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function fill(target: JsonRecord, key: string, value: unknown): void {
  if (target[key] === undefined) target[key] = value;
}
