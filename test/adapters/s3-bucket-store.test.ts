import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3BucketStore, s3ClientConfigForEndpoint } from '../../functions/adapters/s3-bucket-store.ts';
import { HTTP_STATUS_BY_CODE } from '../../functions/http/errors.ts';
import { S3RVER_ACCOUNT_ID, S3RVER_CREDENTIALS, type S3Server, startS3 } from '../../local/s3-server.ts';

const ACCOUNT = S3RVER_ACCOUNT_ID;
let s3: S3Server;
let directory: string;
let bucketCount = 0;
const freshBucket = () => `tenant-bucket-${++bucketCount}`;

type Sent = { command: string; input: Record<string, unknown> };

/**
 * A client of its own for one test that records each command it sends with its input, so the settings s3rver cannot
 * store can still be checked.
 */
function recordingClient(): { client: S3Client; sent: Sent[] } {
  const client = new S3Client({ ...s3ClientConfigForEndpoint(s3.endpoint), credentials: S3RVER_CREDENTIALS });
  const sent: Sent[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, sent };
}

async function putObjects(bucket: string, keys: string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 50) {
    await Promise.all(
      keys
        .slice(start, start + 50)
        .map((key) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }))),
    );
  }
}

/** Lists with v1 markers: s3rver answers a truncated ListObjectsV2 page with 500 on OpenSSL 3 (see the adapter). */
async function listKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsCommand({ Bucket: bucket, Marker: marker }));
    keys.push(...(page.Contents ?? []).map((entry) => entry.Key ?? ''));
    marker = page.IsTruncated ? keys.at(-1) : undefined;
  } while (marker);
  return keys;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'flinkplane-s3-test-'));
  s3 = await startS3({ directory });
});

afterAll(async () => {
  await s3?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('s3ClientConfigForEndpoint', () => {
  it('uses path-style addressing and checksums only where required', () => {
    expect(s3ClientConfigForEndpoint('http://127.0.0.1:9000')).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
});

describe('ensureBucket on s3rver behind its front', () => {
  it('creates the bucket; the front answers the four settings s3rver does not keep as S3 does', async () => {
    const { client, sent } = recordingClient();
    const store = createS3BucketStore({ client, expectedBucketOwner: ACCOUNT });
    const bucket = freshBucket();
    expect(await store.bucketExists(bucket)).toBe(false);
    await store.ensureBucket(bucket, 'acme');
    client.destroy();
    expect(await store.bucketExists(bucket)).toBe(true);
    await expect(s3.client.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    expect(
      sent
        .map((entry) => entry.command)
        .filter((command) => command.startsWith('PutBucket') || command === 'PutPublicAccessBlockCommand')
        .sort(),
    ).toEqual([
      'PutBucketEncryptionCommand',
      'PutBucketTaggingCommand',
      'PutBucketVersioningCommand',
      'PutPublicAccessBlockCommand',
    ]);
  });

  it('sends SSE-S3 encryption, a full public access block, versioning and the tenant tags', async () => {
    const { client, sent } = recordingClient();
    const store = createS3BucketStore({ client, expectedBucketOwner: ACCOUNT });
    const bucket = freshBucket();
    await store.ensureBucket(bucket, 'acme');
    client.destroy();
    const input = (command: string) => sent.find((entry) => entry.command === command)?.input;
    expect(input('PutBucketEncryptionCommand')).toMatchObject({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }],
      },
    });
    expect(input('PutPublicAccessBlockCommand')).toMatchObject({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    });
    expect(input('PutBucketVersioningCommand')).toMatchObject({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    });
    expect(input('PutBucketTaggingCommand')).toMatchObject({
      Bucket: bucket,
      Tagging: {
        TagSet: [
          { Key: 'flinkplane.io/tenant', Value: 'acme' },
          { Key: 'flinkplane.io/managed-by', Value: 'flinkplane' },
        ],
      },
    });
  });

  it('sends SSE-KMS with a bucket key when a KMS key is given', async () => {
    const { client, sent } = recordingClient();
    const store = createS3BucketStore({
      client,
      expectedBucketOwner: ACCOUNT,
      kmsKeyId: 'alias/flinkplane',
    });
    await store.ensureBucket(freshBucket(), 'acme');
    client.destroy();
    expect(sent.find((entry) => entry.command === 'PutBucketEncryptionCommand')?.input).toMatchObject({
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/flinkplane' },
            BucketKeyEnabled: true,
          },
        ],
      },
    });
  });

  it('keeps the objects when the bucket is ensured again', async () => {
    const store = createS3BucketStore({ client: s3.client, expectedBucketOwner: ACCOUNT });
    const bucket = freshBucket();
    await store.ensureBucket(bucket, 'acme');
    await putObjects(bucket, ['acme-ha0/checkpoints/chk-1/_metadata', 'savepoints/sp-1/_metadata']);
    await store.ensureBucket(bucket, 'acme');
    expect((await listKeys(bucket)).sort()).toEqual([
      'acme-ha0/checkpoints/chk-1/_metadata',
      'savepoints/sp-1/_metadata',
    ]);
    const body = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'savepoints/sp-1/_metadata' }));
    expect(await body.Body?.transformToString()).toBe('body of savepoints/sp-1/_metadata');
  });
});

describe('bucket ownership', () => {
  it('sends ExpectedBucketOwner on every call that takes it, from create to purge', async () => {
    const { client, sent } = recordingClient();
    const store = createS3BucketStore({ client, expectedBucketOwner: ACCOUNT });
    const bucket = freshBucket();
    await store.ensureBucket(bucket, 'acme');
    await putObjects(bucket, ['acme-ha0/ha/a', 'savepoints/b']);
    await store.ensureBucket(bucket, 'acme');
    await store.deleteBucket(bucket);
    client.destroy();
    const commands = new Set(sent.map((entry) => entry.command));
    for (const command of [
      'HeadBucketCommand',
      'PutBucketEncryptionCommand',
      'PutPublicAccessBlockCommand',
      'PutBucketVersioningCommand',
      'PutBucketTaggingCommand',
      'ListObjectVersionsCommand',
      'DeleteObjectsCommand',
      'DeleteBucketCommand',
    ]) {
      expect(commands, command).toContain(command);
    }
    // CreateBucket has no such parameter: its own answer (BucketAlreadyOwnedByYou or BucketAlreadyExists) says whose.
    const unowned = sent.filter(
      (entry) => entry.command !== 'CreateBucketCommand' && entry.input.ExpectedBucketOwner !== ACCOUNT,
    );
    expect(unowned.map((entry) => entry.command)).toEqual([]);
  });

  it('refuses a bucket name another account owns with bucket_name_taken (409) and sends nothing after the create', async () => {
    // S3's answer to a CreateBucket of a name another account holds, from a server that gives only that answer.
    const requests: string[] = [];
    const taken = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      request.resume();
      response.writeHead(409, { 'content-type': 'application/xml' });
      response.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BucketAlreadyExists</Code><Message>The requested bucket name is not available.</Message></Error>',
      );
    });
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(taken.address() as AddressInfo).port}`;
    const client = new S3Client({ ...s3ClientConfigForEndpoint(endpoint), credentials: S3RVER_CREDENTIALS });
    try {
      const store = createS3BucketStore({ client, expectedBucketOwner: ACCOUNT });
      const error = await store.ensureBucket('someone-elses-bucket', 'acme').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'bucket_name_taken', details: { bucket: 'someone-elses-bucket' } });
      expect(HTTP_STATUS_BY_CODE[(error as { code: 'bucket_name_taken' }).code]).toBe(409);
      expect(requests).toEqual(['PUT /someone-elses-bucket/']);
    } finally {
      client.destroy();
      taken.closeAllConnections();
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('finds its own bucket again: the local front answers a second create BucketAlreadyOwnedByYou', async () => {
    const { client, sent } = recordingClient();
    const store = createS3BucketStore({ client, expectedBucketOwner: ACCOUNT });
    const bucket = freshBucket();
    await store.ensureBucket(bucket, 'acme');
    const again = await client
      .send(new CreateBucketCommand({ Bucket: bucket }))
      .catch((error: unknown) => (error as Error).name);
    client.destroy();
    expect(again).toBe('BucketAlreadyOwnedByYou');
    expect(sent.filter((entry) => entry.command === 'CreateBucketCommand')).toHaveLength(2);
  });
});

describe('deleteBucket', () => {
  it('deletes more than one batch of objects and then the bucket', async () => {
    const { client, sent } = recordingClient();
    const store = createS3BucketStore({ client, expectedBucketOwner: ACCOUNT });
    const bucket = freshBucket();
    await store.ensureBucket(bucket, 'acme');
    const keys = Array.from({ length: 1003 }, (_, index) => `acme-ha0/ha/object-${String(index).padStart(4, '0')}`);
    await putObjects(bucket, keys);
    expect(await listKeys(bucket)).toHaveLength(1003);
    await store.deleteBucket(bucket);
    expect(await store.bucketExists(bucket)).toBe(false);
    client.destroy();
    // Through the versions listing, which the front answers as S3 does for a bucket that never kept versions.
    expect(sent.filter((entry) => entry.command === 'ListObjectVersionsCommand')).toHaveLength(2);
    expect(sent.filter((entry) => entry.command === 'DeleteObjectsCommand')).toHaveLength(2);
  });

  it('does nothing for a bucket that does not exist', async () => {
    const store = createS3BucketStore({ client: s3.client, expectedBucketOwner: ACCOUNT });
    await expect(store.deleteBucket('never-created-bucket')).resolves.toBeUndefined();
  });
});
