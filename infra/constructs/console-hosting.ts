import { type DefaultStackSynthesizer, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { nagValue } from '../nag.ts';

export interface ConsoleHostingProps {
  /** Directory of the built console (`index.html` at its root). */
  readonly assetPath: string;
  /**
   * Written next to the console as `/config.json`, e.g. the API URL; may hold CloudFormation tokens.
   * @default {}
   */
  readonly runtimeConfig?: Record<string, unknown>;
  /**
   * How long the access logs of the bucket and the distribution are kept.
   * @default Duration.days(90)
   */
  readonly logExpiration?: Duration;
  /**
   * The Content-Security-Policy of every response. The default allows the page's own origin and HTTPS calls (the API
   * and the identity provider live on other origins).
   * @default "default-src 'self'; connect-src 'self' https:; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self' https:"
   */
  readonly contentSecurityPolicy?: string;
}

export const DEFAULT_CONSOLE_CSP =
  "default-src 'self'; connect-src 'self' https:; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self' https:";

/**
 * The web console: a private S3 bucket behind CloudFront with Origin Access Control, HTTPS only, security headers,
 * and access logs of both the bucket and the distribution in a log bucket.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<distribution domain>` */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    const secureBucket = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
    } as const;

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      ...secureBucket,
      // CloudFront standard logging writes with ACLs, which BucketOwnerEnforced would refuse.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: props.logExpiration ?? Duration.days(90) }],
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access log bucket itself; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucket,
      versioned: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'console-bucket/',
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: props.contentSecurityPolicy ?? DEFAULT_CONSOLE_CSP,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Flinkplane console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
      // The console routes in the browser: unknown paths get the app, which shows its own not-found page.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.minutes(1),
      })),
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    new s3deploy.BucketDeployment(this, 'Deployment', {
      destinationBucket: this.bucket,
      sources: [
        s3deploy.Source.asset(props.assetPath),
        s3deploy.Source.jsonData('config.json', props.runtimeConfig ?? {}),
      ],
      distribution: this.distribution,
      distributionPaths: ['/*'],
    });

    this.acknowledgeDeploymentProvider();

    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The console is static files for operators and tenants anywhere; the API, not the page, enforces access.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'Static files only: every call that matters goes to the HTTP API, which has a JWT authorizer and throttling. ' +
        'A CloudFront WAF web ACL must live in us-east-1, outside this stack; add one there when required.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        'The default *.cloudfront.net certificate cannot enforce TLS 1.2 (CloudFront then uses TLSv1); that takes a ' +
        'custom domain with its own us-east-1 certificate, which the platform does not manage yet.',
    });
  }

  /**
   * The BucketDeployment provider is an aws-cdk-lib singleton Lambda at the stack root (its code, runtime and role are
   * not ours to change); it runs only during deployments, copying the console into the bucket.
   */
  private acknowledgeDeploymentProvider(): void {
    const stack = Stack.of(this);
    const provider = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!provider) return;
    const qualifier = (stack.synthesizer as DefaultStackSynthesizer).bootstrapQualifier ?? 'hnb659fds';
    const assetBucket = nagValue(
      this,
      `arn:${stack.partition}:s3:::cdk-${qualifier}-assets-${stack.account}-${stack.region}/*`,
    );
    const consoleBucket = nagValue(this, `${this.bucket.bucketArn}/*`);
    const reasons: Record<string, string> = {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'aws-cdk-lib BucketDeployment provider: AWS managed policy for its own logs; not configurable.',
      'AwsSolutions-L1': 'aws-cdk-lib BucketDeployment provider: its Python runtime is chosen by aws-cdk-lib.',
      'AwsSolutions-IAM5[Resource::*]':
        'aws-cdk-lib BucketDeployment provider: CloudFront CreateInvalidation/GetInvalidation support no resource ARN.',
      [`AwsSolutions-IAM5[Resource::${assetBucket}]`]:
        'aws-cdk-lib BucketDeployment provider: reads the console asset from the CDK bootstrap asset bucket.',
      [`AwsSolutions-IAM5[Resource::${consoleBucket}]`]:
        'aws-cdk-lib BucketDeployment provider: writes every console file into the console bucket.',
    };
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']) {
      reasons[`AwsSolutions-IAM5[Action::${action}]`] =
        'aws-cdk-lib BucketDeployment provider: the grant methods it uses (read assets, sync the console bucket).';
    }
    for (const [id, reason] of Object.entries(reasons)) Validations.of(provider).acknowledge({ id, reason });
  }
}
