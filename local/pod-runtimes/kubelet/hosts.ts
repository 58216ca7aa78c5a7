import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ResourceReader } from '../../kube-standin/node/pod-runtime.ts';
import { isRecord, type JsonRecord, type KubeObject } from '../../kube-standin/objects.ts';

/** A Service name and the addresses it resolves to in pods' hosts files. */
export type ServiceAddresses = { readonly namespace: string; readonly name: string; readonly ips: readonly string[] };

/** A pod as Services see it: where it is and whether it is ready. */
export type PodEndpoint = {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string | undefined;
  readonly ready: boolean;
};

/**
 * What every Service name resolves to, like a headless Service: the IPs of the selected running pods that are ready
 * (also the not-ready ones when the Service sets `publishNotReadyAddresses`). A Service without a selector resolves to
 * the addresses of its Endpoints object, which is how something outside the pod network (a server on the bridge's
 * gateway address) gets a Service name.
 */
export function serviceAddresses(reader: ResourceReader, pods: readonly PodEndpoint[]): ServiceAddresses[] {
  const out: ServiceAddresses[] = [];
  for (const service of reader.list('', 'services')) {
    const spec = isRecord(service.spec) ? service.spec : {};
    if (spec.type === 'ExternalName') continue;
    const namespace = service.metadata.namespace ?? 'default';
    const name = service.metadata.name ?? '';
    const withNotReady = spec.publishNotReadyAddresses === true;
    const selector = isRecord(spec.selector) ? (spec.selector as Record<string, string>) : {};
    let ips: string[];
    if (Object.keys(selector).length > 0) {
      ips = pods
        .filter(
          (pod) =>
            pod.namespace === namespace &&
            pod.ip !== undefined &&
            (pod.ready || withNotReady) &&
            Object.entries(selector).every(([key, value]) => pod.labels[key] === value),
        )
        .map((pod) => pod.ip!);
    } else {
      ips = endpointIps(readEndpoints(reader, namespace, name), withNotReady);
    }
    out.push({ namespace, name, ips: [...new Set(ips)].sort(compareIps) });
  }
  return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** The Endpoints object of a Service; undefined also when the API serves no Endpoints at all. */
function readEndpoints(reader: ResourceReader, namespace: string, name: string): KubeObject | undefined {
  try {
    return reader.get('', 'endpoints', namespace, name);
  } catch {
    return undefined;
  }
}

function endpointIps(endpoints: KubeObject | undefined, withNotReady: boolean): string[] {
  const subsets = Array.isArray(endpoints?.subsets) ? endpoints.subsets.filter(isRecord) : [];
  const ips: string[] = [];
  for (const subset of subsets) {
    const lists = withNotReady ? [subset.addresses, subset.notReadyAddresses] : [subset.addresses];
    for (const list of lists)
      for (const address of Array.isArray(list) ? list.filter(isRecord) : [])
        if (typeof address.ip === 'string') ips.push(address.ip);
  }
  return ips;
}

function compareIps(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * A pod's `/etc/hosts`: localhost, the pod's own hostname, then every Service's names (the short name only in the
 * pod's own namespace; `name.namespace`, `name.namespace.svc` and `name.namespace.svc.cluster.local` everywhere).
 */
export function hostsFile(
  pod: { readonly namespace: string; readonly name: string; readonly ip: string },
  services: readonly ServiceAddresses[],
): string {
  const lines = [
    '# Kubernetes-managed hosts file (Flinkplane local kubelet): rewritten as Services and pods change.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${pod.ip}\t${pod.name}`,
  ];
  for (const service of services) {
    const fqdn = `${service.name}.${service.namespace}`;
    const names = [`${fqdn}`, `${fqdn}.svc`, `${fqdn}.svc.cluster.local`];
    if (service.namespace === pod.namespace) names.unshift(service.name);
    for (const address of service.ips) lines.push(`${address}\t${names.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Replaces a file's content keeping its inode: `ip netns exec` bind-mounts `/etc/netns/<ns>/hosts` over /etc/hosts,
 * and a bind mount pins the inode, so a rename would leave the pod reading the old file. The new bytes are written
 * over the old before the file is cut to length, so a reader never sees an empty file.
 */
export async function writeInPlace(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'a+').then(async (h) => {
    await h.close();
    return open(path, 'r+');
  });
  try {
    const bytes = Buffer.from(content, 'utf8');
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(bytes.length);
  } finally {
    await handle.close();
  }
}

/** A pod's readiness from its status: the Ready condition. */
export function podIsReady(status: JsonRecord | undefined): boolean {
  const conditions = Array.isArray(status?.conditions) ? status.conditions.filter(isRecord) : [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}
