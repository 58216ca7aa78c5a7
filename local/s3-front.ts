import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { AwsChunkedDecoder, isAwsChunked, plainHeaders } from './s3-aws-chunked.ts';

/**
 * A front for the local S3 server (s3rver) that makes it accept what real S3 clients send and answer as S3 would, so
 * the production S3 adapter needs no knowledge of s3rver:
 * - object bodies in the `aws-chunked` encoding (Hadoop S3A's Java SDK signs every chunk when the endpoint is plain
 *   HTTP) reach s3rver decoded, with the headers of a plain upload;
 * - a CreateBucket of a bucket that exists is answered `BucketAlreadyOwnedByYou`: the local store has one account, so
 *   every bucket is the caller's (s3rver says `BucketAlreadyExists`, which on AWS means another account owns it);
 * - the bucket settings s3rver does not keep (encryption, public access block, versioning, tagging; it would route
 *   them to CreateBucket) are answered 200, as S3 does, and not kept: the local store neither encrypts nor versions;
 * - `GET ?versions` (ListObjectVersions), which s3rver would answer as ListObjects, is answered as S3 answers it for a
 *   bucket that never kept versions: every object once, with version id `null` (DeleteObjects ignores that id there).
 * Every other request and every response passes through unchanged.
 */
export type S3Front = {
  /** The front's port on 127.0.0.1. */
  readonly port: number;
  /** Stops accepting requests, drops idle connections and waits for the server to close. */
  close(): Promise<void>;
};

/** Bucket settings s3rver does not keep; the front answers them 200 itself. */
const BUCKET_SETTINGS = ['encryption', 'publicAccessBlock', 'versioning', 'tagging'];

/** Starts the front on `port` (default a free one) of `host`, forwarding to the S3 server on `127.0.0.1:<upstreamPort>`. */
export async function startS3Front(upstreamPort: number, host = '127.0.0.1', port = 0): Promise<S3Front> {
  const agent = new Agent({ keepAlive: true });
  const server = createServer((incoming, outgoing) => {
    const target = bucketOf(incoming);
    if (incoming.method === 'PUT' && target && BUCKET_SETTINGS.some((name) => target.query.has(name))) {
      // The settings document is not kept: drain it, then answer as S3 does.
      incoming.resume();
      incoming.on('end', () => answerXml(outgoing, 200, undefined, undefined));
      return;
    }
    if (incoming.method === 'GET' && target?.query.has('versions')) {
      listVersionsAsObjects(incoming, outgoing, target, upstreamPort, agent);
      return;
    }
    forward(incoming, outgoing, upstreamPort, agent);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    agent.destroy();
    await closed;
  };
  return { port: (server.address() as AddressInfo).port, close };
}

function forward(incoming: IncomingMessage, outgoing: ServerResponse, upstreamPort: number, agent: Agent): void {
  const chunked = isAwsChunked(incoming.headers);
  const upstream = request({
    host: '127.0.0.1',
    port: upstreamPort,
    method: incoming.method,
    path: incoming.url,
    headers: chunked ? plainHeaders(incoming.headers) : incoming.headers,
    agent,
  });
  upstream.on('response', (response) => {
    if (isCreateBucket(incoming) && response.statusCode === 409) {
      rewriteAlreadyExists(response, outgoing);
      return;
    }
    outgoing.writeHead(response.statusCode ?? 502, response.statusMessage, response.headers);
    pipeline(response, outgoing, () => undefined);
  });
  let failed = false;
  const fail = (error: Error) => {
    if (failed) return;
    failed = true;
    if (outgoing.headersSent) {
      outgoing.destroy(error);
      return;
    }
    // A malformed body is the client's fault; anything else is the server behind the front.
    const status = error.name === 'AwsChunkedBodyError' ? 400 : 502;
    const code = status === 400 ? 'IncompleteBody' : 'ServiceUnavailable';
    answerXml(outgoing, status, code, error.message, { connection: 'close' });
  };
  upstream.on('error', fail);
  if (chunked) {
    pipeline(incoming, new AwsChunkedDecoder(), upstream, (error) => {
      if (error) {
        upstream.destroy();
        fail(error);
      }
    });
  } else {
    pipeline(incoming, upstream, (error) => {
      if (error) upstream.destroy();
    });
  }
}

/** The bucket name of a bucket-level path-style request (`/<bucket>` or `/<bucket>/`), else undefined. */
function bucketOf(incoming: IncomingMessage): { bucket: string; query: URLSearchParams } | undefined {
  const url = new URL(incoming.url ?? '/', 'http://front');
  const match = /^\/([^/]+)\/?$/.exec(url.pathname);
  return match ? { bucket: match[1]!, query: url.searchParams } : undefined;
}

function isCreateBucket(incoming: IncomingMessage): boolean {
  const target = bucketOf(incoming);
  return incoming.method === 'PUT' && target !== undefined && [...target.query.keys()].length === 0;
}

/**
 * ListObjectVersions of a bucket that never kept versions, from s3rver's ListObjects (v1: its v2 continuation tokens
 * need DES, which OpenSSL 3 refuses): each object is its one version, id `null`; the key marker pages as a marker.
 */
function listVersionsAsObjects(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  target: { bucket: string; query: URLSearchParams },
  upstreamPort: number,
  agent: Agent,
): void {
  const query = new URLSearchParams();
  const marker = target.query.get('key-marker');
  if (marker) query.set('marker', marker);
  query.set('max-keys', target.query.get('max-keys') ?? '1000');
  const prefix = target.query.get('prefix');
  if (prefix) query.set('prefix', prefix);
  const { 'content-length': _length, ...headers } = incoming.headers;
  incoming.resume();
  const upstream = request({
    host: '127.0.0.1',
    port: upstreamPort,
    method: 'GET',
    path: `/${target.bucket}?${query}`,
    headers,
    agent,
  });
  upstream.on('error', (error) => answerXml(outgoing, 502, 'ServiceUnavailable', error.message));
  upstream.on('response', (response) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      const listing = Buffer.concat(chunks).toString('utf8');
      if ((response.statusCode ?? 500) !== 200) {
        outgoing.writeHead(response.statusCode ?? 502, { 'content-type': 'application/xml' });
        outgoing.end(listing);
        return;
      }
      const field = (xml: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
      const contents = [...listing.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map((match) => match[1]!);
      const truncated = field(listing, 'IsTruncated') === 'true';
      const last = contents.length > 0 ? field(contents.at(-1)!, 'Key') : undefined;
      const nextKey = truncated ? (field(listing, 'NextMarker') ?? last) : undefined;
      const versions = contents
        .map(
          (object) =>
            `<Version><Key>${field(object, 'Key') ?? ''}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>` +
            `<LastModified>${field(object, 'LastModified') ?? ''}</LastModified><ETag>${field(object, 'ETag') ?? ''}</ETag>` +
            `<Size>${field(object, 'Size') ?? '0'}</Size><StorageClass>STANDARD</StorageClass></Version>`,
        )
        .join('');
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Name>${target.bucket}</Name><Prefix>${prefix ?? ''}</Prefix><KeyMarker>${marker ?? ''}</KeyMarker>` +
        `<VersionIdMarker></VersionIdMarker><MaxKeys>${query.get('max-keys')}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
        (nextKey ? `<NextKeyMarker>${nextKey}</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker>` : '') +
        `${versions}</ListVersionsResult>`;
      outgoing.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      outgoing.end(body);
    });
  });
  upstream.end();
}

/** s3rver answers a CreateBucket of an existing bucket `BucketAlreadyExists`; here every bucket is the caller's. */
function rewriteAlreadyExists(response: IncomingMessage, outgoing: ServerResponse): void {
  const chunks: Buffer[] = [];
  response.on('data', (chunk: Buffer) => chunks.push(chunk));
  response.on('error', (error) => outgoing.destroy(error));
  response.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (!body.includes('<Code>BucketAlreadyExists</Code>')) {
      outgoing.writeHead(409, response.statusMessage, {
        ...response.headers,
        'content-length': Buffer.byteLength(body),
      });
      outgoing.end(body);
      return;
    }
    answerXml(
      outgoing,
      409,
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
    );
  });
}

function answerXml(
  outgoing: ServerResponse,
  status: number,
  code: string | undefined,
  message: string | undefined,
  headers: Record<string, string> = {},
): void {
  if (code === undefined) {
    outgoing.writeHead(status, { 'content-length': '0', ...headers });
    outgoing.end();
    return;
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message ?? '')}</Message></Error>`;
  outgoing.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  outgoing.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
