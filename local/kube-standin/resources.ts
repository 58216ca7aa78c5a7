/** How the API server validates `metadata.name` for a resource. */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path-segment';

/** One served resource: what discovery advertises and what the handlers need to know about it. */
export type ResourceDef = {
  group: string;
  version: string;
  /** Plural, lower case: `deployments`. */
  resource: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** `status` gets its own writer; `scale` answers `autoscaling/v1` Scale. */
  subresources: ('status' | 'scale')[];
  /** Subresources reached by upgrading the connection (`pods/portforward`); plain requests get 400. */
  connectSubresources: 'portforward'[];
  /** Subresources answered with a stream rather than an object (`pods/log`, `services/proxy`). */
  streamSubresources: ('log' | 'proxy')[];
  /** `metadata.generation` is kept and bumped on spec changes. */
  generation: boolean;
  /** DELETE answers the deleted object rather than a `Status` (pods, services, PVCs in the real server). */
  returnDeletedObject: boolean;
  nameRule: NameRule;
};

type DefInput = Pick<ResourceDef, 'group' | 'version' | 'resource' | 'kind'> & Partial<ResourceDef>;

function def(input: DefInput): ResourceDef {
  return {
    singularName: input.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    subresources: [],
    connectSubresources: [],
    streamSubresources: [],
    generation: false,
    returnDeletedObject: false,
    nameRule: 'subdomain',
    ...input,
  };
}

const core = { group: '', version: 'v1' };
const apps = { group: 'apps', version: 'v1' };
const networking = { group: 'networking.k8s.io', version: 'v1' };
const policy = { group: 'policy', version: 'v1' };
const storage = { group: 'storage.k8s.io', version: 'v1' };
const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1', nameRule: 'path-segment' as const };

/** Every resource the stand-in serves, in discovery order. */
export const RESOURCES: readonly ResourceDef[] = [
  def({
    ...core,
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
    nameRule: 'label',
  }),
  def({
    ...core,
    resource: 'nodes',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status'],
  }),
  def({ ...core, resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'] }),
  def({ ...core, resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] }),
  def({ ...core, resource: 'secrets', kind: 'Secret' }),
  def({
    ...core,
    resource: 'services',
    kind: 'Service',
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
    streamSubresources: ['proxy'],
    returnDeletedObject: true,
    nameRule: 'dns1035',
  }),
  def({
    ...core,
    resource: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    shortNames: ['pvc'],
    subresources: ['status'],
    returnDeletedObject: true,
  }),
  def({
    ...core,
    resource: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status'],
    connectSubresources: ['portforward'],
    streamSubresources: ['log'],
    returnDeletedObject: true,
  }),
  def({ ...core, resource: 'events', kind: 'Event', shortNames: ['ev'] }),
  def({
    ...apps,
    resource: 'deployments',
    kind: 'Deployment',
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  def({
    ...apps,
    resource: 'statefulsets',
    kind: 'StatefulSet',
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  def({
    ...networking,
    resource: 'ingresses',
    kind: 'Ingress',
    shortNames: ['ing'],
    subresources: ['status'],
    generation: true,
  }),
  def({ ...networking, resource: 'networkpolicies', kind: 'NetworkPolicy', shortNames: ['netpol'], generation: true }),
  def({
    ...policy,
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    shortNames: ['pdb'],
    subresources: ['status'],
    generation: true,
  }),
  def({ ...storage, resource: 'storageclasses', kind: 'StorageClass', namespaced: false, shortNames: ['sc'] }),
  def({ ...rbac, resource: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
  def({ ...rbac, resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false }),
  def({ ...rbac, resource: 'roles', kind: 'Role' }),
  def({ ...rbac, resource: 'rolebindings', kind: 'RoleBinding' }),
];

/** `apps/v1` or `v1`. */
export function groupVersion(d: Pick<ResourceDef, 'group' | 'version'>): string {
  return d.group ? `${d.group}/${d.version}` : d.version;
}

/** The store key of a resource: `apps/deployments`, `/pods`. */
export function resourceKey(d: Pick<ResourceDef, 'group' | 'resource'>): string {
  return `${d.group}/${d.resource}`;
}

const byPath = new Map(RESOURCES.map((d) => [`${groupVersion(d)}/${d.resource}`, d]));
const byKind = new Map(RESOURCES.map((d) => [`${groupVersion(d)}/${d.kind}`, d]));

/** The resource served at `/api[s]/<groupVersion>/<resource>`, if any. */
export function findResource(gv: string, resource: string): ResourceDef | undefined {
  return byPath.get(`${gv}/${resource}`);
}

/** The resource of an object by its `apiVersion` and `kind`, if served. */
export function findResourceByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** Looks a served resource up by plural name and group; throws for a programming error. */
export function resourceDef(group: string, resource: string): ResourceDef {
  const found = RESOURCES.find((d) => d.group === group && d.resource === resource);
  if (!found) throw new Error(`the kube stand-in serves no resource ${resource} in group "${group}"`);
  return found;
}

const MAIN_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NAMESPACE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];
const CONNECT_VERBS = ['create', 'get'];
const CONNECT_KINDS = { portforward: 'PodPortForwardOptions' };
const STREAM_ENTRIES = {
  log: { kind: 'Pod', verbs: ['get'] },
  proxy: { kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
};

function apiResources(gv: string): unknown[] {
  const out: unknown[] = [];
  for (const d of RESOURCES) {
    if (groupVersion(d) !== gv) continue;
    const main: Record<string, unknown> = {
      name: d.resource,
      singularName: d.singularName,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.resource === 'namespaces' ? NAMESPACE_VERBS : MAIN_VERBS,
    };
    if (d.shortNames.length > 0) main.shortNames = d.shortNames;
    if (d.categories.length > 0) main.categories = d.categories;
    // The main resource comes first: KubernetesObjectApi picks the first entry whose kind matches.
    out.push(main);
    for (const sub of d.connectSubresources) {
      out.push({
        name: `${d.resource}/${sub}`,
        singularName: '',
        namespaced: d.namespaced,
        kind: CONNECT_KINDS[sub],
        verbs: CONNECT_VERBS,
      });
    }
    for (const sub of d.streamSubresources) {
      out.push({ name: `${d.resource}/${sub}`, singularName: '', namespaced: d.namespaced, ...STREAM_ENTRIES[sub] });
    }
    for (const sub of d.subresources) {
      const entry: Record<string, unknown> = {
        name: `${d.resource}/${sub}`,
        singularName: '',
        namespaced: d.namespaced,
        kind: sub === 'scale' ? 'Scale' : d.kind,
        verbs: SUBRESOURCE_VERBS,
      };
      if (sub === 'scale') Object.assign(entry, { group: 'autoscaling', version: 'v1' });
      out.push(entry);
    }
  }
  return out;
}

/** Every `groupVersion` served, core first. */
function servedGroupVersions(): string[] {
  return [...new Set(RESOURCES.map(groupVersion))];
}

/** The body of `/api/<v>` or `/apis/<g>/<v>`, or undefined when that group version is not served. */
export function apiResourceList(gv: string): unknown {
  if (!servedGroupVersions().includes(gv)) return undefined;
  const list: Record<string, unknown> = { kind: 'APIResourceList', groupVersion: gv, resources: apiResources(gv) };
  if (gv.includes('/')) list.apiVersion = 'v1';
  return list;
}

/** The body of `/api`. */
export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string): Record<string, unknown> {
  const versions = [...new Set(RESOURCES.filter((d) => d.group === group).map((d) => d.version))].map((version) => ({
    groupVersion: `${group}/${version}`,
    version,
  }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** The body of `/apis`. */
export function apiGroupList(): unknown {
  const groups = [...new Set(RESOURCES.map((d) => d.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
}

/** The body of `/apis/<group>`, or undefined when the group is not served. */
export function apiGroupDocument(group: string): unknown {
  if (!RESOURCES.some((d) => d.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

/**
 * `/openapi/v3`: the index of per-group-version documents. The documents hold no schemas; they only declare,
 * per kind, the PATCH operation with its `fieldValidation` parameter, which is what kubectl checks before it
 * leaves validation to the server (without it, `kubectl apply` wants `--validate=false`).
 */
export function openApiIndex(): unknown {
  const paths: Record<string, unknown> = {};
  for (const gv of servedGroupVersions()) {
    const path = gv.includes('/') ? `apis/${gv}` : `api/${gv}`;
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=kube-standin` };
  }
  return { paths };
}

/**
 * `/openapi/v2` without definitions, as JSON and as the gnostic protobuf (`openapi_v2.Document`: swagger = 1,
 * info = 2 with title = 1 and version = 2) that kubectl before 1.27 asks for before every apply. kubectl validates
 * only kinds the document defines, so with none it leaves validation to the server, as with the v3 documents.
 */
export function openApiV2(): { json: unknown; protobuf: Buffer; mediaType: string } {
  const version = STANDIN_VERSION.gitVersion;
  return {
    json: { swagger: '2.0', info: { title: 'Kubernetes', version }, paths: {}, definitions: {} },
    protobuf: protobufDocument('2.0', 'Kubernetes', version),
    // Asked for as `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, served as kube-openapi serves it.
    mediaType: 'application/octet-stream',
  };
}

function protobufDocument(swagger: string, title: string, version: string): Buffer {
  const field = (number: number, bytes: Buffer) =>
    Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
  const info = Buffer.concat([field(1, Buffer.from(title)), field(2, Buffer.from(version))]);
  return Buffer.concat([field(1, Buffer.from(swagger)), field(2, info)]);
}

/** `/openapi/v3/api[s]/<groupVersion>`, or undefined when that group version is not served. */
export function openApiDocument(gv: string): unknown {
  if (!servedGroupVersions().includes(gv)) return undefined;
  const prefix = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
  const paths: Record<string, unknown> = {};
  for (const d of RESOURCES) {
    if (groupVersion(d) !== gv) continue;
    const path = d.namespaced
      ? `${prefix}/namespaces/{namespace}/${d.resource}/{name}`
      : `${prefix}/${d.resource}/{name}`;
    paths[path] = {
      patch: {
        operationId: `patch${d.kind}`,
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: d.group, version: d.version, kind: d.kind },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (Flinkplane kube stand-in, no schemas)', version: STANDIN_VERSION.gitVersion },
    paths,
  };
}

/** The Kubernetes version the stand-in claims; the build metadata says what it is. */
export const STANDIN_VERSION = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0+kube-standin',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'n/a (Flinkplane kube stand-in, Node.js)',
  compiler: 'n/a',
  platform: 'linux/amd64',
};
