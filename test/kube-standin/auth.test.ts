import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

let standin: KubeStandin;

beforeAll(async () => {
  standin = await startKubeStandin({ token: 'flinkplane-secret' });
});

afterAll(async () => {
  await standin.stop();
});

describe('kube stand-in authentication', () => {
  it('answers a request without the bearer token with a 401 Status', async () => {
    const response = await fetch(`${standin.url}/api/v1/namespaces`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('answers a client with the wrong token with 401', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(standin.kubeconfigYaml().replace('flinkplane-secret', 'guessed'));
    const error = await kc
      .makeApiClient(CoreV1Api)
      .listNamespace()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).code).toBe(401);
  });

  it('serves a client built from its kubeconfig', async () => {
    const namespaces = await standin.kubeConfig({ namespace: 'default' }).makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
  });

  it('answers /version and /healthz without a token', async () => {
    expect((await fetch(`${standin.url}/version`)).status).toBe(200);
    expect(await (await fetch(`${standin.url}/healthz`)).text()).toBe('ok');
  });
});
