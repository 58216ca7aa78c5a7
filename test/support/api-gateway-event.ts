import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';

/** An API Gateway HTTP API (payload format 2.0) event as API Gateway sends it after its JWT authorizer. */
export function apiGatewayEvent(
  method: string,
  path: string,
  options: { claims?: Record<string, string | number | boolean | string[]>; body?: unknown; query?: string } = {},
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const query = options.query ?? '';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: query,
    ...(query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(query)) } : {}),
    headers: {
      accept: '*/*',
      'content-length': String(body?.length ?? 0),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'curl/8.5.0',
      'x-amzn-trace-id': 'Root=1-6560f5e1-0c5a1b2c3d4e5f6a7b8c9d0e',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '111111111111',
      apiId: 'abc123',
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: options.claims ?? {}, scopes: [] } },
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: 'Oo8nOjPcjoEEJ3g=',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '21/Nov/2026:11:40:00 +0000',
      timeEpoch: 1_795_002_000_000,
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2WithJWTAuthorizer;
}
