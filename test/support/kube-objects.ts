import { type KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';

const NAMESPACED_KINDS: readonly (readonly [string, string])[] = [
  ['v1', 'ServiceAccount'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['v1', 'PersistentVolumeClaim'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['networking.k8s.io/v1', 'Ingress'],
  ['policy/v1', 'PodDisruptionBudget'],
];

export interface ObjectSummary {
  readonly id: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation?: number;
  readonly object: KubernetesObject;
}

/** Every object of a namespace (and the namespace itself), read back through the official client. */
export async function namespaceObjects(kubeConfig: KubeConfig, namespace: string): Promise<Map<string, ObjectSummary>> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const found = new Map<string, ObjectSummary>();
  const add = (kind: string, object: KubernetesObject) => {
    const id = `${kind}/${object.metadata!.name}`;
    found.set(id, {
      id,
      uid: object.metadata!.uid!,
      resourceVersion: object.metadata!.resourceVersion!,
      ...(object.metadata!.generation === undefined ? {} : { generation: object.metadata!.generation }),
      object,
    });
  };
  try {
    add('Namespace', await api.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
    return found;
  }
  for (const [apiVersion, kind] of NAMESPACED_KINDS) {
    const list = await api.list(apiVersion, kind, namespace);
    for (const item of list.items) add(kind, item);
  }
  return found;
}
