import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3BucketStore } from '../../functions/adapters/s3-bucket-store.ts';

/**
 * The versioned-bucket purge cannot run against a real store here: s3rver (the only S3 server on npm) keeps no
 * versions. This fake keeps just what the purge reads and writes, with S3's documented rules: ListObjectVersions
 * orders by key, then newest version first, pages by `KeyMarker` + `VersionIdMarker` and `MaxKeys` (at most 1000),
 * and lists delete markers apart from versions; DeleteObjects removes the exact versions named; DeleteBucket answers
 * `BucketNotEmpty` while any version or delete marker is left. Every command must name the expected owner.
 */
type Entry = { key: string; versionId: string; deleteMarker: boolean };

const OWNER = '111111111111';

function versionedBucketFake(bucket: string, entries: Entry[]) {
  let stored = [...entries].sort((a, b) => a.key.localeCompare(b.key) || b.versionId.localeCompare(a.versionId));
  let exists = true;
  const calls: string[] = [];
  const s3Error = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const send = async (command: unknown) => {
    const input = (command as { input: Record<string, unknown> }).input;
    calls.push(command!.constructor.name);
    if (input.Bucket !== bucket || !exists) throw s3Error('NoSuchBucket', 404);
    if (input.ExpectedBucketOwner !== OWNER) throw s3Error('AccessDenied', 403);
    if (command instanceof HeadBucketCommand) return {};
    if (command instanceof ListObjectVersionsCommand) {
      const maxKeys = Math.min(command.input.MaxKeys ?? 1000, 1000);
      const { KeyMarker: keyMarker, VersionIdMarker: versionMarker } = command.input;
      const start =
        keyMarker === undefined
          ? 0
          : stored.findIndex(
              (entry) =>
                entry.key > keyMarker ||
                (entry.key === keyMarker && versionMarker !== undefined && entry.versionId < versionMarker),
            );
      const page = start < 0 ? [] : stored.slice(start, start + maxKeys);
      const truncated = start >= 0 && start + maxKeys < stored.length;
      const last = page.at(-1);
      const shape = (entry: Entry) => ({ Key: entry.key, VersionId: entry.versionId });
      return {
        Versions: page.filter((entry) => !entry.deleteMarker).map(shape),
        DeleteMarkers: page.filter((entry) => entry.deleteMarker).map(shape),
        IsTruncated: truncated,
        ...(truncated ? { NextKeyMarker: last!.key, NextVersionIdMarker: last!.versionId } : {}),
      };
    }
    if (command instanceof DeleteObjectsCommand) {
      const objects = command.input.Delete?.Objects ?? [];
      if (objects.length > 1000) throw s3Error('MalformedXML', 400);
      const named = new Set(objects.map((object) => `${object.Key}\u0000${object.VersionId}`));
      stored = stored.filter((entry) => !named.has(`${entry.key}\u0000${entry.versionId}`));
      return { Errors: [] };
    }
    if (command instanceof DeleteBucketCommand) {
      if (stored.length > 0) throw s3Error('BucketNotEmpty', 409);
      exists = false;
      return {};
    }
    throw new Error(`the fake does not answer ${command!.constructor.name}`);
  };
  return { client: { send } as unknown as S3Client, calls, remaining: () => stored.length, exists: () => exists };
}

describe('deleteBucket of a versioned bucket (a fake with S3 paging rules: no npm S3 server keeps versions)', () => {
  it('deletes every version and delete marker across pages, including versions of one key split by a page end, then the bucket', async () => {
    const entries: Entry[] = [];
    // 2 100 entries: a key with 1 500 versions crosses the first page end, so paging must resume mid-key.
    for (let version = 0; version < 1500; version += 1) {
      entries.push({ key: 'acme-ha1/ha/job', versionId: `v${String(version).padStart(5, '0')}`, deleteMarker: false });
    }
    for (let index = 0; index < 300; index += 1) {
      const key = `acme-ha1/checkpoints/chk-${index}`;
      entries.push({ key, versionId: 'v00001', deleteMarker: false }, { key, versionId: 'v00002', deleteMarker: true });
    }
    const fake = versionedBucketFake('flinkplane-tenant-acme', entries);
    const store = createS3BucketStore({ client: fake.client, expectedBucketOwner: OWNER });
    await store.deleteBucket('flinkplane-tenant-acme');
    expect(fake.remaining()).toBe(0);
    expect(fake.exists()).toBe(false);
    expect(fake.calls.filter((call) => call === 'ListObjectVersionsCommand')).toHaveLength(3);
    expect(fake.calls.filter((call) => call === 'DeleteObjectsCommand')).toHaveLength(3);
  });

  it('touches nothing in a bucket of the same name that another account owns', async () => {
    const fake = versionedBucketFake('flinkplane-tenant-acme', [{ key: 'a', versionId: 'v1', deleteMarker: false }]);
    const store = createS3BucketStore({ client: fake.client, expectedBucketOwner: '222222222222' });
    await expect(store.deleteBucket('flinkplane-tenant-acme')).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(fake.remaining()).toBe(1);
    expect(fake.calls).toEqual(['HeadBucketCommand']);
  });
});
