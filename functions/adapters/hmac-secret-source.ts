import { createHmac } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { FlinkplaneError } from '../core/errors.ts';
import type { SecretSource } from '../core/ports.ts';
import { sendOrUnavailable } from './aws-unavailable.ts';

const SECRETS_MANAGER = {
  name: 'Secrets Manager',
  dependency: 'secretsmanager',
  rules: { throttled: new Set(['ThrottlingException']) },
};

/** The platform key secret: the HMAC key for tenant ZooKeeper identities and the control plane's ZooKeeper digest. */
const PlatformSecretSchema = z.object({
  platformKey: z.string().min(32),
  zookeeperAdmin: z.object({ user: z.string().min(1), password: z.string().min(16) }),
});

export type PlatformSecret = z.infer<typeof PlatformSecretSchema>;

/**
 * Reads the platform key secret. Secrets Manager not answering (within the client's deadline) is
 * `dependency_unavailable`; a secret of the wrong shape is `internal`, named by field, never by value.
 */
export async function readPlatformSecret(client: SecretsManagerClient, secretId: string): Promise<PlatformSecret> {
  const send = sendOrUnavailable(client.send.bind(client), SECRETS_MANAGER);
  const secret = await send(new GetSecretValueCommand({ SecretId: secretId }));
  let json: unknown;
  try {
    json = JSON.parse(secret.SecretString ?? '{}');
  } catch {
    throw new FlinkplaneError('internal', 'The platform key secret is not JSON', { secretId });
  }
  const parsed = PlatformSecretSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.'));
    throw new FlinkplaneError('internal', `The platform key secret is invalid at ${fields.join(', ')}`, {
      secretId,
      fields,
    });
  }
  return parsed.data;
}

/** HMAC-SHA256 wants a key at least as long as its output. */
const MIN_KEY_BYTES = 32;

/**
 * Secrets derived from the platform key with HMAC-SHA256, so a retry or redeploy gets the same identity without
 * storing it. The key is taken as UTF-8 text; its length is checked in bytes.
 */
export function createHmacSecretSource(platformKey: string): SecretSource {
  const key = Buffer.from(platformKey, 'utf8');
  if (key.length < MIN_KEY_BYTES) {
    // The message names the rule only, never the key.
    throw new FlinkplaneError('internal', `The platform key must be at least ${MIN_KEY_BYTES} bytes long`, {
      minimumBytes: MIN_KEY_BYTES,
    });
  }
  return {
    zookeeperIdentity(tenant) {
      const password = createHmac('sha256', key).update(`zookeeper:${tenant}`, 'utf8').digest('base64url');
      return { user: `tenant-${tenant}`, password };
    },
  };
}
