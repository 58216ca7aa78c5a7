import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesApplier } from '../../functions/adapters/kubernetes-applier.ts';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

function configWithToken(url: string, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'standin', server: url, skipTLSVerify: true }],
    users: [{ name: 'flinkplane', token }],
    contexts: [{ name: 'standin', cluster: 'standin', user: 'flinkplane' }],
    currentContext: 'standin',
  });
  return config;
}

const namespace = (name: string) => [[{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]];

describe('Kubernetes applier against a stand-in that checks bearer tokens', () => {
  let standin: KubeStandin;

  beforeAll(async () => {
    standin = await startKubeStandin({ token: 'current-token' });
  });
  afterAll(async () => standin?.stop());

  it('signs a new token and tries again when the API server answers 401', async () => {
    let token = 'expired-token';
    let refreshes = 0;
    const applier = createKubernetesApplier({
      kubeConfig: async () => configWithToken(standin.url, token),
      onUnauthorized: () => {
        refreshes += 1;
        token = 'current-token';
      },
    });
    await applier.apply(namespace('refreshed'));
    expect(refreshes).toBe(1);
    expect(
      standin.objects().some((object) => object.kind === 'Namespace' && object.metadata.name === 'refreshed'),
    ).toBe(true);
  });

  it('answers a refused token with a coded error naming the status when nothing can refresh it', async () => {
    const applier = createKubernetesApplier({ kubeConfig: async () => configWithToken(standin.url, 'wrong-token') });
    await expect(applier.apply(namespace('refused'))).rejects.toMatchObject({
      code: 'internal',
      details: { status: 401 },
    });
  });
});
