import { AppsV1Api, CoreV1Api, type V1StatefulSet } from '@kubernetes/client-node';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { buildZookeeperEnsemble } from '../../infra/kubernetes/zookeeper.ts';
import type { KubeStandin } from '../../local/kube-standin/server.ts';

/**
 * Puts the platform's ZooKeeper ensemble (its real namespace and StatefulSet) into the Kubernetes stand-in and makes
 * port-forwards to its pods reach a real ZooKeeper server, as the kubelet would reach the pods' port 2181.
 */
export async function installZooKeeperEnsemble(standin: KubeStandin, zookeeperConnect: string, replicas = 3) {
  const platform = parsePlatformSettings();
  const namespace = platform.zookeeperNamespace;
  const ensemble = buildZookeeperEnsemble(
    { namespace, replicas, storageClassName: platform.storageClassName },
    platform,
  );
  const kubeConfig = standin.kubeConfig();
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: ensemble.namespace });
  const statefulSet = ensemble.objects.find((object) => object.kind === 'StatefulSet') as V1StatefulSet;
  await kubeConfig.makeApiClient(AppsV1Api).createNamespacedStatefulSet({ namespace, body: statefulSet });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (let attempt = 0; ; attempt++) {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=zookeeper' });
    const ready = pods.items.filter((pod) =>
      pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (ready.length === replicas) break;
    if (attempt > 400) throw new Error('the stand-in ZooKeeper pods did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  standin.setPortForwardTarget(`${namespace}/*`, 2181, zookeeperConnect);
}
