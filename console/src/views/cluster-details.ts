import type { ClusterView } from '../api-types.ts';
import { type Child, h } from '../dom.ts';
import { formatTime, isLive, retainedLabel, stateBadge } from '../format.ts';
import { type ConfigurationState, renderConfiguration } from './configuration.ts';

/** The cards under the Services table: the cluster, its namespace and storage, what is retained, its configuration. */
export function clusterDetails(current: ClusterView, configuration: ConfigurationState): Child {
  return [
    h('div', { class: 'grid-2' }, clusterCard(current), storageCard(current)),
    retainedCard(current),
    renderConfiguration(current, configuration),
  ];
}

function clusterCard(current: ClusterView): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'cluster-title' },
    h('div', { class: 'card-header' }, h('h2', { id: 'cluster-title', class: 'card-title' }, 'Cluster')),
    definitionList([
      ['State', stateBadge(current.state)],
      ['Generation', String(current.generation)],
      ['Flink version', current.spec.flinkVersion],
      ['Zone', current.spec.zone],
      ['Flink UI', isLive(current.state) ? h('code', { class: 'break' }, current.uiUrl) : 'Not served while destroyed'],
      ['Deployed', formatTime(current.deployedAt)],
      ['Updated', formatTime(current.updatedAt)],
      ...(current.destroyedAt && current.state === 'DESTROYED'
        ? ([['Destroyed', formatTime(current.destroyedAt)]] as const)
        : []),
      ['Last error', current.lastError ? `${current.lastError.code}: ${current.lastError.message}` : 'None'],
    ]),
  );
}

function storageCard(current: ClusterView): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'ha-title' },
    h(
      'div',
      { class: 'card-header' },
      h('h2', { id: 'ha-title', class: 'card-title' }, 'Namespace, storage and high availability'),
    ),
    definitionList([
      ['Kubernetes namespace', h('code', null, current.namespace)],
      ['HA cluster id', h('code', { class: 'ha-cluster-id' }, current.haClusterId)],
      [
        'Earlier HA cluster ids',
        current.previousHaClusterIds.length > 0
          ? current.previousHaClusterIds.map((id) => h('code', { class: 'chip' }, id))
          : 'None',
      ],
      ['Bucket', h('code', null, current.bucket)],
      ['JAR volume', [h('code', null, current.volume.name), ` · ${current.volume.sizeGiB} GiB`]],
      ['ZooKeeper proxy', h('code', null, current.zookeeperProxy)],
      ['ZooKeeper namespace', h('code', null, current.zookeeperNamespace)],
    ]),
  );
}

function retainedCard(current: ClusterView): HTMLElement | null {
  if (current.retained.length === 0) return null;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'retained-title' },
    h('div', { class: 'card-header' }, h('h2', { id: 'retained-title', class: 'card-title' }, 'Retained resources')),
    h(
      'div',
      { class: 'card-body' },
      h(
        'p',
        { class: 'muted' },
        current.state === 'DESTROYED'
          ? 'Kept while the cluster is destroyed, so the next deploy restores your jobs from their latest checkpoints. They are not reachable until then.'
          : 'HA state of earlier clean starts, kept so it can still be retrieved.',
      ),
      h(
        'ul',
        { class: 'retained-list', 'aria-label': 'Retained resources' },
        current.retained.map((item) =>
          h(
            'li',
            { class: 'retained-item' },
            h('span', { class: 'retained-kind' }, retainedLabel(item.kind)),
            h('code', null, item.name),
          ),
        ),
      ),
    ),
  );
}

function definitionList(rows: readonly (readonly [string, Child])[]): HTMLElement {
  return h(
    'dl',
    { class: 'dl card-body' },
    rows.map(([term, value]) => h('div', { class: 'dl-row' }, h('dt', null, term), h('dd', null, value))),
  );
}
