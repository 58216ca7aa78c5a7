import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneRules } from '../../infra/kubernetes/control-plane-rbac.ts';
import { flat, resourcesOf, type Synthesized, synthPlatform } from './support.ts';

const OIDC = {
  oidcIssuer: 'https://idp.example.com',
  oidcAuthorizationEndpoint: 'https://idp.example.com/authorize',
  oidcTokenEndpoint: 'https://idp.example.com/token',
  oidcUserInfoEndpoint: 'https://idp.example.com/userinfo',
};

let template: Synthesized['template'];

beforeAll(() => {
  ({ template } = synthPlatform({
    createEksCluster: true,
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com',
    platformDomain: 'flink.example.com',
    albDnsName: 'k8s-flinkplane-0123456789.eu-west-1.elb.amazonaws.com',
    ...OIDC,
  }));
});

function onlyId(type: string): string {
  const ids = Object.keys(resourcesOf(template, type));
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
}

type Manifest = { kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;

/** The objects each kubectl-applied manifest resource holds, keyed by logical id. */
function kubernetesManifests(): Record<string, Manifest[]> {
  const out: Record<string, Manifest[]> = {};
  for (const [id, resource] of Object.entries(resourcesOf(template, 'Custom::AWSCDK-EKS-KubernetesResource'))) {
    out[id] = JSON.parse(flat(resource.Properties.Manifest)) as Manifest[];
  }
  return out;
}

describe('created EKS cluster', () => {
  it('runs Kubernetes 1.33 with every control-plane log type, envelope-encrypted Secrets and a rotated key', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      Version: '1.33',
      AccessConfig: { AuthenticationMode: 'API' },
      Logging: {
        ClusterLogging: {
          EnabledTypes: Match.arrayWith([
            { Type: 'api' },
            { Type: 'audit' },
            { Type: 'authenticator' },
            { Type: 'controllerManager' },
            { Type: 'scheduler' },
          ]),
        },
      },
      EncryptionConfig: [Match.objectLike({ Resources: ['secrets'] })],
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('spreads one managed node group over a private subnet in each of the three zones, on AL2023', () => {
    const nodegroup = resourcesOf(template, 'AWS::EKS::Nodegroup')[onlyId('AWS::EKS::Nodegroup')]!;
    expect(nodegroup.Properties).toMatchObject({
      AmiType: 'AL2023_x86_64_STANDARD',
      ScalingConfig: { MinSize: 3, DesiredSize: 3, MaxSize: 9 },
    });
    const subnets = resourcesOf(template, 'AWS::EC2::Subnet');
    const zones = (nodegroup.Properties.Subnets as unknown[]).map((subnet) => {
      const properties = subnets[flat(subnet).replace(/[<>]/g, '')]?.Properties;
      expect(properties?.MapPublicIpOnLaunch).toBe(false);
      return properties?.AvailabilityZone;
    });
    expect(zones.sort()).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
  });

  it('installs the Pod Identity agent, the EBS CSI driver and the VPC CNI with NetworkPolicy enforcement', () => {
    template.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'eks-pod-identity-agent' });
    template.hasResourceProperties('AWS::EKS::Addon', {
      AddonName: 'vpc-cni',
      ConfigurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }),
    });
    template.hasResourceProperties('AWS::EKS::Addon', {
      AddonName: 'aws-ebs-csi-driver',
      PodIdentityAssociations: [Match.objectLike({ ServiceAccount: 'ebs-csi-controller-sa' })],
    });
  });

  it('logs rejected VPC traffic', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'REJECT',
      LogDestinationType: 'cloud-watch-logs',
    });
  });
});

describe('control-plane access to the created cluster', () => {
  it('puts the control-plane role in its Kubernetes group through an access entry without access policies', () => {
    const entries = Object.values(resourcesOf(template, 'AWS::EKS::AccessEntry')).filter((entry) =>
      flat(entry.Properties.PrincipalArn).startsWith('<ControlPlaneRole'),
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]!.Properties).toMatchObject({ KubernetesGroups: ['flinkplane:control-plane'], Type: 'STANDARD' });
    expect(entries[0]!.Properties.AccessPolicies).toBeUndefined();
  });

  it('applies the control-plane ClusterRole, bound to that group', () => {
    const objects = Object.values(kubernetesManifests()).flat();
    const role = objects.find((object) => object.kind === 'ClusterRole');
    // Which kinds and verbs: control-plane-rbac.kube-standin.test.ts derives them from the applier's requests.
    expect(role?.rules).toEqual(controlPlaneRules());
    expect(JSON.stringify(role?.rules)).not.toContain('*');
    const binding = objects.find((object) => object.kind === 'ClusterRoleBinding');
    expect(binding).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: role?.metadata.name },
      subjects: [{ kind: 'Group', name: 'flinkplane:control-plane' }],
    });
    expect(
      objects.some(
        (object) => object.kind === 'ClusterRoleBinding' && JSON.stringify(object).includes('cluster-admin'),
      ),
    ).toBe(false);
  });
});

describe('shared ZooKeeper in the created cluster', () => {
  it("applies the namespace first, then the ensemble, its NetworkPolicy and the control plane's port-forward Role", () => {
    const manifests = kubernetesManifests();
    const namespaceId = Object.keys(manifests).find((id) =>
      manifests[id]!.some((object) => object.kind === 'Namespace'),
    );
    const ensembleId = Object.keys(manifests).find((id) =>
      manifests[id]!.some((object) => object.kind === 'StatefulSet'),
    );
    expect(manifests[namespaceId!]!.map((object) => object.metadata.name)).toEqual(['flinkplane-zookeeper']);
    expect(manifests[ensembleId!]!.map((object) => object.kind).sort()).toEqual([
      'ConfigMap',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'Service',
      'StatefulSet',
    ]);
    const role = manifests[ensembleId!]!.find((object) => object.kind === 'Role') as unknown as {
      metadata: { namespace: string };
      rules: { resources: string[]; verbs: string[] }[];
    };
    expect(role.metadata.namespace).toBe('flinkplane-zookeeper');
    expect(role.rules).toEqual([
      expect.objectContaining({ resources: ['pods'], verbs: ['get', 'list'] }),
      expect.objectContaining({ resources: ['pods/portforward'], verbs: ['get', 'create'] }),
    ]);
    template.hasResource('Custom::AWSCDK-EKS-KubernetesResource', {
      DependsOn: Match.arrayWith([namespaceId]),
      Properties: Match.objectLike({ Manifest: Match.stringLikeRegexp('StatefulSet') }),
    });
  });

  it('creates the encrypted gp3 StorageClass the volumes ask for', () => {
    const storageClass = Object.values(kubernetesManifests())
      .flat()
      .find((object) => object.kind === 'StorageClass');
    expect(storageClass).toMatchObject({
      metadata: { name: 'gp3' },
      provisioner: 'ebs.csi.aws.com',
      volumeBindingMode: 'WaitForFirstConsumer',
      parameters: { type: 'gp3', encrypted: 'true' },
    });
  });
});

describe('Flink UI ingress', () => {
  it('validates a wildcard certificate for the platform domain through the hosted zone', () => {
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: '*.flink.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: '*.flink.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }],
    });
  });

  it('points the wildcard name at the IngressGroup load balancer', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: '*.flink.example.com.',
      Type: 'CNAME',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      ResourceRecords: ['k8s-flinkplane-0123456789.eu-west-1.elb.amazonaws.com'],
    });
  });

  it('hands the ALB OIDC settings and the certificate to the control plane in PLATFORM_SETTINGS', () => {
    const certificateId = onlyId('AWS::CertificateManager::Certificate');
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter(
      (fn) => fn.Properties.Runtime === 'nodejs22.x',
    );
    expect(functions).toHaveLength(3);
    for (const fn of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const settings = JSON.parse(flat(variables.PLATFORM_SETTINGS)) as { ingress: Record<string, unknown> };
      expect(settings.ingress).toEqual({
        mode: 'alb-oidc',
        groupName: 'flinkplane',
        className: 'alb',
        certificateArn: `<${certificateId}>`,
        oidc: {
          issuer: OIDC.oidcIssuer,
          authorizationEndpoint: OIDC.oidcAuthorizationEndpoint,
          tokenEndpoint: OIDC.oidcTokenEndpoint,
          userInfoEndpoint: OIDC.oidcUserInfoEndpoint,
          secretName: 'flink-ui-oidc',
        },
      });
      expect(flat(variables.EKS_CLUSTER_NAME)).toBe(`<${onlyId('AWS::EKS::Cluster')}>`);
    }
  });
});
