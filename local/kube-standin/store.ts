import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KubeObject } from './objects.ts';
import { findResourceByKind, RESOURCES, type ResourceDef, resourceKey } from './resources.ts';

/** One change to the store, as a watch reports it. */
export type StoreEvent = {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The resourceVersion the change produced. */
  resourceVersion: number;
  def: ResourceDef;
  object: KubeObject;
  previous?: KubeObject;
};

/** How many past events a watch with a resourceVersion can be replayed from (the real server keeps ~minutes). */
const HISTORY_LIMIT = 20_000;

/**
 * Objects by resource, namespace and name, with one global resourceVersion counter, as etcd behind the API
 * server. Stored objects are never mutated: every write stores a new object, so readers and the watch history
 * can keep references.
 */
export class ObjectStore {
  private readonly byResource = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private history: StoreEvent[] = [];
  private historyStart = 0;
  private droppedUpTo = 0;
  private revision = 0;

  /** The last resourceVersion handed out. */
  get resourceVersion(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch can resume from: older ones get 410 Gone. */
  get oldestWatchableVersion(): number {
    return this.droppedUpTo;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.byResource
      .get(resourceKey(def))
      ?.get(namespace ?? '')
      ?.get(name);
  }

  /** Objects of a resource, in one namespace or all, sorted by namespace then name like etcd's key order. */
  list(def: ResourceDef, namespace?: string): KubeObject[] {
    const namespaces = this.byResource.get(resourceKey(def));
    if (!namespaces) return [];
    if (namespace !== undefined) {
      const names = namespaces.get(namespace);
      return names ? [...names.keys()].sort().map((n) => names.get(n)!) : [];
    }
    const out: KubeObject[] = [];
    for (const ns of [...namespaces.keys()].sort()) {
      const names = namespaces.get(ns)!;
      for (const n of [...names.keys()].sort()) out.push(names.get(n)!);
    }
    return out;
  }

  /** Every namespaced object in a namespace, with its resource. */
  namespaceContents(namespace: string): [ResourceDef, KubeObject][] {
    const out: [ResourceDef, KubeObject][] = [];
    for (const def of RESOURCES) {
      if (!def.namespaced) continue;
      const names = this.byResource.get(resourceKey(def))?.get(namespace);
      if (names) for (const obj of names.values()) out.push([def, obj]);
    }
    return out;
  }

  /** Stores `obj` (a fresh object the store now owns), giving it the next resourceVersion. */
  put(def: ResourceDef, obj: KubeObject): KubeObject {
    const previous = this.get(def, obj.metadata.namespace, obj.metadata.name!);
    this.revision++;
    obj.metadata.resourceVersion = String(this.revision);
    this.names(def, obj.metadata.namespace ?? '', true)!.set(obj.metadata.name!, obj);
    this.emit({ type: previous ? 'MODIFIED' : 'ADDED', resourceVersion: this.revision, def, object: obj, previous });
    return obj;
  }

  /** Removes an object; the DELETED event carries it with the resourceVersion of the deletion. */
  remove(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const names = this.names(def, namespace ?? '', false);
    const previous = names?.get(name);
    if (!names || !previous) return undefined;
    names.delete(name);
    this.revision++;
    const object = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(this.revision) } };
    this.emit({ type: 'DELETED', resourceVersion: this.revision, def, object, previous });
    return object;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Past events after `resourceVersion`, oldest first. */
  eventsSince(resourceVersion: number): StoreEvent[] {
    const out: StoreEvent[] = [];
    for (let i = this.history.length - 1; i >= this.historyStart; i--) {
      const event = this.history[i]!;
      if (event.resourceVersion <= resourceVersion) break;
      out.push(event);
    }
    return out.reverse();
  }

  /** Every stored object, cluster-scoped first. */
  all(): KubeObject[] {
    const out: KubeObject[] = [];
    for (const def of [...RESOURCES].sort((a, b) => Number(a.namespaced) - Number(b.namespaced))) {
      out.push(...this.list(def));
    }
    return out;
  }

  /** Replaces the contents with a snapshot (no events). */
  load(snapshot: StoreSnapshot): void {
    this.byResource.clear();
    for (const obj of snapshot.objects) {
      const def = findResourceByKind(obj.apiVersion, obj.kind);
      if (!def || !obj.metadata?.name) continue;
      this.names(def, obj.metadata.namespace ?? '', true)!.set(obj.metadata.name, obj);
    }
    this.revision = Math.max(this.revision, snapshot.resourceVersion);
    this.droppedUpTo = this.revision;
  }

  snapshot(): StoreSnapshot {
    return { resourceVersion: this.revision, objects: this.all() };
  }

  private names(def: ResourceDef, namespace: string, create: boolean): Map<string, KubeObject> | undefined {
    const key = resourceKey(def);
    let namespaces = this.byResource.get(key);
    if (!namespaces) {
      if (!create) return undefined;
      namespaces = new Map();
      this.byResource.set(key, namespaces);
    }
    let names = namespaces.get(namespace);
    if (!names) {
      if (!create) return undefined;
      names = new Map();
      namespaces.set(namespace, names);
    }
    return names;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length - this.historyStart > HISTORY_LIMIT) {
      this.droppedUpTo = this.history[this.historyStart]!.resourceVersion;
      this.historyStart++;
      if (this.historyStart > HISTORY_LIMIT) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const listener of this.listeners) listener(event);
  }
}

export type StoreSnapshot = { resourceVersion: number; objects: KubeObject[] };

const jsonCache = new WeakMap<KubeObject, string>();

/** The JSON of a stored object, computed once: stored objects never change. */
export function storedJson(obj: KubeObject): string {
  let json = jsonCache.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    jsonCache.set(obj, json);
  }
  return json;
}

type DataFile = StoreSnapshot & { format: 'flinkplane-kube-standin/v1'; extra?: unknown };

/** Reads a data file written by `Persistence`; undefined when it does not exist. */
export function readDataFile(file: string): (StoreSnapshot & { extra?: unknown }) | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const data = JSON.parse(text) as DataFile;
  if (data.format !== 'flinkplane-kube-standin/v1') {
    throw new Error(`${file} is not a kube stand-in data file (format ${String(data.format)})`);
  }
  return data;
}

/**
 * Writes the whole store to a JSON file at most every `intervalMs` after a change, through a temporary file
 * and a rename so a crash never leaves half a file.
 */
export class Persistence {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly intervalMs: number,
    private readonly snapshot: () => string,
  ) {
    mkdirSync(dirname(file), { recursive: true });
  }

  /** The data file text; objects reuse their cached JSON, so a save costs little more than the changes. */
  static format(snapshot: StoreSnapshot, extra: unknown): string {
    const objects = snapshot.objects.map(storedJson).join(',\n');
    return `{"format":"flinkplane-kube-standin/v1","resourceVersion":${snapshot.resourceVersion},"extra":${JSON.stringify(extra ?? null)},\n"objects":[\n${objects}\n]}\n`;
  }

  /** Notes a change; a write follows within `intervalMs`. */
  changed(): void {
    this.dirty = true;
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes now if anything changed since the last write. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.dirty) await this.write();
  }

  /** Writes synchronously, for process exit. */
  flushSync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, this.snapshot());
    renameSync(temp, this.file);
  }

  private async write(): Promise<void> {
    this.dirty = false;
    const temp = `${this.file}.${process.pid}.tmp`;
    this.writing = (async () => {
      await writeFile(temp, this.snapshot());
      await rename(temp, this.file);
    })();
    try {
      await this.writing;
    } catch (error) {
      console.error(`kube stand-in: could not write ${this.file}:`, error);
    } finally {
      this.writing = undefined;
    }
    if (this.dirty) this.changed();
  }
}
