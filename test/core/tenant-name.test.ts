import { describe, expect, it } from 'vitest';
import { tenantNames } from '../../functions/core/naming.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import {
  BUCKET_PREFIX_MAX_LENGTH,
  TENANT_NAME_MAX_LENGTH,
  validateTenantName,
} from '../../functions/core/tenant-name.ts';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

describe('validateTenantName', () => {
  it('accepts a valid name', () => {
    expect(validateTenantName('acme')).toEqual([]);
    expect(validateTenantName('team-42')).toEqual([]);
  });

  it('rejects a name over the length limit', () => {
    const name = 'a'.repeat(TENANT_NAME_MAX_LENGTH + 1);
    expect(validateTenantName(name)).toEqual([
      expect.objectContaining({ code: 'invalid_tenant_name', value: name, rule: '2 to 24 characters' }),
    ]);
  });

  it('accepts a name exactly at the length limit', () => {
    expect(validateTenantName('a'.repeat(TENANT_NAME_MAX_LENGTH))).toEqual([]);
  });

  it.each(['Acme', 'ACME', 'acMe'])('rejects uppercase in "%s"', (name) => {
    expect(validateTenantName(name)).toEqual([expect.objectContaining({ code: 'invalid_tenant_name' })]);
  });

  it.each(['1acme', '9'])('rejects a leading digit in "%s"', (name) => {
    expect(validateTenantName(name).map((issue) => issue.code)).toContain('invalid_tenant_name');
  });

  it.each(['-acme', 'acme-', 'ac--me', 'ac_me', 'ac.me', 'ac me'])('rejects "%s"', (name) => {
    expect(validateTenantName(name)).not.toEqual([]);
  });

  it.each(['default', 'kube-system', 'kube-anything', 'flinkplane', 'admin', 'zookeeper', 'xn--acme'])(
    'rejects the reserved name "%s"',
    (name) => {
      expect(validateTenantName(name).map((issue) => issue.code)).toContain('reserved_tenant_name');
    },
  );

  it('rejects a value that is not a string', () => {
    expect(validateTenantName(42)).toEqual([expect.objectContaining({ code: 'invalid_tenant_name', value: 42 })]);
  });

  it('keeps every derived name valid for the longest tenant and the longest bucket prefix', () => {
    const prefix = `${'p'.repeat(BUCKET_PREFIX_MAX_LENGTH - 1)}-`;
    const settings = parsePlatformSettings({ bucketPrefix: prefix, domain: 'flink.example.com' });
    const names = tenantNames('a'.repeat(TENANT_NAME_MAX_LENGTH - 1).concat('z'), settings);
    expect(names.namespace).toMatch(DNS_LABEL);
    expect(names.namespace.length).toBeLessThanOrEqual(63);
    const vhostLabel = names.vhost.split('.')[0]!;
    expect(vhostLabel).toMatch(DNS_LABEL);
    expect(vhostLabel.length).toBeLessThanOrEqual(63);
    expect(names.bucket).toMatch(S3_BUCKET);
    expect(names.bucket.length).toBeLessThanOrEqual(63);
  });

  it('refuses a bucket prefix that leaves no room for the longest tenant name', () => {
    expect(() => parsePlatformSettings({ bucketPrefix: `${'p'.repeat(BUCKET_PREFIX_MAX_LENGTH)}-` })).toThrow();
  });
});
