/** The tenant's JARs in its bucket: ids, keys, names and the size limit. Pure rules; the job service does the I/O. */
import { createHash } from 'node:crypto';
import { FlinkplaneError } from '../errors.ts';
import type { StoredObject } from '../ports.ts';

import { isJarId, MAX_JAR_BYTES } from './limits.ts';

export { isJarId, MAX_JAR_BYTES };
/** Where JARs live in the tenant bucket; outside every HA epoch's prefix, so they survive destroy and clean starts. */
export const JAR_PREFIX = 'jars/';
/** Uploads land here first: the id is the digest of the bytes, known only once they are all read. */
export const INCOMING_PREFIX = `${JAR_PREFIX}.incoming/`;

// Letters, digits, dot, dash and underscore: safe in S3 metadata, in a multipart file name and in Flink's UI.
const JAR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.jar$/;

/** A JAR as the API shows it. */
export interface JarView {
  /** The first 16 hex digits of the SHA-256 of the bytes: the same bytes always get the same id. */
  readonly jarId: string;
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly uploadedAt: string;
}

export function jarKey(jarId: string): string {
  return `${JAR_PREFIX}${jarId}.jar`;
}

/** Throws `invalid_request` for a JAR name that is not a plain `*.jar` file name. */
export function checkJarName(name: unknown): string {
  if (typeof name === 'string' && JAR_NAME.test(name)) return name;
  throw new FlinkplaneError(
    'invalid_request',
    'The JAR name must be a file name ending in .jar (letters, digits, ".", "-", "_"; at most 132 characters)',
    { field: 'name', value: typeof name === 'string' ? name.slice(0, 200) : name },
  );
}

/** The file name a JobManager gets the JAR as, so its `GET /jars` says which of the tenant's JARs it holds. */
export function flinkFileName(jarId: string, name: string): string {
  return `${jarId}-${name}`;
}

/** The metadata stored with a JAR object. */
export function jarMetadata(name: string, sha256: string): Record<string, string> {
  return { name, sha256 };
}

/** The view of a stored JAR object, or undefined for an object that is not one (an upload still incoming). */
export function jarView(object: StoredObject): JarView | undefined {
  const match = /^jars\/([0-9a-f]{16})\.jar$/.exec(object.key);
  if (!match) return undefined;
  return {
    jarId: match[1]!,
    name: object.metadata?.name ?? `${match[1]}.jar`,
    bytes: object.bytes,
    sha256: object.metadata?.sha256 ?? '',
    uploadedAt: object.lastModified,
  };
}

/** What `meter` learned of a stream once it is read to the end. */
export interface Metered {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Passes `body` through, hashing and counting it; throws `payload_too_large` as soon as it exceeds `limit` bytes, so
 * an oversized upload is cut off rather than stored. `done()` answers once the stream was read to its end.
 */
export function meter(
  body: AsyncIterable<Uint8Array>,
  limit = MAX_JAR_BYTES,
): { body: AsyncIterable<Uint8Array>; done(): Metered } {
  const hash = createHash('sha256');
  let bytes = 0;
  let result: Metered | undefined;
  async function* pass(): AsyncIterable<Uint8Array> {
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      if (bytes > limit) {
        throw new FlinkplaneError('payload_too_large', `A JAR may have at most ${limit} bytes`, { limit });
      }
      hash.update(chunk);
      yield chunk;
    }
    result = { bytes, sha256: hash.digest('hex') };
  }
  return {
    body: pass(),
    done() {
      if (!result) throw new Error('The JAR stream was not read to its end');
      return result;
    },
  };
}
