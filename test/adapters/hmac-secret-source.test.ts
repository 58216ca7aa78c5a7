import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHmacSecretSource } from '../../functions/adapters/hmac-secret-source.ts';
import { FlinkplaneError } from '../../functions/core/errors.ts';

const KEY = 'k'.repeat(32);

describe('createHmacSecretSource', () => {
  it('derives the tenant identity as tenant-<name> and base64url HMAC-SHA256 of zookeeper:<name>', () => {
    const identity = createHmacSecretSource(KEY).zookeeperIdentity('acme');
    const expected = createHmac('sha256', KEY).update('zookeeper:acme').digest('base64url');
    expect(identity).toEqual({ user: 'tenant-acme', password: expected });
    expect(identity.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('gives the same identity on every call and in every instance with the same key', () => {
    const first = createHmacSecretSource(KEY).zookeeperIdentity('acme');
    const source = createHmacSecretSource(KEY);
    expect(source.zookeeperIdentity('acme')).toEqual(first);
    expect(source.zookeeperIdentity('acme')).toEqual(first);
  });

  it('gives each tenant a different password', () => {
    const source = createHmacSecretSource(KEY);
    const passwords = ['acme', 'acme2', 'globex', 'a'].map((tenant) => source.zookeeperIdentity(tenant).password);
    expect(new Set(passwords).size).toBe(4);
  });

  it('gives a different password under another platform key', () => {
    const other = createHmacSecretSource(`${'k'.repeat(31)}K`).zookeeperIdentity('acme');
    expect(other.password).not.toBe(createHmacSecretSource(KEY).zookeeperIdentity('acme').password);
  });

  it('refuses a key shorter than 32 bytes without echoing it', () => {
    const short = 'secret-key-of-31-bytes-length!!';
    expect(Buffer.byteLength(short)).toBe(31);
    const error = (() => {
      try {
        createHmacSecretSource(short);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FlinkplaneError);
    expect((error as Error).message).not.toContain(short);
    expect(() => createHmacSecretSource('é'.repeat(16))).not.toThrow();
  });
});
