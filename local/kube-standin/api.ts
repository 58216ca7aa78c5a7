import { randomUUID } from 'node:crypto';
import {
  encodeManagers,
  type ManagerEntry,
  readManagers,
  sameManagers,
  serverSideApply,
  trackUpdate,
} from './apply.ts';
import { applyDefaults } from './defaults.ts';
import { type FieldScope, SYSTEM_METADATA } from './fields.ts';
import { collectDependents } from './garbage-collector.ts';
import { NamespaceController } from './namespace-controller.ts';
import {
  canonical,
  clone,
  deepEqual,
  dropNulls,
  isRecord,
  type JsonRecord,
  type KubeObject,
  type ObjectMeta,
  randomSuffix,
  timestamp,
} from './objects.ts';
import { JsonPatchError, jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import { groupVersion, type ResourceDef } from './resources.ts';
import { type FieldValidation, pruneUnknownFields } from './schema.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  type KubeStatus,
  KubeStatusError,
  notFound,
  unsupportedMediaType,
} from './status.ts';
import type { ObjectStore } from './store.ts';
import {
  admitClaimResize,
  decodeScale,
  initialStatus,
  podGracePeriod,
  SCALE_PATCH_TYPES,
  StorageStrategy,
  toScale,
} from './strategies.ts';
import { decodingProblem, validateObject } from './validation.ts';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** The media type of each patch type, as clients send it in `Content-Type`. */
export const PATCH_MEDIA_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** Who writes, and how: the query parameters every write verb shares. */
export type WriteOptions = {
  /** `fieldManager`, or the manager derived from the User-Agent like the real server does. */
  manager: string;
  dryRun?: boolean;
  force?: boolean;
  /** What to do with fields the kind does not have: drop them (Ignore), drop and warn (Warn, the default), or refuse. */
  fieldValidation?: FieldValidation;
  /** Collects the warnings (`Warning` headers) of the write. */
  warnings?: string[];
};

export type DeleteOptions = {
  propagationPolicy?: string;
  /** A Pod's grace period; default its `terminationGracePeriodSeconds`. 0 removes it at once. */
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
};

export type ListOptions = {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continueToken?: string | null;
};

export type ApiOptions = {
  /** How long a deleted namespace stays `Terminating` before its contents and then itself are removed. */
  namespaceDeletionDelayMs: number;
  /** Random source for generated names (`generateName`, pod suffixes). */
  random: () => number;
};

const CONTROLLER_MANAGER = 'kube-controller-manager';

/**
 * The API server's request semantics over an `ObjectStore`: admission (namespace lifecycle), defaulting,
 * validation, optimistic concurrency, managed fields, generation, status and scale subresources, garbage
 * collection through owner references and namespace deletion.
 */
export class KubeApi {
  private readonly strategy: StorageStrategy;
  private readonly namespaces: NamespaceController;

  constructor(
    readonly store: ObjectStore,
    private readonly options: ApiOptions,
  ) {
    this.strategy = new StorageStrategy(store);
    this.namespaces = new NamespaceController(store, options.namespaceDeletionDelayMs, (def, obj) => {
      this.deleteObject(def, obj, 'Background');
    });
  }

  /** Schedules the finalization of namespaces that were Terminating when the store was saved. */
  resumeNamespaceDeletions(): void {
    this.namespaces.resume();
  }

  /** Cancels pending namespace finalizations. */
  close(): void {
    this.namespaces.close();
  }

  get(def: ResourceDef, namespace: string | undefined, name: string, subresource?: string): KubeObject {
    const obj = this.store.get(def, namespace, name);
    if (!obj) throw notFound(def, name);
    return subresource === 'scale' ? toScale(obj) : obj;
  }

  list(def: ResourceDef, namespace: string | undefined, options: ListOptions): JsonRecord {
    const labels = parseLabelSelector(options.labelSelector ?? null);
    const fields = parseFieldSelector(options.fieldSelector ?? null, def);
    const resourceVersion = String(this.store.resourceVersion);
    // A field selector on metadata.name in one namespace is a lookup, not a scan.
    const source =
      fields.name !== undefined && (namespace !== undefined || !def.namespaced)
        ? [this.store.get(def, namespace, fields.name)].filter((o) => o !== undefined)
        : this.store.list(def, namespace);
    let items = source.filter((o) => labels(o.metadata.labels) && fields.matches(o));
    const metadata: JsonRecord = { resourceVersion };
    if (options.continueToken) {
      const after = decodeContinue(options.continueToken);
      items = items.filter((o) => listKey(o) > after);
    }
    if (options.limit && options.limit > 0 && items.length > options.limit) {
      const remaining = items.length - options.limit;
      items = items.slice(0, options.limit);
      metadata.continue = Buffer.from(JSON.stringify({ v: 1, k: listKey(items[items.length - 1]!) })).toString(
        'base64url',
      );
      if (!options.labelSelector && !options.fieldSelector) metadata.remainingItemCount = remaining;
    }
    return {
      kind: `${def.kind}List`,
      apiVersion: groupVersion(def),
      metadata,
      // The real server leaves apiVersion and kind out of list items.
      items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }

  create(def: ResourceDef, namespace: string | undefined, body: unknown, options: WriteOptions): KubeObject {
    const obj = decodeObject(def, body, options);
    this.checkNamespace(def, namespace, obj.metadata);
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix(this.options.random)}`;
    }
    return this.commitCreate(def, obj, options.manager, options.dryRun ?? false);
  }

  replace(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    body: unknown,
    options: WriteOptions,
  ): KubeObject {
    const live = this.store.get(def, namespace, name);
    if (subresource === 'scale') {
      if (!live) throw notFound(def, name);
      return this.writeScale(def, live, decodeScale(body), options);
    }
    const obj = decodeObject(def, body, options);
    this.checkNamespace(def, namespace, obj.metadata);
    checkName(obj.metadata, name);
    if (!live) throw notFound(def, name);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(def, name);
    }
    return this.commitUpdate(def, live, obj, options, subresource);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    patchType: PatchType,
    body: unknown,
    options: WriteOptions,
  ): { object: KubeObject; created: boolean } {
    const live = this.store.get(def, namespace, name);
    if (patchType === 'apply') {
      if (subresource === 'scale') throw unsupportedMediaType('application/apply-patch+yaml', SCALE_PATCH_TYPES);
      return this.apply(def, namespace, name, subresource, live, body, options);
    }
    if (!live) throw notFound(def, name);
    if (subresource === 'scale') {
      return {
        object: this.writeScale(def, live, patchValue(toScale(live), patchType, body), options),
        created: false,
      };
    }
    const patched = patchValue(withoutManagedFields(live), patchType, body);
    if (!isRecord(patched)) throw badRequest('the patch must produce an object');
    const obj = decodeObject(def, patched, options);
    checkName(obj.metadata, name);
    if ((obj.metadata.namespace ?? '') !== (live.metadata.namespace ?? '')) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    // A patch that sets metadata.resourceVersion is a precondition; one that leaves it out is unconditional.
    const version = obj.metadata.resourceVersion;
    if (version && version !== live.metadata.resourceVersion) throw conflict(def, name);
    return { object: this.commitUpdate(def, live, obj, options, subresource), created: false };
  }

  delete(def: ResourceDef, namespace: string | undefined, name: string, options: DeleteOptions): unknown {
    const live = this.store.get(def, namespace, name);
    if (!live) throw notFound(def, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== live.metadata.uid) {
      throw conflict(
        def,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${live.metadata.resourceVersion}`,
      );
    }
    if (def.resource === 'namespaces') return this.namespaces.delete(live, options.dryRun ?? false);
    if (options.dryRun) return live;
    const remaining = this.deleteObject(
      def,
      live,
      options.propagationPolicy ?? 'Background',
      options.gracePeriodSeconds,
    );
    if (remaining) return remaining;
    if (def.returnDeletedObject) return live;
    const uid = live.metadata.uid;
    const details = def.group ? { name, group: def.group, kind: def.resource, uid } : { name, kind: def.resource, uid };
    const status: KubeStatus = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details,
      code: 200,
    };
    return status;
  }

  deleteCollection(
    def: ResourceDef,
    namespace: string | undefined,
    list: ListOptions,
    options: DeleteOptions,
  ): JsonRecord {
    const result = this.list(def, namespace, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector });
    const items = result.items as JsonRecord[];
    if (!options.dryRun) {
      for (const item of items) {
        const meta = item.metadata as ObjectMeta;
        const live = this.store.get(def, meta.namespace, meta.name!);
        if (live) this.deleteObject(def, live, options.propagationPolicy ?? 'Background', options.gracePeriodSeconds);
      }
    }
    return result;
  }

  /** Creates an object on behalf of a simulated controller; answers undefined when admission refuses. */
  internalCreate(def: ResourceDef, obj: KubeObject, manager = CONTROLLER_MANAGER): KubeObject | undefined {
    try {
      return this.commitCreate(def, obj, manager, false);
    } catch (error) {
      if (error instanceof KubeStatusError) return undefined;
      throw error;
    }
  }

  /** Writes the status of an object on behalf of a simulated controller (a no-op when nothing changed). */
  internalStatusUpdate(def: ResourceDef, live: KubeObject, status: unknown, manager = CONTROLLER_MANAGER): KubeObject {
    return this.commitUpdate(def, live, { ...live, status }, { manager }, 'status');
  }

  /** Replaces an object (not its status) on behalf of a controller, e.g. the scheduler binding a Pod to a node. */
  internalUpdate(def: ResourceDef, live: KubeObject, next: KubeObject, manager = CONTROLLER_MANAGER): KubeObject {
    return this.commitUpdate(def, live, next, { manager }, undefined);
  }

  /**
   * Deletes an object on behalf of a controller. A Pod on a node is deleted gracefully (marked, then removed once its
   * node confirms with a grace period of 0), as through the API.
   */
  internalDelete(def: ResourceDef, obj: KubeObject, gracePeriodSeconds?: number): void {
    this.deleteObject(def, obj, 'Background', gracePeriodSeconds);
  }

  private apply(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    live: KubeObject | undefined,
    body: unknown,
    options: WriteOptions,
  ): { object: KubeObject; created: boolean } {
    if (!isRecord(body) || typeof body.apiVersion !== 'string' || typeof body.kind !== 'string') {
      throw badRequest('invalid apply configuration: apiVersion and kind must be set');
    }
    const config = decodeObject(def, body, options);
    if (!config.metadata.name) config.metadata.name = name;
    checkName(config.metadata, name);
    this.checkNamespace(def, namespace, config.metadata);
    if (!live && subresource) throw notFound(def, name);
    if (live && config.metadata.resourceVersion && config.metadata.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(def, name);
    }
    const { metadata } = config;
    for (const key of SYSTEM_METADATA) delete metadata[key];
    const scope: FieldScope =
      subresource === 'status' ? 'status' : def.subresources.includes('status') ? 'main' : 'all';
    const writer = { manager: options.manager, apiVersion: config.apiVersion, subresource, scope, time: timestamp() };
    const { object, managers } = serverSideApply(live, config, writer, options.force ?? false);
    if (!live) {
      return {
        object: this.commitCreate(def, object, options.manager, options.dryRun ?? false, managers),
        created: true,
      };
    }
    return { object: this.commitUpdate(def, live, object, options, subresource, managers), created: false };
  }

  private commitCreate(
    def: ResourceDef,
    input: KubeObject,
    manager: string,
    dryRun: boolean,
    managers?: ManagerEntry[],
  ): KubeObject {
    const obj = clone(input);
    const meta = obj.metadata;
    for (const key of SYSTEM_METADATA) delete meta[key];
    if (!def.namespaced) delete meta.namespace;
    if (def.subresources.includes('status')) delete obj.status;
    this.strategy.prepare(def, undefined, obj);
    applyDefaults(def, obj);
    const errors = validateObject(def, obj);
    if (errors.length > 0) throw invalid(def, meta.name ?? '', errors);
    this.namespaces.admitCreate(def, meta);
    const existing = this.store.get(def, meta.namespace, meta.name!);
    if (existing) throw alreadyExists(def, meta.name!, existing.metadata.deletionTimestamp !== undefined);
    const initial = initialStatus(def, obj);
    if (initial !== undefined) obj.status = initial;
    const time = timestamp();
    meta.uid = randomUUID();
    meta.creationTimestamp = time;
    if (def.generation) meta.generation = 1;
    const scope: FieldScope = def.subresources.includes('status') ? 'main' : 'all';
    const owners = managers ?? trackUpdate(undefined, obj, { manager, apiVersion: obj.apiVersion, scope, time });
    meta.managedFields = encodeManagers(owners);
    const out = canonical(obj);
    if (dryRun) return out;
    return this.store.put(def, out);
  }

  private commitUpdate(
    def: ResourceDef,
    live: KubeObject,
    input: KubeObject,
    options: WriteOptions,
    subresource: string | undefined,
    managers?: ManagerEntry[],
  ): KubeObject {
    let obj: KubeObject;
    if (subresource === 'status') {
      obj = { ...clone(live), status: clone(input.status) };
      if (obj.status === undefined) delete obj.status;
    } else {
      obj = clone(input);
      if (def.subresources.includes('status')) {
        if (live.status === undefined) delete obj.status;
        else obj.status = clone(live.status);
      }
    }
    const meta = obj.metadata;
    for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
      if (live.metadata[key] === undefined) delete meta[key];
      else meta[key] = live.metadata[key];
    }
    meta.name = live.metadata.name;
    if (def.namespaced) meta.namespace = live.metadata.namespace;
    else delete meta.namespace;
    this.strategy.prepare(def, live, obj);
    applyDefaults(def, obj);
    const errors = validateObject(def, obj, live);
    if (errors.length > 0) throw invalid(def, meta.name ?? '', errors);
    admitClaimResize(this.store, def, live, obj);
    if (def.generation && subresource !== 'status' && !deepEqual(live.spec, obj.spec)) {
      meta.generation = (live.metadata.generation ?? 0) + 1;
    }
    const scope: FieldScope =
      subresource === 'status' ? 'status' : def.subresources.includes('status') ? 'main' : 'all';
    const time = timestamp();
    const owners =
      managers ??
      trackUpdate(live, obj, { manager: options.manager, apiVersion: obj.apiVersion, subresource, scope, time });
    if (
      deepEqual(
        withoutManagedFields(live),
        withoutManagedFields({ ...obj, metadata: { ...meta, resourceVersion: live.metadata.resourceVersion } }),
      ) &&
      sameManagers(readManagers(live), owners)
    ) {
      return live;
    }
    meta.managedFields = encodeManagers(owners);
    const out = canonical(obj);
    if (options.dryRun) {
      out.metadata.resourceVersion = live.metadata.resourceVersion;
      return out;
    }
    const stored = this.store.put(def, out);
    // A gracefully deleted Pod goes once its node confirms (grace 0), not when its status changes meanwhile.
    if (meta.deletionTimestamp && !(meta.finalizers?.length ?? 0) && !meta.deletionGracePeriodSeconds) {
      this.deleteObject(def, stored, 'Background');
    }
    return stored;
  }

  private writeScale(def: ResourceDef, live: KubeObject, scale: unknown, options: WriteOptions): KubeObject {
    if (!isRecord(scale) || !isRecord(scale.spec)) throw badRequest('the body must be an autoscaling/v1 Scale');
    const meta = isRecord(scale.metadata) ? scale.metadata : {};
    if (meta.resourceVersion && meta.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(def, live.metadata.name!);
    }
    const replicas = scale.spec.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: 'autoscaling', kind: 'Scale' }, live.metadata.name!, [
        {
          type: 'FieldValueInvalid',
          field: 'spec.replicas',
          value: replicas,
          detail: 'must be greater than or equal to 0',
        },
      ]);
    }
    const spec = { ...(isRecord(live.spec) ? live.spec : {}), replicas };
    return toScale(this.commitUpdate(def, live, { ...live, spec }, options, undefined));
  }

  /** Namespace of a namespaced object: URL wins, a different one in the body is a 400 like the real server. */
  private checkNamespace(def: ResourceDef, namespace: string | undefined, meta: ObjectMeta): void {
    if (!def.namespaced) {
      delete meta.namespace;
      return;
    }
    if (!meta.namespace) meta.namespace = namespace;
    else if (meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  /**
   * Deletes now, or marks for deletion when finalizers remain (answering the marked object). Dependents in the
   * same namespace go too (background and foreground alike), or lose their owner reference (Orphan).
   */
  private deleteObject(
    def: ResourceDef,
    obj: KubeObject,
    propagation: string,
    gracePeriodSeconds?: number,
  ): KubeObject | undefined {
    const meta = obj.metadata;
    const grace = def.resource === 'pods' ? podGracePeriod(obj, gracePeriodSeconds) : 0;
    if (grace > 0) {
      // Graceful: the Pod's node stops it and then deletes it with a grace period of 0. A shorter grace period
      // given later moves the deadline closer; a longer one changes nothing.
      if (meta.deletionTimestamp && (meta.deletionGracePeriodSeconds ?? 0) <= grace) return obj;
      const deadline = timestamp(Date.now() + grace * 1000);
      return this.store.put(
        def,
        canonical({ ...obj, metadata: { ...meta, deletionTimestamp: deadline, deletionGracePeriodSeconds: grace } }),
      );
    }
    if ((meta.finalizers?.length ?? 0) > 0) {
      if (meta.deletionTimestamp && meta.deletionGracePeriodSeconds === 0) return obj;
      return this.store.put(
        def,
        canonical({
          ...obj,
          metadata: {
            ...meta,
            deletionTimestamp: meta.deletionTimestamp ?? timestamp(),
            deletionGracePeriodSeconds: 0,
          },
        }),
      );
    }
    if (!this.store.remove(def, meta.namespace, meta.name!)) return undefined;
    if (def.namespaced && meta.namespace) {
      collectDependents(this.store, obj, propagation, {
        remove: (depDef, dep) => this.deleteObject(depDef, dep, 'Background'),
        orphan: (depDef, dep, next) => this.commitUpdate(depDef, dep, next, { manager: CONTROLLER_MANAGER }, undefined),
      });
      this.namespaces.contentRemoved(meta.namespace);
    }
    return undefined;
  }
}

/** Namespace and name, joined so that string order matches the store's namespace-then-name order. */
function listKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}\u0000${obj.metadata.name}`;
}

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string') return parsed.k;
  } catch {
    // answered below
  }
  throw badRequest(`continue key is not valid: ${token}`);
}

function checkName(meta: ObjectMeta, name: string): void {
  if (meta.name !== name) {
    throw badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${name})`);
  }
}

/**
 * A request body as the typed decoder sees it: right apiVersion and kind (defaulted when absent), nulls gone, and
 * fields the kind lacks dropped (with a warning under `Warn`) or refused (`Strict`).
 */
function decodeObject(def: ResourceDef, body: unknown, options: WriteOptions): KubeObject {
  const gv = groupVersion(def);
  if (!isRecord(body)) {
    throw badRequest(`the object provided is unrecognized (must be of type ${def.kind}): expected a JSON object`);
  }
  const apiVersion = body.apiVersion ?? gv;
  const kind = body.kind ?? def.kind;
  if (apiVersion !== gv) {
    throw badRequest(
      `the API version in the data (${String(apiVersion)}) does not match the expected API version (${gv})`,
    );
  }
  if (kind !== def.kind) {
    throw badRequest(
      `${String(kind)} in version "${def.version}" cannot be handled as a ${def.kind}: the kind in the body does not match the resource in the URL`,
    );
  }
  if (body.metadata !== undefined && body.metadata !== null && !isRecord(body.metadata)) {
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: metadata must be an object`,
    );
  }
  const obj = dropNulls({ ...body, apiVersion, kind, metadata: isRecord(body.metadata) ? body.metadata : {} });
  const cannot = `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}`;
  const problem = decodingProblem(obj);
  if (problem) throw badRequest(`${cannot}: ${problem}`);
  const { pruned, unknown } = pruneUnknownFields(def.kind, obj as JsonRecord);
  if (unknown.length === 0) return obj as KubeObject;
  const messages = unknown.map((path) => `unknown field ${JSON.stringify(path)}`);
  const mode = options.fieldValidation ?? 'Warn';
  if (mode === 'Strict') throw badRequest(`${cannot}: strict decoding error: ${messages.join(', ')}`);
  if (mode === 'Warn') options.warnings?.push(...messages);
  return pruned as KubeObject;
}

function patchValue(target: unknown, patchType: PatchType, body: unknown): unknown {
  switch (patchType) {
    case 'merge':
      if (!isRecord(body)) throw badRequest('a merge patch must be a JSON object');
      return mergePatch(target, body);
    case 'strategic':
      if (!isRecord(body)) throw badRequest('a strategic merge patch must be a JSON object');
      return strategicMergePatch(target, body);
    case 'json':
      try {
        return jsonPatch(target, body);
      } catch (error) {
        if (!(error instanceof JsonPatchError)) throw error;
        const status: KubeStatus = {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: error.message,
          reason: 'Invalid',
          code: 422,
        };
        throw new KubeStatusError(status);
      }
    case 'apply':
      throw new Error('apply patches are not merged here');
  }
}

function withoutManagedFields(obj: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
