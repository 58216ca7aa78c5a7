/** A kubeconfig for a stand-in that `@kubernetes/client-node` and `kubectl` accept. */
import { stringify as stringifyYaml } from 'yaml';

export type KubeconfigOptions = {
  /** Context, cluster and user name. Default `kube-standin`. */
  contextName?: string;
  /** Default namespace of the context. Default none. */
  namespace?: string;
};

export function buildKubeconfig(url: string, token: string, options: KubeconfigOptions, caCert?: string): string {
  const name = options.contextName ?? 'kube-standin';
  const context: Record<string, string> = { cluster: name, user: name };
  if (options.namespace) context.namespace = options.namespace;
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        // Plain HTTP on loopback; client-node refuses http:// servers unless TLS verification is marked skipped.
        cluster: caCert
          ? { server: url, 'certificate-authority-data': Buffer.from(caCert).toString('base64') }
          : { server: url, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name, user: { token } }],
    contexts: [{ name, context }],
    'current-context': name,
    preferences: {},
  });
}
