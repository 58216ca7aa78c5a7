import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { ObjectStore, StoredObject } from '../core/ports.ts';
import { sendOrUnavailable } from './aws-unavailable.ts';

/** The size of each part of a multipart upload, and so the most an upload holds in memory at once. */
const PART_BYTES = 8 * 1024 * 1024;
const LIST_PAGE = 1000;
const S3 = {
  name: 'S3',
  dependency: 's3',
  rules: { throttled: new Set(['SlowDown']), answeredStatuses: new Set([501]) },
};

export type S3ObjectStoreOptions = {
  client: S3Client;
  /** The account that must own every tenant bucket: sent as `ExpectedBucketOwner` on every call. */
  expectedBucketOwner: string;
};

/**
 * Objects in the tenant buckets in S3 (or, locally, s3rver). A stream of unknown length is uploaded in 8 MiB parts
 * (one PutObject when it is smaller), so a 500 MiB JAR never sits in memory whole. Lists page with ListObjects (v1)
 * markers, as the bucket store does, because s3rver's ListObjectsV2 tokens fail on OpenSSL 3.
 */
export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  const client = { send: sendOrUnavailable(options.client.send.bind(options.client), S3) };
  const owner = { ExpectedBucketOwner: options.expectedBucketOwner };

  async function head(bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
      const found = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...owner }));
      return {
        key,
        bytes: found.ContentLength ?? 0,
        lastModified: (found.LastModified ?? new Date(0)).toISOString(),
        metadata: found.Metadata ?? {},
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  return {
    async put(bucket, key, body, metadata) {
      const parts = chunked(body, PART_BYTES);
      const first = await parts.next();
      const firstPart = first.done ? Buffer.alloc(0) : first.value;
      const second = first.done ? undefined : await parts.next();
      if (!second || second.done) {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: firstPart, Metadata: { ...metadata }, ...owner }),
        );
        return firstPart.length;
      }
      const created = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { ...metadata }, ...owner }),
      );
      const uploadId = created.UploadId!;
      const done: { ETag: string; PartNumber: number }[] = [];
      let bytes = 0;
      const upload = async (part: Buffer) => {
        const PartNumber = done.length + 1;
        const answer = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: part, ...owner }),
        );
        done.push({ ETag: answer.ETag!, PartNumber });
        bytes += part.length;
      };
      try {
        await upload(firstPart);
        await upload(second.value);
        for (let next = await parts.next(); !next.done; next = await parts.next()) await upload(next.value);
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: done },
            ...owner,
          }),
        );
        return bytes;
      } catch (error) {
        await client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, ...owner }))
          .catch(() => undefined);
        throw error;
      }
    },

    async copy(bucket, from, to, metadata) {
      await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: to,
          CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: { ...metadata },
          ...owner,
          ExpectedSourceBucketOwner: options.expectedBucketOwner,
        }),
      );
    },

    head,

    async get(bucket, key) {
      try {
        const found = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...owner }));
        const body = found.Body as AsyncIterable<Uint8Array> | undefined;
        return {
          object: {
            key,
            bytes: found.ContentLength ?? 0,
            lastModified: (found.LastModified ?? new Date(0)).toISOString(),
            metadata: found.Metadata ?? {},
          },
          body: body ?? empty(),
        };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    async list(bucket, prefix) {
      const found: StoredObject[] = [];
      let marker: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: LIST_PAGE, Marker: marker, ...owner }),
        );
        for (const entry of page.Contents ?? []) {
          if (entry.Key === undefined) continue;
          found.push({
            key: entry.Key,
            bytes: entry.Size ?? 0,
            lastModified: (entry.LastModified ?? new Date(0)).toISOString(),
          });
        }
        marker = page.IsTruncated ? (page.NextMarker ?? found.at(-1)?.key) : undefined;
      } while (marker !== undefined);
      return found;
    },

    async delete(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...owner }));
    },
  };
}

/** Regroups a stream into buffers of exactly `size` bytes (the last one shorter). */
async function* chunked(body: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let held = 0;
  for await (const chunk of body) {
    pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    held += chunk.byteLength;
    while (held >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      held -= size;
    }
  }
  if (held > 0 || pending.length === 0) yield Buffer.concat(pending);
}

async function* empty(): AsyncIterable<Uint8Array> {}

function isNotFound(error: unknown): boolean {
  const name = error instanceof Error ? error.name : undefined;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || status === 404;
}
