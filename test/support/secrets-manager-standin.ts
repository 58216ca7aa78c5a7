import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the AWS Secrets Manager API (JSON 1.1 protocol, `GetSecretValue` only), for running the bundled
 * Lambda handlers here; no Secrets Manager can run on this machine.
 */
export async function startSecretsManagerStandin(secrets: Record<string, string>) {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const target = request.headers['x-amz-target'];
      const answer = (status: number, payload: object) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
      };
      if (target !== 'secretsmanager.GetSecretValue') {
        answer(400, { __type: 'InvalidRequestException', message: `unsupported operation ${target}` });
        return;
      }
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const secret = secrets[SecretId];
      if (secret === undefined) {
        answer(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      answer(200, { ARN: SecretId, Name: SecretId.split(':').at(-1), SecretString: secret, VersionId: 'v1' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
