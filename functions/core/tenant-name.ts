import type { Issue } from './errors.ts';

/**
 * The longest tenant name. It keeps every derived name valid: the namespace `tenant-<name>` and the vhost label
 * `flink-cluster-ui-<name>` stay DNS labels (63), and the bucket `<prefix><name>` stays an S3 name (63) for any
 * platform bucket prefix up to {@link BUCKET_PREFIX_MAX_LENGTH} characters.
 */
export const TENANT_NAME_MAX_LENGTH = 24;
export const TENANT_NAME_MIN_LENGTH = 2;
/** The longest platform bucket prefix that still leaves room for the longest tenant name in a 63-character bucket. */
export const BUCKET_PREFIX_MAX_LENGTH = 63 - TENANT_NAME_MAX_LENGTH;

/** Names no tenant may take: Kubernetes system namespaces, platform components and words that mislead in a vhost. */
export const RESERVED_TENANT_NAMES: ReadonlySet<string> = new Set([
  'admin',
  'api',
  'aws',
  'console',
  'default',
  'flink',
  'flinkplane',
  'ingress',
  'internal',
  'kube',
  'kube-node-lease',
  'kube-public',
  'kube-system',
  'localhost',
  'operator',
  'platform',
  'root',
  'system',
  'tenant',
  'tenants',
  'www',
  'zookeeper',
]);

const TENANT_NAME_PATTERN = /^[a-z][a-z0-9-]*[a-z0-9]$/;

/** Checks a tenant name; returns every issue found (none when valid). */
export function validateTenantName(name: unknown, path = 'tenant'): Issue[] {
  if (typeof name !== 'string') {
    return [issue(path, name, 'a string', `${path} must be a string`)];
  }
  const issues: Issue[] = [];
  if (name.length < TENANT_NAME_MIN_LENGTH || name.length > TENANT_NAME_MAX_LENGTH) {
    issues.push(
      issue(
        path,
        name,
        `${TENANT_NAME_MIN_LENGTH} to ${TENANT_NAME_MAX_LENGTH} characters`,
        `${path} "${name}" has ${name.length} characters; it must have ${TENANT_NAME_MIN_LENGTH} to ${TENANT_NAME_MAX_LENGTH}`,
      ),
    );
  }
  if (!TENANT_NAME_PATTERN.test(name)) {
    issues.push(
      issue(
        path,
        name,
        'lowercase letters, digits and single hyphens; starts with a letter; ends with a letter or digit',
        `${path} "${name}" must use lowercase letters, digits and hyphens, start with a letter and end with a letter or digit`,
      ),
    );
  } else if (name.includes('--')) {
    issues.push(issue(path, name, 'no consecutive hyphens', `${path} "${name}" must not contain consecutive hyphens`));
  }
  if (RESERVED_TENANT_NAMES.has(name) || name.startsWith('kube-') || name.startsWith('xn--')) {
    issues.push({
      code: 'reserved_tenant_name',
      path,
      value: name,
      rule: 'not a reserved name',
      message: `${path} "${name}" is reserved by the platform`,
    });
  }
  return issues;
}

function issue(path: string, value: unknown, rule: string, message: string): Issue {
  return { code: 'invalid_tenant_name', path, value, rule, message };
}
