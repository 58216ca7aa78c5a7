import { createHmac } from 'node:crypto';
import { FlinkplaneError } from '../core/errors.ts';
import type { SecretSource } from '../core/ports.ts';

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
