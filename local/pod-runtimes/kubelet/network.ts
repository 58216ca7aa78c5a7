import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fnv32a } from '../../kube-standin/objects.ts';

const execFileAsync = promisify(execFile);

/** The pod network's default, as kubeadm's flannel and kind use it. */
export const DEFAULT_POD_CIDR = '10.244.0.0/16';

/** Raised when the pod network cannot be set up: an overlapping CIDR, a failed `ip` command. */
export class PodNetworkError extends Error {
  override readonly name = 'PodNetworkError';
}

export type Cidr = { readonly text: string; readonly network: number; readonly prefix: number };

/** One pod's share of the network: its namespace, the host end of its veth pair and its address. */
export type PodNetwork = { readonly netns: string; readonly veth: string; readonly ip: string };

/** Parses `a.b.c.d/n` (n from 8 to 28: room for a gateway and pods, no more than a /8). */
export function parseCidr(text: string): Cidr {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = match ? Number(match[5]) : Number.NaN;
  if (!match || octets.some((o) => o > 255) || prefix < 8 || prefix > 28)
    throw new PodNetworkError(`pod CIDR "${text}" is not an IPv4 network from /8 to /28, such as ${DEFAULT_POD_CIDR}`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const network = address - (address % 2 ** (32 - prefix));
  if (network !== address)
    throw new PodNetworkError(`pod CIDR "${text}" has host bits set; did you mean ${formatCidr(network, prefix)}?`);
  return { text: formatCidr(network, prefix), network, prefix };
}

export function ipToString(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function ipToNumber(text: string): number {
  return text.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function formatCidr(network: number, prefix: number): string {
  return `${ipToString(network)}/${prefix}`;
}

function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - prefix);
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}

/**
 * A short id derived from the CIDR: two planes on one machine need distinct CIDRs anyway (their bridges' routes
 * would clash), so distinct CIDRs give distinct names, and a restart with the same CIDR finds a crashed run's leftovers.
 */
export function networkInstanceId(cidr: string): string {
  return fnv32a(parseCidr(cidr).text).toString(36).padStart(7, '0').slice(-6);
}

/**
 * A bridge CNI of our own, done with iproute2: one bridge holding the gateway address (the CIDR's first address) and
 * per pod a network namespace `fp<id>-<n>` joined to the bridge by a veth pair (`fv<id><n>` on the host, `eth0` in
 * the pod), where n is the pod address's offset in the CIDR. No NAT, no forwarding: pods reach each other and the
 * host's own addresses on the bridge, nothing beyond. The host's routes and sysctls are left as they are.
 */
export class BridgeNetwork {
  readonly id: string;
  readonly bridge: string;
  readonly gateway: string;
  private readonly cidr: Cidr;
  private readonly inUse = new Set<number>();
  private nextOffset = 2;

  private constructor(cidr: Cidr) {
    this.cidr = cidr;
    this.id = networkInstanceId(cidr.text);
    this.bridge = `fp${this.id}`;
    this.gateway = ipToString(cidr.network + 1);
  }

  /** Removes a crashed run's leftovers, refuses a CIDR the host already uses, then creates the bridge. */
  static async create(cidrText: string): Promise<BridgeNetwork> {
    const network = new BridgeNetwork(parseCidr(cidrText));
    await network.removeLeftovers();
    await network.refuseOverlap();
    await ip(['link', 'add', network.bridge, 'type', 'bridge']);
    await ip(['addr', 'add', `${network.gateway}/${network.cidr.prefix}`, 'dev', network.bridge]);
    await ip(['link', 'set', network.bridge, 'up']);
    return network;
  }

  /** Takes the next free address and gives it a namespace, a veth pair, `lo` up and a default route via the gateway. */
  async attach(): Promise<PodNetwork> {
    const offset = this.allocate();
    const pod = this.podNetwork(offset);
    try {
      await ip(['netns', 'add', pod.netns]);
      await ip(['link', 'add', pod.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns]);
      await ip(['link', 'set', pod.veth, 'master', this.bridge, 'up']);
      await ipBatch(pod.netns, [
        `addr add ${pod.ip}/${this.cidr.prefix} dev eth0`,
        'link set eth0 up',
        'link set lo up',
        `route add default via ${this.gateway}`,
      ]);
      return pod;
    } catch (error) {
      await this.detach(pod);
      throw error;
    }
  }

  /** Deletes the pod's namespace and veth and frees its address. Its processes must have exited. */
  async detach(pod: PodNetwork): Promise<void> {
    await ip(['netns', 'del', pod.netns]).catch(() => undefined);
    await ip(['link', 'del', pod.veth]).catch(() => undefined);
    await rm(`/etc/netns/${pod.netns}`, { recursive: true, force: true });
    this.inUse.delete(ipToNumber(pod.ip) - this.cidr.network);
  }

  /** Deletes the bridge; every pod must have been detached. */
  async destroy(): Promise<void> {
    await this.removeLeftovers();
  }

  private podNetwork(offset: number): PodNetwork {
    return {
      netns: `fp${this.id}-${offset}`,
      veth: `fv${this.id}${offset}`,
      ip: ipToString(this.cidr.network + offset),
    };
  }

  /** Round-robin over the CIDR, as host-local IPAM does, so a deleted pod's address is not reused at once. */
  private allocate(): number {
    const last = 2 ** (32 - this.cidr.prefix) - 2;
    for (let tries = 0; tries < last; tries++) {
      const offset = this.nextOffset;
      this.nextOffset = offset >= last ? 2 : offset + 1;
      if (!this.inUse.has(offset)) {
        this.inUse.add(offset);
        return offset;
      }
    }
    throw new PodNetworkError(`pod CIDR ${this.cidr.text} has no free address left`);
  }

  private async removeLeftovers(): Promise<void> {
    const namespaces = JSON.parse((await ip(['-j', 'netns', 'list'])) || '[]') as { name: string }[];
    for (const { name } of namespaces.filter((ns) => ns.name.startsWith(`fp${this.id}-`))) {
      const pids = (await ip(['netns', 'pids', name]).catch(() => '')).split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      await ip(['netns', 'del', name]).catch(() => undefined);
      await rm(`/etc/netns/${name}`, { recursive: true, force: true });
    }
    const links = JSON.parse((await ip(['-j', 'link', 'show'])) || '[]') as { ifname: string }[];
    for (const { ifname } of links) {
      if (ifname.startsWith(`fv${this.id}`) || ifname === this.bridge)
        await ip(['link', 'del', ifname]).catch(() => undefined);
    }
  }

  private async refuseOverlap(): Promise<void> {
    const taken: { what: string; cidr: Cidr }[] = [];
    const routes = JSON.parse(await ip(['-j', 'route', 'show', 'table', 'all'])) as {
      dst: string;
      dev?: string;
      type?: string;
    }[];
    for (const route of routes) {
      if (route.dst === 'default' || route.dst.includes(':') || route.type === 'broadcast') continue;
      const dst = route.dst.includes('/') ? route.dst : `${route.dst}/32`;
      taken.push({ what: `route ${route.dst} dev ${route.dev ?? '?'}`, cidr: looseCidr(dst) });
    }
    const links = JSON.parse(await ip(['-j', 'addr', 'show'])) as {
      ifname: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    for (const link of links) {
      for (const addr of link.addr_info.filter((a) => a.family === 'inet'))
        taken.push({
          what: `address ${addr.local}/${addr.prefixlen} on ${link.ifname}`,
          cidr: looseCidr(`${addr.local}/${addr.prefixlen}`),
        });
    }
    const clash = taken.find((t) => cidrsOverlap(t.cidr, this.cidr));
    if (clash)
      throw new PodNetworkError(
        `pod CIDR ${this.cidr.text} overlaps the host's ${clash.what}; choose a CIDR the host does not use`,
      );
  }
}

/** A CIDR as the host reports it, host bits and all (`192.0.2.2/24`). */
function looseCidr(text: string): Cidr {
  const [address = '0.0.0.0', prefixText = '32'] = text.split('/');
  const prefix = Number(prefixText);
  const value = ipToNumber(address);
  const network = prefix === 0 ? 0 : value - (value % 2 ** (32 - prefix));
  return { text, network, prefix };
}

async function ip(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new PodNetworkError(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

async function ipBatch(netns: string, lines: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['-n', netns, '-batch', '-'], { encoding: 'utf8' }, (error, _stdout, stderr) =>
      error
        ? reject(new PodNetworkError(`ip -n ${netns} -batch failed: ${stderr.trim() || error.message}`))
        : resolve(),
    );
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}

/**
 * Whether this process can run pods in network namespaces: root with CAP_NET_ADMIN (bit 12 of CapEff) and a probe
 * namespace that `ip netns add` creates and deletes. When not, `reason` says why in one line, so the caller can fall
 * back to the simulated runtime.
 */
export async function checkNetworkNamespaceSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== 'linux')
    return { ok: false, reason: `network namespaces need Linux, not ${process.platform}` };
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!capEff || (BigInt(`0x${capEff}`) & (1n << 12n)) === 0n)
    return { ok: false, reason: 'this process lacks CAP_NET_ADMIN (run as root to get real pods)' };
  for (const tool of ['ip', 'unshare', 'setpriv', 'nsenter']) {
    const found = await execFileAsync('sh', ['-c', `command -v ${tool}`]).then(
      () => true,
      () => false,
    );
    if (!found) return { ok: false, reason: `${tool} is not installed (Debian: iproute2, util-linux)` };
  }
  const probe = `fpprobe-${process.pid}`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (error) {
    return { ok: false, reason: `cannot create a network namespace: ${(error as Error).message}` };
  }
  await ip(['netns', 'del', probe]).catch(() => undefined);
  return { ok: true };
}
