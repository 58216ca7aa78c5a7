import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../local/kube-standin/objects.ts';
import { resourceDef } from '../../local/kube-standin/resources.ts';
import { resolveServiceEndpoints } from '../../local/kube-standin/service-endpoints.ts';
import { ObjectStore } from '../../local/kube-standin/store.ts';

const SERVICES = resourceDef('', 'services');
const PODS = resourceDef('', 'pods');
const NAMESPACE = 'tenant-acme';

/** The JobManager Service as the templates render it: a named targetPort. */
function service(mutate: (spec: Record<string, unknown>) => void = () => {}): KubeObject {
  const spec: Record<string, unknown> = {
    selector: { app: 'flink', component: 'jobmanager' },
    ports: [
      { name: 'rpc', port: 6123, targetPort: 'rpc' },
      { name: 'rest', port: 8081, targetPort: 'rest' },
    ],
  };
  mutate(spec);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'flink-cluster-jobmanager', namespace: NAMESPACE },
    spec,
  };
}

/** A running, ready JobManager Pod with an IP. */
function pod(name: string, ip: string, mutate: (pod: KubeObject) => void = () => {}): KubeObject {
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { app: 'flink', component: 'jobmanager', extra: 'yes' } },
    spec: {
      containers: [
        {
          name: 'jobmanager',
          ports: [
            { name: 'rpc', containerPort: 6123 },
            { name: 'rest', containerPort: 8081 },
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
      ],
    },
  };
  mutate(object);
  return object;
}

function storeWith(...objects: KubeObject[]): ObjectStore {
  const store = new ObjectStore();
  for (const object of objects) store.put(object.kind === 'Service' ? SERVICES : PODS, structuredClone(object));
  return store;
}

function status(object: KubeObject): Record<string, unknown> {
  return object.status as Record<string, unknown>;
}

describe('resolveServiceEndpoints over the stand-in store', () => {
  it('resolves a named targetPort through the container ports of every ready Pod, sorted by Pod name', () => {
    const store = storeWith(service(), pod('jm-b', '10.244.0.2'), pod('jm-a', '10.244.0.1'));
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 'rest')).toEqual([
      { ip: '10.244.0.1', port: 8081, pod: 'jm-a' },
      { ip: '10.244.0.2', port: 8081, pod: 'jm-b' },
    ]);
  });

  it('picks the Service port by number as well as by name', () => {
    const store = storeWith(service(), pod('jm', '10.244.0.1'));
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 8081)).toEqual([
      { ip: '10.244.0.1', port: 8081, pod: 'jm' },
    ]);
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', '6123')).toEqual([
      { ip: '10.244.0.1', port: 6123, pod: 'jm' },
    ]);
  });

  it('takes the first Service port when none is named', () => {
    const store = storeWith(service(), pod('jm', '10.244.0.1'));
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager')).toEqual([
      { ip: '10.244.0.1', port: 6123, pod: 'jm' },
    ]);
  });

  it('uses a numeric targetPort as the container port', () => {
    const store = storeWith(
      service((spec) => {
        spec.ports = [{ name: 'rest', port: 80, targetPort: 18081 }];
      }),
      pod('jm', '10.244.0.1'),
    );
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 80)).toEqual([
      { ip: '10.244.0.1', port: 18081, pod: 'jm' },
    ]);
  });

  it('uses the Service port when no targetPort is given', () => {
    const store = storeWith(
      service((spec) => {
        spec.ports = [{ name: 'rest', port: 8081 }];
      }),
      pod('jm', '10.244.0.1'),
    );
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 'rest')[0]?.port).toBe(8081);
  });

  const unready: [string, (p: KubeObject) => void][] = [
    [
      'not Ready',
      (p) => {
        status(p).conditions = [{ type: 'Ready', status: 'False' }];
      },
    ],
    [
      'Pending',
      (p) => {
        status(p).phase = 'Pending';
      },
    ],
    [
      'without an IP',
      (p) => {
        delete status(p).podIP;
      },
    ],
    [
      'terminating',
      (p) => {
        p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
      },
    ],
    [
      'not matched by the selector',
      (p) => {
        p.metadata.labels = { app: 'flink' };
      },
    ],
    [
      'without the named container port',
      (p) => {
        (p.spec as { containers: unknown[] }).containers = [];
      },
    ],
  ];
  it.each(unready)('leaves out a Pod that is %s', (_, mutate) => {
    const store = storeWith(service(), pod('jm-ready', '10.244.0.1'), pod('jm-other', '10.244.0.2', mutate));
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 'rest').map((e) => e.pod)).toEqual([
      'jm-ready',
    ]);
  });

  it('leaves out a ready Pod of another namespace with the same labels', () => {
    const elsewhere = pod('jm-elsewhere', '10.244.0.9', (p) => {
      p.metadata.namespace = 'tenant-beta';
    });
    const store = storeWith(service(), pod('jm', '10.244.0.1'), elsewhere);
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 'rest').map((e) => e.pod)).toEqual([
      'jm',
    ]);
  });

  it('answers no endpoint for an unknown Service, an unknown port or a Service without a selector', () => {
    const store = storeWith(service(), pod('jm', '10.244.0.1'));
    expect(resolveServiceEndpoints(store, NAMESPACE, 'other', 'rest')).toEqual([]);
    expect(resolveServiceEndpoints(store, 'tenant-beta', 'flink-cluster-jobmanager', 'rest')).toEqual([]);
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 'metrics')).toEqual([]);
    expect(resolveServiceEndpoints(store, NAMESPACE, 'flink-cluster-jobmanager', 9999)).toEqual([]);
    const selectorless = storeWith(
      service((spec) => {
        delete spec.selector;
      }),
      pod('jm', '10.244.0.1'),
    );
    expect(resolveServiceEndpoints(selectorless, NAMESPACE, 'flink-cluster-jobmanager', 'rest')).toEqual([]);
  });
});
