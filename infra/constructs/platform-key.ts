import { Fn, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface PlatformKeyProps {
  /**
   * The digest user the control plane authenticates to ZooKeeper as; every tenant chroot's ACL names it.
   * @default 'flinkplane-admin'
   */
  readonly zookeeperAdminUser?: string;
  /**
   * What happens to the key when it leaves the stack. Tenant ZooKeeper identities are derived from it, and the
   * chroots' ACLs hold their digests: a new key locks the control plane and every proxy out of existing chroots.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The JSON the control plane reads from the platform key secret (`functions/handlers/aws-composition.ts`). */
export interface PlatformKeyValue {
  readonly platformKey: string;
  readonly zookeeperAdmin: { readonly user: string; readonly password: string };
}

/**
 * The platform key secret: `{"platformKey": …, "zookeeperAdmin": {"user": …, "password": …}}`. The HMAC key derives
 * each tenant's ZooKeeper proxy identity, the admin digest is the control plane's own ZooKeeper identity.
 *
 * Secrets Manager generates one value per secret, so two generated secrets hold the random parts and the platform key
 * secret is composed of them by CloudFormation dynamic references, resolved at deploy time: no value appears in the
 * template. Generated values have no punctuation, so the composed text is valid JSON.
 */
export class PlatformKey extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: PlatformKeyProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const user = props.zookeeperAdminUser ?? 'flinkplane-admin';
    const hmacKey = new secretsmanager.Secret(this, 'HmacKey', {
      description: 'Flinkplane platform HMAC key material (composed into the platform key secret)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    const adminPassword = new secretsmanager.Secret(this, 'ZookeeperAdminPassword', {
      description: 'Flinkplane ZooKeeper admin digest password (composed into the platform key secret)',
      generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'Flinkplane platform key: HMAC key for tenant ZooKeeper identities and the ZooKeeper admin digest',
      secretStringValue: SecretValue.unsafePlainText(
        Fn.join('', [
          '{"platformKey":"',
          hmacKey.secretValue.unsafeUnwrap(),
          `","zookeeperAdmin":{"user":"${user}","password":"`,
          adminPassword.secretValue.unsafeUnwrap(),
          '"}}',
        ]),
      ),
      removalPolicy,
    });

    for (const secret of [hmacKey, adminPassword, this.secret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the platform key changes every tenant ZooKeeper identity while the chroot ACLs hold the old ' +
          'digests; it is a planned runbook (re-ACL every chroot), not an automatic rotation.',
      });
    }
  }
}
