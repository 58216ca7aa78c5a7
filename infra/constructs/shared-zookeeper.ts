import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct } from 'constructs';
import type { PlatformSettings } from '../../functions/core/platform.ts';
import { buildZookeeperTunnelRbac } from '../kubernetes/control-plane-rbac.ts';
import { buildZookeeperEnsemble, ZOOKEEPER_DEFAULTS, zookeeperClientAddress } from '../kubernetes/zookeeper.ts';
import { KubernetesManifests } from './kubernetes-manifests.ts';

export interface SharedZookeeperProps {
  /** The platform settings: the ZooKeeper namespace and the StorageClass come from here. */
  readonly platform: PlatformSettings;
  /**
   * `host:port[,…]` of an existing ensemble to use instead; then no manifests are made.
   * @default - the shared ensemble in `platform.zookeeperNamespace`
   */
  readonly existingConnect?: string;
  /**
   * The created EKS cluster to apply the manifests to.
   * @default - rendered as an asset the operator applies (the cluster is imported)
   */
  readonly cluster?: eks.Cluster;
  /** @default 3 */
  readonly replicas?: number;
  /** @default 'public.ecr.aws/docker/library/zookeeper:3.8.4' */
  readonly image?: string;
}

/**
 * The ZooKeeper ensemble every tenant's proxy connects to: by default a 3-node StatefulSet (one server per node,
 * spread over zones) in the platform's ZooKeeper namespace, whose NetworkPolicy admits only tenant proxies on the
 * client port. Applied by the stack when it created the cluster, else published for the operator to apply.
 */
export class SharedZookeeper extends Construct {
  /** What tenant proxies and the control plane connect to. */
  readonly connectString: string;
  readonly manifests?: KubernetesManifests;

  constructor(scope: Construct, id: string, props: SharedZookeeperProps) {
    super(scope, id);
    if (props.existingConnect) {
      this.connectString = props.existingConnect;
      return;
    }
    const namespace = props.platform.zookeeperNamespace;
    this.connectString = zookeeperClientAddress(namespace);
    const ensemble = buildZookeeperEnsemble(
      {
        namespace,
        replicas: props.replicas ?? ZOOKEEPER_DEFAULTS.replicas,
        image: props.image,
        storageClassName: props.platform.storageClassName,
      },
      { ...props.platform, zookeeper: { ...props.platform.zookeeper, upstream: this.connectString } },
    );
    this.manifests = new KubernetesManifests(this, 'Ensemble', {
      // The control plane's port-forward Role lives in the ensemble's namespace, so it is applied with it.
      stages: [[ensemble.namespace], [...ensemble.objects, ...buildZookeeperTunnelRbac(namespace)]],
      cluster: props.cluster,
      description: 'The shared ZooKeeper ensemble',
    });
  }
}
