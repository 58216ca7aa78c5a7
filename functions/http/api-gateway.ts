import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRequest, HttpResponse } from './http-types.ts';

/** An API Gateway HTTP API (payload 2.0) event as the router's request; JWT claims come verified by the authorizer. */
export function fromApiGatewayEvent(event: APIGatewayProxyEventV2WithJWTAuthorizer): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  // A JAR upload is bytes: API Gateway sends them base64-encoded, and the text above would garble them.
  const bytes =
    event.body === undefined ? undefined : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const claims = event.requestContext.authorizer?.jwt?.claims;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    headers,
    query: { ...(event.queryStringParameters ?? {}) },
    ...(body === undefined ? {} : { body }),
    ...(bytes === undefined ? {} : { stream: once(bytes) }),
    ...(claims ? { claims } : {}),
    requestId: event.requestContext.requestId,
  };
}

export function toApiGatewayResult(response: HttpResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.status, headers: { ...response.headers }, body: response.body, isBase64Encoded: false };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** The most a buffered streamed answer (API Gateway cannot stream; today the log routes) holds, and how long a follow there is read. */
const MAX_BUFFERED_BYTES = 5 * 1024 * 1024;
const BUFFERED_FOLLOW_MS = 20_000;

/**
 * A streamed answer read into its body, for a door that cannot stream (API Gateway and Lambda): at most 5 MiB, and a
 * follow for 20 s (`followMs`), so the answer comes before API Gateway's 29 s limit.
 */
export async function bufferStreamedResponse(
  response: HttpResponse,
  options: { readonly followMs?: number } = {},
): Promise<HttpResponse> {
  const { stream } = response;
  if (!stream) return response;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const timer = setTimeout(() => stream.close(), options.followMs ?? BUFFERED_FOLLOW_MS);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_BUFFERED_BYTES) break;
    }
  } catch {
    // A closed follow ends its iteration with an error; what was read is the answer.
  } finally {
    clearTimeout(timer);
    stream.close();
  }
  const { stream: _streamed, ...rest } = response;
  return { ...rest, body: Buffer.concat(chunks).subarray(0, MAX_BUFFERED_BYTES).toString('utf8') };
}
