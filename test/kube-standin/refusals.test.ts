/**
 * What the kube stand-in refuses as a real API server does (through the official client): changes to a bound
 * PersistentVolumeClaim, malformed or contradictory quantities, invalid NetworkPolicy CIDRs.
 */
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  StorageV1Api,
  type V1Deployment,
  type V1NetworkPolicy,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';
import { failure } from '../support/kube-failure.ts';

let standin: KubeStandin;
let objects: KubernetesObjectApi;
let apps: AppsV1Api;
let networking: NetworkingV1Api;
const namespace = 'refusals';

beforeAll(async () => {
  standin = await startKubeStandin();
  const kc = standin.kubeConfig();
  objects = KubernetesObjectApi.makeApiClient(kc);
  apps = kc.makeApiClient(AppsV1Api);
  networking = kc.makeApiClient(NetworkingV1Api);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await standin.stop();
});

/** The JAR volume as the cluster templates render it, applied as the applier applies it. */
function jarVolume(name: string, storage = '20Gi', storageClassName = 'gp3'): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage } } },
  };
}

function apply<T extends object>(obj: T) {
  return objects.patch(obj, undefined, undefined, 'flinkplane', true, PatchStrategy.ServerSideApply);
}

describe('kube stand-in bound PersistentVolumeClaims', () => {
  it('accepts the same spec applied again without a change', async () => {
    const first = await apply(jarVolume('faas-volume'));
    const again = await apply(jarVolume('faas-volume'));
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  it('answers a changed storage class with 422 Invalid: the spec of a bound claim is immutable', async () => {
    await apply(jarVolume('class-change'));
    const { code, body } = await failure(apply(jarVolume('class-change', '20Gi', 'gp2')));
    expect(code).toBe(422);
    expect(body).toMatchObject({
      reason: 'Invalid',
      message:
        'PersistentVolumeClaim "class-change" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      details: { kind: 'PersistentVolumeClaim', causes: [{ reason: 'FieldValueForbidden', field: 'spec' }] },
    });
  });

  it('answers a shrunk storage request with 422 Invalid', async () => {
    await apply(jarVolume('shrink'));
    const { code, body } = await failure(apply(jarVolume('shrink', '10Gi')));
    expect(code).toBe(422);
    expect(body.message).toBe(
      'PersistentVolumeClaim "shrink" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    );
  });

  it('lets the storage request grow only when the StorageClass allows volume expansion', async () => {
    await apply(jarVolume('grow', '20Gi', 'fixed'));
    const refused = await failure(apply(jarVolume('grow', '30Gi', 'fixed')));
    expect(refused.code).toBe(403);
    expect(refused.body.message).toBe(
      'persistentvolumeclaims "grow" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
    const storage = standin.kubeConfig().makeApiClient(StorageV1Api);
    await storage.createStorageClass({
      body: { metadata: { name: 'expandable' }, provisioner: 'ebs.csi.aws.com', allowVolumeExpansion: true },
    });
    await apply(jarVolume('grow-ok', '20Gi', 'expandable'));
    const grown = await apply(jarVolume('grow-ok', '30Gi', 'expandable'));
    expect(grown.spec?.resources?.requests?.storage).toBe('30Gi');
  });

  it('answers a claim whose storage request does not parse with 400, as the real decoder does', async () => {
    const { code, body } = await failure(apply(jarVolume('garbled', '20 gigs')));
    expect(code).toBe(400);
    expect(body.message).toBe(
      `PersistentVolumeClaim in version "v1" cannot be handled as a PersistentVolumeClaim: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
  });
});

function deployment(name: string, resources: Record<string, Record<string, string>>): V1Deployment {
  return {
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'flink:1.20', resources }] },
      },
    },
  };
}

describe('kube stand-in quantities', () => {
  it('accepts well-formed requests within their limits', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace,
      body: deployment('sized', { requests: { memory: '1536Mi', cpu: '500m' }, limits: { memory: '2Gi' } }),
    });
    expect(created.spec?.template.spec?.containers[0]?.resources?.requests?.memory).toBe('1536Mi');
  });

  it('answers a malformed memory limit with 400 BadRequest', async () => {
    const { code, body } = await failure(
      apps.createNamespacedDeployment({ namespace, body: deployment('garbled', { limits: { memory: '2Gx' } }) }),
    );
    expect(code).toBe(400);
    expect(body.message).toMatch(
      /^Deployment in version "v1" cannot be handled as a Deployment: quantities must match/,
    );
  });

  it('answers a negative request with 422 Invalid', async () => {
    const { code, body } = await failure(
      apps.createNamespacedDeployment({ namespace, body: deployment('negative', { requests: { cpu: '-1' } }) }),
    );
    expect(code).toBe(422);
    expect(body.message).toBe(
      'Deployment.apps "negative" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
    );
  });

  it('answers a request above its limit with 422 Invalid', async () => {
    const { code, body } = await failure(
      apps.createNamespacedDeployment({
        namespace,
        body: deployment('inverted', { requests: { memory: '4Gi' }, limits: { memory: '2Gi' } }),
      }),
    );
    expect(code).toBe(422);
    expect(body.message).toBe(
      'Deployment.apps "inverted" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "4Gi": must be less than or equal to memory limit of 2Gi',
    );
  });
});

function policy(name: string, cidr: string, except?: string[]): V1NetworkPolicy {
  return {
    metadata: { name, namespace },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr, except } }] }],
    },
  };
}

describe('kube stand-in NetworkPolicy CIDRs', () => {
  it('accepts valid IPv4 and IPv6 blocks with exceptions inside them', async () => {
    await networking.createNamespacedNetworkPolicy({ namespace, body: policy('v4', '10.0.0.0/8', ['10.1.0.0/16']) });
    await networking.createNamespacedNetworkPolicy({ namespace, body: policy('v6', '2001:db8::/32') });
    const list = await networking.listNamespacedNetworkPolicy({ namespace });
    expect(list.items.map((p) => p.metadata?.name).sort()).toEqual(['v4', 'v6']);
  });

  it('answers an address or prefix out of range with 422 Invalid', async () => {
    const { code, body } = await failure(
      networking.createNamespacedNetworkPolicy({ namespace, body: policy('bad', '999.1.1.1/40') }),
    );
    expect(code).toBe(422);
    expect(body.message).toBe(
      'NetworkPolicy.networking.k8s.io "bad" is invalid: spec.egress[0].to[0].ipBlock.cidr: Invalid value: "999.1.1.1/40": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    );
  });

  it('answers an exception outside the block with 422 Invalid', async () => {
    const { code, body } = await failure(
      networking.createNamespacedNetworkPolicy({ namespace, body: policy('outside', '10.0.0.0/16', ['10.9.0.0/24']) }),
    );
    expect(code).toBe(422);
    expect(body.message).toBe(
      'NetworkPolicy.networking.k8s.io "outside" is invalid: spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.9.0.0/24": must be a strict subset of `cidr`',
    );
  });
});
