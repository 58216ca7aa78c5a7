import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';

export interface FlinkUiIngressProps {
  /** The platform domain; tenant vhosts are `flink-cluster-ui-<tenant>.<domain>`. */
  readonly domain: string;
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
  /**
   * DNS name of the load balancer the AWS Load Balancer Controller made for the IngressGroup. It exists only after
   * the first tenant Ingress, so the first deploy goes without and a later one adds the record.
   * @default - no record; the output says which one to create
   */
  readonly loadBalancerDnsName?: string;
  /**
   * Canonical hosted zone id of that load balancer; with it the record is an ALIAS A record, else a CNAME.
   * @default - a CNAME record
   */
  readonly loadBalancerHostedZoneId?: string;
  /** @default Duration.minutes(5) */
  readonly recordTtl?: Duration;
}

/**
 * DNS and TLS for the tenants' Flink UIs: a wildcard ACM certificate `*.<domain>` validated through the hosted zone,
 * which the Ingresses name in their ALB annotations, and a wildcard record pointing at the shared ALB.
 */
export class FlinkUiIngress extends Construct {
  readonly certificate: acm.Certificate;

  constructor(scope: Construct, id: string, props: FlinkUiIngressProps) {
    super(scope, id);
    // Attributes, not a lookup: synth stays offline and needs no credentials.
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: props.hostedZoneId,
      zoneName: props.hostedZoneName,
    });
    const wildcard = `*.${props.domain}`;
    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: wildcard,
      validation: acm.CertificateValidation.fromDns(zone),
    });

    if (!props.loadBalancerDnsName) {
      new CfnOutput(this, 'RecordToCreate', {
        description: 'Set context albDnsName to the IngressGroup ALB DNS name after the first tenant deploy',
        value: `${wildcard} -> <ALB DNS name of IngressGroup>`,
      });
      return;
    }
    const ttl = props.recordTtl ?? Duration.minutes(5);
    if (props.loadBalancerHostedZoneId) {
      const dnsName = props.loadBalancerDnsName;
      const hostedZoneId = props.loadBalancerHostedZoneId;
      new route53.ARecord(this, 'Record', {
        zone,
        recordName: wildcard,
        target: route53.RecordTarget.fromAlias({ bind: () => ({ dnsName, hostedZoneId }) }),
      });
    } else {
      new route53.CnameRecord(this, 'Record', {
        zone,
        recordName: wildcard,
        domainName: props.loadBalancerDnsName,
        ttl,
      });
    }
  }
}
