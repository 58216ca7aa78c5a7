import type { ObjectStore, StoredObject } from '../../../functions/core/ports.ts';

/**
 * One bucket in memory, behaving as the S3 object store does: metadata on put and copy, none in a listing. `clock`
 * stamps each write; by default every write is a second after the last.
 */
export function memoryObjectStore(clock?: () => string): ObjectStore & {
  /** Stores a text object as if written at `at`. */
  write(key: string, text: string, at: string): void;
  keys(prefix?: string): string[];
} {
  const stored = new Map<string, { bytes: Buffer; metadata: Record<string, string>; at: string }>();
  let tick = 0;
  const now = clock ?? (() => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)).toISOString());
  const view = (key: string): StoredObject | undefined => {
    const found = stored.get(key);
    return found && { key, bytes: found.bytes.length, lastModified: found.at, metadata: found.metadata };
  };
  return {
    write: (key, text, at) => stored.set(key, { bytes: Buffer.from(text), metadata: {}, at }),
    keys: (prefix = '') => [...stored.keys()].filter((key) => key.startsWith(prefix)).sort(),
    async put(_bucket, key, body, metadata) {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk));
      const bytes = Buffer.concat(chunks);
      stored.set(key, { bytes, metadata: { ...metadata }, at: now() });
      return bytes.length;
    },
    async copy(_bucket, from, to, metadata) {
      stored.set(to, { bytes: stored.get(from)!.bytes, metadata: { ...metadata }, at: now() });
    },
    head: async (_bucket, key) => view(key),
    async get(_bucket, key) {
      const object = view(key);
      if (!object) return undefined;
      const bytes = stored.get(key)!.bytes;
      return {
        object,
        body: (async function* () {
          yield bytes;
        })(),
      };
    },
    list: async (_bucket, prefix) =>
      [...stored.keys()].filter((key) => key.startsWith(prefix)).map((key) => ({ ...view(key)!, metadata: undefined })),
    async delete(_bucket, key) {
      stored.delete(key);
    },
  };
}
