import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BindMount } from './volumes.ts';

/** Everything a container's process needs besides its environment. */
export type ContainerProcess = {
  readonly netns: string;
  /** The pod's name, set as the UTS hostname. */
  readonly hostname: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (fsGroup, supplementalGroups). */
  readonly groups: readonly number[];
  /** `allowPrivilegeEscalation: false`. */
  readonly noNewPrivileges: boolean;
  /** `capabilities.drop: [ALL]`: matters only for a container running as root. */
  readonly dropAllCapabilities: boolean;
  /** Image mounts first, then the volumes, parents before children. */
  readonly mounts: readonly BindMount[];
  /** An empty host directory the mount sources are first bound into (see `mountLines`). */
  readonly stageDir: string;
  readonly workingDir: string;
  readonly command: string;
  readonly args: readonly string[];
};

/**
 * The command line that runs a container: `setpriv --pdeathsig KILL` (so the chain dies with this Node process, kill
 * -9 included) → `ip netns exec` (the pod's network namespace, with /etc/netns/<ns>/hosts bound over /etc/hosts) →
 * `unshare` a PID, mount and UTS namespace with a child killed when unshare dies (so everything the container
 * started dies with it) → a root shell that sets the hostname, mounts the image (overlayfs, with a writable layer of
 * the container's own) and binds the volumes in the private mount namespace, then starts the program as the pod's user and waits for it. The shell is PID 1 of the pod's PID
 * namespace: it ignores SIGTERM (no handler), and the program, in the same process group, gets it directly.
 */
export function containerCommandLine(spec: ContainerProcess): { file: string; args: string[] } {
  const setpriv = tool('setpriv');
  const script = [
    'set -e',
    `echo ${quote(spec.hostname)} > /proc/sys/kernel/hostname`,
    `cd ${quote(spec.stageDir)}`,
    ...spec.mounts.flatMap(stageLines),
    ...spec.mounts.flatMap(mountLines),
    // A read-only root filesystem turns read-only once the volumes' mount points exist in it, as runc does.
    ...spec.mounts
      .filter((m) => m.overlay && m.readOnly)
      .map((m) => `${quote(tool('mount'))} -o remount,bind,ro ${quote(m.target)}`),
    `cd ${quote(spec.workingDir)}`,
    [
      quote(setpriv),
      `--reuid=${spec.uid}`,
      `--regid=${spec.gid}`,
      spec.groups.length > 0 ? `--groups=${spec.groups.join(',')}` : '--clear-groups',
      ...(spec.noNewPrivileges ? ['--no-new-privs'] : []),
      ...(spec.dropAllCapabilities ? ['--inh-caps=-all', '--bounding-set=-all'] : []),
      '--',
      quote(spec.command),
      '"$@"',
      '&',
    ].join(' '),
    'wait $!',
  ].join('\n');
  return {
    file: setpriv,
    args: [
      '--pdeathsig=KILL',
      '--',
      tool('ip'),
      'netns',
      'exec',
      spec.netns,
      tool('unshare'),
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--uts',
      '--propagation=private',
      '--',
      tool('sh'),
      '-c',
      script,
      spec.command,
      ...spec.args,
    ],
  };
}

/**
 * Every source is first bound into the stage directory, the shell's working directory, and mounted from there by a
 * relative path: a mount over /tmp would otherwise hide a source that lives under /tmp (a data dir there), but the
 * working directory keeps reaching the stage whatever is mounted over its path later.
 */
function stageLines(mount: BindMount, index: number): string[] {
  return [
    mount.file ? `: > ./${index}` : `mkdir ./${index}`,
    `${quote(tool('mount'))} --bind ${quote(mount.source)} ./${index}`,
  ];
}

/**
 * A mount point missing on the host is created there (mkdir -p, or an empty file for a file mount): e.g. /storage
 * and /opt/flink appear as empty directories on the host the first time a pod mounts them. A target inside an image
 * is created in the container's own layer, never in the shared image.
 */
function mountLines(mount: BindMount, index: number): string[] {
  const mount_ = quote(tool('mount'));
  const target = quote(mount.target);
  const create = mount.file
    ? `[ -e ${target} ] || { mkdir -p ${quote(dirname(mount.target))} && : > ${target}; }`
    : `[ -d ${target} ] || mkdir -p ${target}`;
  if (mount.overlay) {
    // The layer starts empty with each container instance (the stage is new), as a restarted container's does.
    return [
      `mkdir ./${index}.upper ./${index}.work`,
      `chown --reference=./${index} ./${index}.upper && chmod --reference=./${index} ./${index}.upper`,
      create,
      `${mount_} -t overlay overlay -o lowerdir=./${index},upperdir=./${index}.upper,workdir=./${index}.work ${target}`,
    ];
  }
  const lines = [create, `${mount_} --bind ./${index} ${target}`];
  if (mount.readOnly) lines.push(`${mount_} -o remount,bind,ro ${target}`);
  return lines;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

const toolPaths = new Map<string, string>();

/** Absolute paths, so the chain does not depend on the container's PATH. */
function tool(name: string): string {
  let path = toolPaths.get(name);
  if (!path) {
    path = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((dir) => join(dir, name)).find((p) => existsSync(p)) ?? name;
    toolPaths.set(name, path);
  }
  return path;
}
