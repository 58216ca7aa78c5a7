import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, type S3Server, startS3 } from '../../local/s3-server.ts';

/**
 * The local S3 server (s3rver behind its front) stores `aws-chunked` uploads as the bytes they carry, as S3 does:
 * Hadoop S3A's Java SDK v1 signs every chunk over plain HTTP, and the JavaScript SDK streams with a checksum trailer.
 */

const BUCKET = 'chunked';

let work: string;
let s3: S3Server;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'flinkplane-aws-chunked-'));
  s3 = await startS3({ directory: work });
  await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function storedBytes(key: string): Promise<Buffer> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** The body as the Java SDK v1 frames it: `<hex size>;chunk-signature=<sig>\r\n<bytes>\r\n`, then a 0-size chunk. */
function chunkSigned(content: Buffer, chunkSize: number): Buffer {
  const signature = `chunk-signature=${'0'.repeat(64)}`;
  const parts: Buffer[] = [];
  for (let offset = 0; offset < content.length; offset += chunkSize) {
    const chunk = content.subarray(offset, offset + chunkSize);
    parts.push(Buffer.from(`${chunk.length.toString(16)};${signature}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0;${signature}\r\n\r\n`));
  return Buffer.concat(parts);
}

/** A raw Signature V4 PUT with an `aws-chunked` body, as S3A sends it; answers the status and body. */
function putChunked(key: string, content: Buffer, body: Buffer): Promise<{ status: number; text: string }> {
  const amzDate = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
  const headers = {
    'content-length': String(body.length),
    'content-encoding': 'aws-chunked',
    'content-type': 'application/octet-stream',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'x-amz-decoded-content-length': String(content.length),
    'x-amz-date': amzDate,
    authorization:
      `AWS4-HMAC-SHA256 Credential=${S3RVER_CREDENTIALS.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request, ` +
      `SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length, Signature=${'0'.repeat(64)}`,
  };
  const url = new URL(`/${BUCKET}/${key}`, s3.endpoint);
  return new Promise((resolve, reject) => {
    const call = request(url, { method: 'PUT', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    call.on('error', reject);
    call.end(body);
  });
}

describe('aws-chunked uploads to the local S3 server', () => {
  it('stores a chunk-signed upload (the framing S3A sends over HTTP) as the bytes it carries', async () => {
    const content = randomBytes(200_000);
    const answer = await putChunked('s3a/chunk-signed', content, chunkSigned(content, 65_536));
    expect(answer.status).toBe(200);
    expect((await storedBytes('s3a/chunk-signed')).equals(content)).toBe(true);
  });

  it('stores a stream the JavaScript SDK uploads with a checksum trailer as its bytes', async () => {
    // The SDK's default checksum setting: a stream goes up as aws-chunked with an x-amz-checksum-crc32 trailer.
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    try {
      const content = randomBytes(100_000);
      await client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'sdk/streamed',
          Body: Readable.from([content.subarray(0, 40_000), content.subarray(40_000)]),
          ContentLength: content.length,
        }),
      );
      expect((await storedBytes('sdk/streamed')).equals(content)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('answers IncompleteBody to a truncated aws-chunked body', async () => {
    const content = randomBytes(10_000);
    const whole = chunkSigned(content, 4096);
    const answer = await putChunked('s3a/truncated', content, whole.subarray(0, whole.length - 60));
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('<Code>IncompleteBody</Code>');
  });
});
