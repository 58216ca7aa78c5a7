/**
 * `fieldValidation` on the kube stand-in, over plain HTTP: the official client's serializer drops fields its models
 * lack before sending, so only a raw request can carry an unknown field to the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeStandin, startKubeStandin } from '../../local/kube-standin/server.ts';

let standin: KubeStandin;
const namespace = 'validation';
const deployments = `/apis/apps/v1/namespaces/${namespace}/deployments`;

beforeAll(async () => {
  standin = await startKubeStandin();
  await request('POST', '/api/v1/namespaces', { metadata: { name: namespace } });
});

afterAll(async () => {
  await standin.stop();
});

async function request(method: string, path: string, body: unknown, contentType = 'application/json') {
  const response = await fetch(`${standin.url}${path}`, {
    method,
    headers: { 'Content-Type': contentType, Authorization: `Bearer ${standin.token}` },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    warnings: response.headers.get('warning'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** A Deployment with one misspelt container field (`imagePullPolcy`) and one field Deployments lack (`spec.paused2`). */
function misspelt(name: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      paused2: true,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'flink:1.20', imagePullPolcy: 'Always' }] },
      },
    },
  };
}

const UNKNOWN = 'unknown field "spec.paused2", unknown field "spec.template.spec.containers[0].imagePullPolcy"';

describe('kube stand-in fieldValidation', () => {
  it('refuses unknown fields on create with Strict, naming each, and stores nothing', async () => {
    const { status, body } = await request('POST', `${deployments}?fieldValidation=Strict`, misspelt('strict'));
    expect(status).toBe(400);
    expect(body).toMatchObject({
      reason: 'BadRequest',
      message: `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ${UNKNOWN}`,
    });
    expect((await fetch(`${standin.url}${deployments}/strict`)).status).toBe(404);
  });

  it('accepts a Deployment without unknown fields with Strict', async () => {
    const valid = misspelt('valid');
    delete (valid.spec as { paused2?: boolean }).paused2;
    delete (valid.spec.template.spec.containers[0] as { imagePullPolcy?: string }).imagePullPolcy;
    const { status, warnings } = await request('POST', `${deployments}?fieldValidation=Strict`, valid);
    expect(status).toBe(201);
    expect(warnings).toBeNull();
  });

  it('refuses unknown fields on update and on server-side apply with Strict', async () => {
    const created = await request('POST', deployments, { ...misspelt('updated') });
    expect(created.status).toBe(201);
    const update = await request('PUT', `${deployments}/updated?fieldValidation=Strict`, misspelt('updated'));
    expect(update.status).toBe(400);
    expect(update.body.message).toContain(`strict decoding error: ${UNKNOWN}`);
    const apply = await request(
      'PATCH',
      `${deployments}/applied?fieldManager=test&fieldValidation=Strict`,
      misspelt('applied'),
      'application/apply-patch+yaml',
    );
    expect(apply.status).toBe(400);
    expect(apply.body.message).toContain(`strict decoding error: ${UNKNOWN}`);
  });

  it('drops unknown fields and answers a Warning header per field by default (Warn)', async () => {
    const { status, warnings, body } = await request('POST', deployments, misspelt('warned'));
    expect(status).toBe(201);
    expect(warnings).toBe(
      '299 - "unknown field \\"spec.paused2\\"", 299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""',
    );
    const spec = body.spec as { paused2?: boolean; template: { spec: { containers: Record<string, unknown>[] } } };
    expect(spec.paused2).toBeUndefined();
    expect(spec.template.spec.containers[0]).not.toHaveProperty('imagePullPolcy');
  });

  it('drops unknown fields without a warning with Ignore', async () => {
    const { status, warnings, body } = await request(
      'POST',
      `${deployments}?fieldValidation=Ignore`,
      misspelt('quiet'),
    );
    expect(status).toBe(201);
    expect(warnings).toBeNull();
    expect(body.spec).not.toHaveProperty('paused2');
  });
});
