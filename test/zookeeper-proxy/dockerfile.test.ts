import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildZooKeeperProxyDeployment } from '../../cluster-templates/zookeeper-proxy.ts';
import { repoPath } from '../../infra/paths.ts';
import { clusterOf } from '../cluster-templates/fixtures.ts';

// The proxy image documents the ports it serves; the tenant manifests are what actually runs it.
describe('the zookeeper-proxy Dockerfile', () => {
  const dockerfile = readFileSync(repoPath('zookeeper-proxy/Dockerfile'), 'utf8');
  const container = buildZooKeeperProxyDeployment(clusterOf('acme')).spec!.template.spec!.containers[0]!;
  const manifestPorts = (container.ports ?? []).map((port) => port.containerPort).sort();
  /** The port of a `HOST:PORT` flag in the container's arguments, or in the Dockerfile's usage comment. */
  const flagPort = (text: string, flag: string) => Number(new RegExp(`${flag}[ =]\\S*:(\\d+)`).exec(text)?.[1]);

  it('exposes exactly the ports the tenant manifests give the proxy container', () => {
    const exposed = [...dockerfile.matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((match) =>
      match[1]!
        .trim()
        .split(/\s+/)
        .map((port) => Number(port.replace(/\/tcp$/, ''))),
    );
    expect(manifestPorts.length).toBeGreaterThan(0);
    expect(exposed.sort()).toEqual(manifestPorts);
  });

  it('documents the --listen and --metrics ports the manifests pass', () => {
    const args = container.args!.join(' ');
    for (const flag of ['--listen', '--metrics']) {
      expect(flagPort(dockerfile, flag), flag).toBe(flagPort(args, flag));
      expect(manifestPorts, flag).toContain(flagPort(args, flag));
    }
  });
});
