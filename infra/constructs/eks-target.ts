import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { buildControlPlaneRbac, CONTROL_PLANE_GROUP } from '../kubernetes/control-plane-rbac.ts';
import { acknowledgeProvidedIam } from '../nag.ts';
import { KubernetesManifests } from './kubernetes-manifests.ts';

/** How the stack creates the cluster when it does. */
export interface CreatedClusterProps {
  /** Availability zones of the VPC and the node group: one private subnet each. */
  readonly zones: readonly string[];
  /** @default 'm7i.xlarge' */
  readonly instanceType?: string;
  /** Nodes of the managed node group; it may scale to three times as many. @default 3 */
  readonly nodeCount?: number;
  /** Retention of the VPC flow logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** StorageClass the stack creates for the tenants' and ZooKeeper's volumes (gp3, encrypted). @default 'gp3' */
  readonly storageClassName?: string;
}

export interface EksTargetProps {
  /** Name of the cluster: imported by it, or given to the created cluster. */
  readonly clusterName: string;
  /**
   * Create the cluster (VPC, managed node group across the zones, add-ons) instead of importing one by name.
   * @default - import the existing cluster by name
   */
  readonly create?: CreatedClusterProps;
}

/** The house defaults of a created cluster. */
export const CREATED_CLUSTER_DEFAULTS = {
  instanceType: 'm7i.xlarge',
  nodeCount: 3,
  storageClassName: 'gp3',
} as const;

/**
 * The EKS cluster the control plane deploys tenants to, and the control plane's access to it.
 *
 * By default the cluster is imported by name: the control-plane Lambdas talk to the EKS API themselves (a bearer token
 * signed with their role), so the name is all they need. Its authentication mode must include `API` for the access
 * entry, and the operator applies the RBAC objects once (see the stack outputs), because the stack has no kubectl
 * access to a cluster it did not create. With `create`, the stack builds the cluster with aws-eks-v2 and applies
 * everything through its kubectl provider.
 */
export class EksTarget extends Construct {
  readonly clusterName: string;
  readonly clusterArn: string;
  /** The cluster, when the stack created it; undefined when imported. */
  readonly cluster?: eks.Cluster;

  constructor(scope: Construct, id: string, props: EksTargetProps) {
    super(scope, id);
    if (!props.create) {
      this.clusterName = props.clusterName;
      this.clusterArn = Stack.of(this).formatArn({
        service: 'eks',
        resource: 'cluster',
        resourceName: props.clusterName,
      });
      return;
    }
    this.cluster = this.createCluster(props.clusterName, props.create);
    this.clusterName = this.cluster.clusterName;
    this.clusterArn = this.cluster.clusterArn;
  }

  /**
   * Lets a role manage tenants in the cluster: an EKS access entry puts it in the Kubernetes group
   * {@link CONTROL_PLANE_GROUP}, which a ClusterRole limited to the tenant objects' kinds is bound to. No EKS access
   * policy (those are cluster-admin or edit/view over every kind) is attached.
   */
  grantControlPlane(role: iam.IRole): void {
    new eks.CfnAccessEntry(this, 'ControlPlaneAccessEntry', {
      clusterName: this.clusterName,
      principalArn: role.roleArn,
      type: 'STANDARD',
      kubernetesGroups: [CONTROL_PLANE_GROUP],
    });
    new KubernetesManifests(this, 'ControlPlaneRbac', {
      stages: [buildControlPlaneRbac()],
      cluster: this.cluster,
      description: 'The ClusterRole and ClusterRoleBinding of the control plane',
    });
  }

  private createCluster(clusterName: string, props: CreatedClusterProps): eks.Cluster {
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const nodeCount = props.nodeCount ?? CREATED_CLUSTER_DEFAULTS.nodeCount;
    const nodeSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

    // Zones are given, not looked up; the stack's `availabilityZones` must contain them (PlatformStack returns the
    // context zones, so synth needs no credentials). Pods take VPC addresses, hence the /19s.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: [...props.zones],
      natGateways: props.zones.length,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'nodes', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
      ],
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention })),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    const cluster = new eks.Cluster(this, 'Cluster', {
      clusterName,
      version: eks.KubernetesVersion.V1_33,
      vpc,
      vpcSubnets: [nodeSubnets],
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      // The control-plane Lambdas run outside the VPC and reach the API server on its public endpoint.
      endpointAccess: eks.EndpointAccess.PUBLIC_AND_PRIVATE,
      clusterLogging: [
        eks.ClusterLoggingTypes.API,
        eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
        eks.ClusterLoggingTypes.SCHEDULER,
      ],
      secretsEncryptionKey: new kms.Key(this, 'SecretsKey', {
        description: `Envelope encryption of Kubernetes Secrets in EKS cluster ${clusterName}`,
        enableKeyRotation: true,
      }),
      kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(this, 'KubectlLayer') },
      // The Flink UI Ingresses of every tenant join one IngressGroup, i.e. one ALB the controller makes.
      albController: { version: eks.AlbControllerVersion.V2_17_1 },
    });

    const instanceType = new ec2.InstanceType(props.instanceType ?? CREATED_CLUSTER_DEFAULTS.instanceType);
    const nodes = cluster.addNodegroupCapacity('Nodes', {
      instanceTypes: [instanceType],
      // EKS publishes no Amazon Linux 2 AMIs from Kubernetes 1.33 on; the inferred default would still be AL2.
      amiType:
        instanceType.architecture === ec2.InstanceArchitecture.ARM_64
          ? eks.NodegroupAmiType.AL2023_ARM_64_STANDARD
          : eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
      minSize: nodeCount,
      desiredSize: nodeCount,
      maxSize: nodeCount * 3,
      // One private subnet per zone, so the nodes, and with them tenants' zones and ZooKeeper, span every zone.
      subnets: nodeSubnets,
    });

    // Add-ons whose pods need nodes to become ACTIVE.
    const podIdentityAgent = cluster.eksPodIdentityAgent!;
    podIdentityAgent.node.addDependency(nodes);
    // The tenants' isolation is NetworkPolicies: the VPC CNI enforces them only when told to.
    const vpcCni = new eks.CfnAddon(this, 'VpcCniAddon', {
      clusterName: cluster.clusterName,
      addonName: 'vpc-cni',
      resolveConflicts: 'OVERWRITE',
      configurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }),
    });
    vpcCni.node.addDependency(nodes);
    const ebsCsiRole = new iam.Role(this, 'EbsCsiDriverRole', {
      assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com').withSessionTags(),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonEBSCSIDriverPolicy')],
    });
    const ebsCsi = new eks.CfnAddon(this, 'EbsCsiDriverAddon', {
      clusterName: cluster.clusterName,
      addonName: 'aws-ebs-csi-driver',
      resolveConflicts: 'OVERWRITE',
      podIdentityAssociations: [{ serviceAccount: 'ebs-csi-controller-sa', roleArn: ebsCsiRole.roleArn }],
    });
    ebsCsi.node.addDependency(nodes, podIdentityAgent);

    const storageClassName = props.storageClassName ?? CREATED_CLUSTER_DEFAULTS.storageClassName;
    cluster.addManifest('StorageClass', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClassName },
      provisioner: 'ebs.csi.aws.com',
      // The volume is made in the zone the pod is scheduled to, which the tenant's zone choice decides.
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Delete',
      parameters: { type: 'gp3', encrypted: 'true' },
    });

    this.acknowledgeClusterFindings(cluster, nodes, ebsCsiRole);
    return cluster;
  }

  /** The AWS managed policies and wildcards EKS and its add-ons require, each with its reason. */
  private acknowledgeClusterFindings(cluster: eks.Cluster, nodes: eks.Nodegroup, ebsCsiRole: iam.Role): void {
    acknowledgeProvidedIam(
      cluster.role,
      'EKS requires the AWS managed AmazonEKSClusterPolicy on the cluster role; AWS keeps it current with EKS.',
    );
    acknowledgeProvidedIam(
      nodes.role,
      'Managed node groups require AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and ' +
        'AmazonEC2ContainerRegistryReadOnly on the node role (EKS documentation); AWS keeps them current.',
    );
    acknowledgeProvidedIam(
      ebsCsiRole,
      'The EBS CSI driver add-on documents AmazonEBSCSIDriverPolicy (AWS maintained, scoped by tags to CSI volumes).',
    );
    if (cluster.kubectlProvider) {
      acknowledgeProvidedIam(
        cluster.kubectlProvider,
        'aws-cdk-lib eks-v2 kubectl provider (applies the manifests at deploy time): its roles, managed policies and ' +
          'invoke permission are fixed by aws-cdk-lib.',
      );
      Validations.of(cluster.kubectlProvider).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'aws-cdk-lib eks-v2 kubectl provider: its Lambda runtime is chosen by aws-cdk-lib with the kubectl layer.',
      });
    }
    if (cluster.albController) {
      acknowledgeProvidedIam(
        cluster.albController,
        'The AWS Load Balancer Controller IAM policy published with the controller (aws-cdk-lib ships it per ' +
          'version): it creates load balancers and target groups whose ARNs exist only at run time.',
      );
    }
  }
}
