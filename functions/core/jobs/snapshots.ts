/**
 * Finds "latest" for a run: the newest savepoint or retained checkpoint, in the tenant bucket, of a job run earlier
 * with the same entry class. Deliberately minimal and in one place; the savepoint ledger proper lists and checks them.
 */
import type { StoredObject } from '../ports.ts';

/** Where snapshots live in a tenant bucket: `savepoints/` (every epoch) and each HA epoch's `checkpoints/`. */
export function snapshotPrefixes(haClusterIds: readonly string[]): string[] {
  return ['savepoints/', ...haClusterIds.map((id) => `${id}/checkpoints/`)];
}

/**
 * The directory (as an `s3://` path) of the newest completed snapshot of one of `jobIds`, or undefined. A snapshot is
 * complete once its `_metadata` is written. Savepoint directories name only the first six hex digits of the job id
 * (`savepoint-<6>-<12>`), checkpoint directories the whole id (`<ha-id>/checkpoints/<job id>/chk-<n>`).
 */
export function latestSnapshot(
  bucket: string,
  objects: readonly StoredObject[],
  jobIds: readonly string[],
): string | undefined {
  const ids = new Set(jobIds);
  const shortIds = new Set(jobIds.map((id) => id.slice(0, 6)));
  let newest: { dir: string; at: string } | undefined;
  for (const object of objects) {
    if (!object.key.endsWith('/_metadata')) continue;
    const dir = object.key.slice(0, -'/_metadata'.length);
    const savepoint = /^savepoints\/savepoint-([0-9a-f]{6})-[0-9a-f]+$/.exec(dir);
    const checkpoint = /^[^/]+\/checkpoints\/([0-9a-f]{32})\/chk-\d+$/.exec(dir);
    const ofJob = savepoint ? shortIds.has(savepoint[1]!) : checkpoint ? ids.has(checkpoint[1]!) : false;
    if (ofJob && (!newest || object.lastModified > newest.at)) newest = { dir, at: object.lastModified };
  }
  return newest ? `s3://${bucket}/${newest.dir}` : undefined;
}
