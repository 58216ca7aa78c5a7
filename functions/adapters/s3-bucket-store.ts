import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
  type S3ClientConfig,
  type ServerSideEncryptionByDefault,
} from '@aws-sdk/client-s3';
import { FlinkplaneError } from '../core/errors.ts';
import type { BucketStore } from '../core/ports.ts';
import { sendOrUnavailable } from './aws-unavailable.ts';

/** S3 caps DeleteObjects at 1000 keys per request. */
const DELETE_BATCH = 1000;
const S3 = {
  name: 'S3',
  dependency: 's3',
  rules: { throttled: new Set(['SlowDown']), answeredStatuses: new Set([501]) },
};

export const TENANT_TAG = 'flinkplane.io/tenant';
export const MANAGED_BY_TAG = 'flinkplane.io/managed-by';
export const MANAGED_BY = 'flinkplane';

export type S3BucketStoreOptions = {
  client: S3Client;
  /**
   * The account that must own every tenant bucket (the control plane's own): sent as `ExpectedBucketOwner` on every
   * call that takes it, so S3 refuses (403) a call that would touch a bucket of another account with the same name.
   */
  expectedBucketOwner: string;
  /** Region for the bucket's location constraint; default none, which S3 reads as us-east-1. */
  region?: string;
  /** KMS key for default encryption; default SSE-S3 (AES256). */
  kmsKeyId?: string;
};

/**
 * Client settings for an S3-compatible endpoint such as s3rver: path-style addressing (no bucket subdomains on
 * loopback) and checksums only where the API requires them, because s3rver stores streamed uploads with the SDK's
 * default chunked checksum trailer as corrupted objects.
 */
export function s3ClientConfigForEndpoint(endpoint: string, region = 'us-east-1'): S3ClientConfig {
  return {
    endpoint,
    region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** The tenant buckets in S3 (or, locally, s3rver). */
export function createS3BucketStore(options: S3BucketStoreOptions): BucketStore {
  const client = { send: sendOrUnavailable(options.client.send.bind(options.client), S3) };
  const owner = { ExpectedBucketOwner: options.expectedBucketOwner };
  async function bucketExists(name: string): Promise<boolean> {
    try {
      await client.send(new HeadBucketCommand({ Bucket: name, ...owner }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async function createBucket(name: string): Promise<void> {
    const input: CreateBucketCommandInput = { Bucket: name };
    // us-east-1 rejects an explicit location constraint.
    if (options.region && options.region !== 'us-east-1') {
      input.CreateBucketConfiguration = { LocationConstraint: options.region as BucketLocationConstraint };
    }
    try {
      // CreateBucket takes no ExpectedBucketOwner: its own answer says whose the bucket is.
      await client.send(new CreateBucketCommand(input));
    } catch (error) {
      // A retry after a crash between create and configure (or the SDK's retry of a lost answer) finds its own bucket.
      if (errorName(error) === 'BucketAlreadyOwnedByYou') return;
      // Bucket names are global: this one belongs to another account, and the tenant-pod role's bucket ARN names no
      // account, so adopting it would hand the tenant's checkpoints to a stranger's bucket.
      if (errorName(error) === 'BucketAlreadyExists') {
        throw new FlinkplaneError(
          'bucket_name_taken',
          `The bucket name ${name} is taken by another AWS account; choose another bucket prefix for the platform`,
          { bucket: name },
          { cause: error },
        );
      }
      throw error;
    }
  }

  async function deleteBatch(name: string, objects: ObjectIdentifier[]): Promise<void> {
    for (let start = 0; start < objects.length; start += DELETE_BATCH) {
      const batch = objects.slice(start, start + DELETE_BATCH);
      const result = await client.send(
        new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: batch, Quiet: true }, ...owner }),
      );
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new FlinkplaneError(
          'internal',
          `Could not delete ${failed.length} object(s) from bucket ${name}, e.g. ${first?.Key}: ${first?.Code} ${first?.Message}`,
          { bucket: name, failed: failed.length, key: first?.Key, s3Code: first?.Code },
        );
      }
    }
  }

  async function deleteAllVersions(name: string): Promise<boolean> {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const page = await listVersions(name, keyMarker, versionIdMarker);
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((entry) => ({
        Key: entry.Key,
        VersionId: entry.VersionId,
      }));
      await deleteBatch(name, objects);
      if (!page.IsTruncated) return true;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    } while (keyMarker !== undefined);
    return true;
  }

  function listVersions(name: string, keyMarker?: string, versionIdMarker?: string) {
    return client.send(
      new ListObjectVersionsCommand({
        Bucket: name,
        MaxKeys: DELETE_BATCH,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        ...owner,
      }),
    );
  }

  return {
    bucketExists,

    async ensureBucket(name, tenant) {
      // Create first rather than look first: a first deploy then costs one round trip, and a redeploy's create is
      // answered BucketAlreadyOwnedByYou (or, in us-east-1, 200 with ACLs that are disabled anyway) at the same cost.
      await createBucket(name);
      // Every setting is written on every call, so a retry repairs a bucket configured halfway.
      const encryption: ServerSideEncryptionByDefault = options.kmsKeyId
        ? { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: options.kmsKeyId }
        : { SSEAlgorithm: 'AES256' };
      await client.send(
        new PutBucketEncryptionCommand({
          Bucket: name,
          ...owner,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: encryption, BucketKeyEnabled: !!options.kmsKeyId }],
          },
        }),
      );
      await client.send(
        new PutPublicAccessBlockCommand({
          Bucket: name,
          ...owner,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        }),
      );
      await client.send(
        new PutBucketVersioningCommand({
          Bucket: name,
          VersioningConfiguration: { Status: 'Enabled' },
          ...owner,
        }),
      );
      await client.send(
        new PutBucketTaggingCommand({
          Bucket: name,
          ...owner,
          Tagging: {
            TagSet: [
              { Key: TENANT_TAG, Value: tenant },
              { Key: MANAGED_BY_TAG, Value: MANAGED_BY },
            ],
          },
        }),
      );
    },

    async deleteBucket(name) {
      if (!(await bucketExists(name))) return;
      await deleteAllVersions(name);
      try {
        await client.send(new DeleteBucketCommand({ Bucket: name, ...owner }));
      } catch (error) {
        if (errorName(error) !== 'NoSuchBucket') throw error;
      }
    },
  };
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NotFound' || name === 'NoSuchBucket' || httpStatus(error) === 404;
}
