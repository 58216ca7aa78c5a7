import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ClientConfigForEndpoint } from '../../functions/adapters/s3-bucket-store.ts';
import { createS3ObjectStore } from '../../functions/adapters/s3-object-store.ts';
import { meter } from '../../functions/core/jobs/jars.ts';
import { S3RVER_ACCOUNT_ID, S3RVER_CREDENTIALS, type S3Server, startS3 } from '../../local/s3-server.ts';

// The tenant-object adapter against s3rver: multipart streaming, copy with new metadata, listing, reads, deletes.
let s3: S3Server;
let directory: string;
const BUCKET = 'flinkplane-objects';
const MIB = 1024 * 1024;

/** `total` bytes in 1 MiB chunks, each chunk's bytes derived from its index, so the digest checks the order too. */
async function* generated(total: number): AsyncIterable<Uint8Array> {
  for (let sent = 0, index = 0; sent < total; index++) {
    const size = Math.min(MIB, total - sent);
    yield Buffer.alloc(size, index % 251);
    sent += size;
  }
}

async function digest(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'flinkplane-objects-'));
  s3 = await startS3({ directory });
  await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await s3?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('S3 object store (s3rver)', () => {
  const store = () => createS3ObjectStore({ client: s3.client, expectedBucketOwner: S3RVER_ACCOUNT_ID });

  it('streams a body larger than one part in parts and reads the same bytes back', async () => {
    const total = 20 * MIB + 12_345;
    const written = await store().put(BUCKET, 'jars/.incoming/big', generated(total), {});
    expect(written).toBe(total);
    const found = await store().get(BUCKET, 'jars/.incoming/big');
    expect(found?.object.bytes).toBe(total);
    expect(await digest(found!.body)).toEqual(await digest(generated(total)));
  });

  it('copies an object under a new key with new metadata, lists by prefix and deletes idempotently', async () => {
    await store().put(BUCKET, 'jars/.incoming/small', generated(1000), {});
    await store().copy(BUCKET, 'jars/.incoming/small', 'jars/0123456789abcdef.jar', { name: 'job.jar', sha256: 'x' });
    expect((await store().head(BUCKET, 'jars/0123456789abcdef.jar'))?.metadata).toEqual({
      name: 'job.jar',
      sha256: 'x',
    });
    expect((await store().list(BUCKET, 'jars/0')).map((object) => object.key)).toEqual(['jars/0123456789abcdef.jar']);
    await store().delete(BUCKET, 'jars/0123456789abcdef.jar');
    await store().delete(BUCKET, 'jars/0123456789abcdef.jar');
    expect(await store().head(BUCKET, 'jars/0123456789abcdef.jar')).toBeUndefined();
    expect(await store().get(BUCKET, 'jars/0123456789abcdef.jar')).toBeUndefined();
  });

  it('aborts a multipart upload the size limit cuts off, leaving no object', async () => {
    // s3rver has no ListMultipartUploads: a client of its own records that the upload was aborted.
    const client = new S3Client({ ...s3ClientConfigForEndpoint(s3.endpoint), credentials: S3RVER_CREDENTIALS });
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    const metered = meter(generated(30 * MIB), 17 * MIB);
    const recorded = createS3ObjectStore({ client, expectedBucketOwner: S3RVER_ACCOUNT_ID });
    await expect(recorded.put(BUCKET, 'jars/.incoming/too-big', metered.body, {})).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    expect(await store().head(BUCKET, 'jars/.incoming/too-big')).toBeUndefined();
    expect(sent.filter((name) => name.includes('Multipart'))).toEqual([
      'CreateMultipartUploadCommand',
      'AbortMultipartUploadCommand',
    ]);
    expect(sent.filter((name) => name === 'UploadPartCommand')).toHaveLength(2);
  });
});
