import type { ClusterView } from '../api-types.ts';
import { type Child, h, srOnly } from '../dom.ts';
import { formatMemory, formatTime, isLive, stateBadge, stateHint } from '../format.ts';

/** What the Services table's buttons do; the tenant view owns the dialogs and the polling. */
export interface ServiceActions {
  /** Opens the deploy form: "+ Flink Cluster" and Edit. */
  deploy(): void;
  /** Deploys a destroyed cluster again with its kept spec, restoring the latest state. */
  redeploy(button: HTMLButtonElement): void;
  destroy(current: ClusterView): void;
  openFlinkUi(current: ClusterView): void;
}

const COLUMNS = ['Service', 'State', 'Version', 'Resources', 'Actions'] as const;

/**
 * The Services card of a tenant: loading (`undefined`), empty (`null`) or its Flink cluster as one row. Each cell
 * carries its column name, so a narrow screen can show the row as a card (see `.services-table` in the styles).
 */
export function servicesCard(tenant: string, view: ClusterView | null | undefined, actions: ServiceActions): Child {
  const addButton =
    view === null || view?.state === 'DESTROYED'
      ? h(
          'button',
          {
            type: 'button',
            class: 'button button-primary',
            'data-focus-key': 'add-cluster',
            onclick: () => actions.deploy(),
          },
          '+ Flink Cluster',
        )
      : null;
  const header = h(
    'div',
    { class: 'card-header' },
    h('h2', { id: 'services-title', class: 'card-title' }, 'Services'),
    addButton,
  );
  if (view === undefined) return [header, h('p', { class: 'card-body muted' }, 'Loading…')];
  if (view === null) {
    return [
      header,
      h(
        'div',
        { class: 'empty-state' },
        h('h3', null, 'No Flink cluster yet'),
        h(
          'p',
          { class: 'muted' },
          'A Flink session cluster gives you a JobManager, TaskManagers, the Flink UI, a bucket for checkpoints and savepoints, and ZooKeeper high availability.',
        ),
      ),
    ];
  }
  return [
    header,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table services-table' },
        h('caption', { class: 'sr-only' }, `Services of ${tenant}`),
        h('thead', null, h('tr', null, ...COLUMNS.map((name) => h('th', { scope: 'col' }, name)))),
        h('tbody', null, clusterRow(view, actions)),
      ),
    ),
    lastError(view),
  ];
}

function clusterRow(current: ClusterView, actions: ServiceActions): HTMLElement {
  const { jobManager, taskManager } = current.spec;
  const row = rowActions(current, actions);
  return h(
    'tr',
    null,
    h(
      'th',
      { scope: 'row', 'data-label': 'Service' },
      h('span', { class: 'service-name' }, 'Flink cluster'),
      h('span', { class: 'muted small' }, 'session cluster'),
    ),
    h(
      'td',
      { 'data-label': 'State' },
      h('span', { class: 'cluster-state', 'data-state': current.state }, stateBadge(current.state)),
      observedText(current),
    ),
    h(
      'td',
      { 'data-label': 'Version' },
      h('span', { class: 'nowrap' }, `Flink ${current.spec.flinkVersion}`),
      h('span', { class: 'muted small' }, current.spec.zone),
    ),
    h(
      'td',
      { 'data-label': 'Resources' },
      h('span', { class: 'nowrap' }, `JobManager · ${jobManager.cpu} CPU · ${formatMemory(jobManager.memoryMB)}`),
      h(
        'span',
        { class: 'nowrap muted small' },
        `${taskManager.instances} × TaskManager · ${taskManager.cpu} CPU · ${formatMemory(taskManager.memoryMB)}`,
      ),
    ),
    h('td', { 'data-label': 'Actions' }, row.childElementCount > 0 ? row : h('span', { class: 'muted' }, '—')),
  );
}

function rowActions(current: ClusterView, actions: ServiceActions): HTMLElement {
  const live = isLive(current.state);
  const redeploy =
    current.state === 'DESTROYED' && !current.operation
      ? h(
          'button',
          {
            type: 'button',
            class: 'button',
            'data-focus-key': 'redeploy-cluster',
            title: 'Deploy again with the same settings, restoring the latest state',
            onclick: (event: Event) => actions.redeploy(event.currentTarget as HTMLButtonElement),
          },
          'Redeploy',
        )
      : null;
  return h(
    'div',
    { class: 'row-actions' },
    live && isSafeUrl(current.uiUrl)
      ? h(
          'a',
          {
            class: 'button',
            href: current.uiUrl,
            target: '_blank',
            rel: 'noopener noreferrer',
            'data-focus-key': 'flink-ui',
            onclick: (event: Event) => {
              // A modified click (new window, download) keeps the plain link; the vhost then asks to sign in.
              const mouse = event as MouseEvent;
              if (mouse.ctrlKey || mouse.metaKey || mouse.shiftKey || mouse.altKey || mouse.button !== 0) return;
              event.preventDefault();
              actions.openFlinkUi(current);
            },
          },
          'Flink UI',
          srOnly(' (opens in a new tab)'),
        )
      : null,
    live
      ? h(
          'button',
          { type: 'button', class: 'button', 'data-focus-key': 'edit-cluster', onclick: () => actions.deploy() },
          'Edit',
        )
      : null,
    redeploy,
    live || current.state === 'DESTROYING'
      ? h(
          'button',
          {
            type: 'button',
            class: 'button button-danger-quiet',
            'data-focus-key': 'destroy-cluster',
            disabled: current.state === 'DESTROYING',
            onclick: () => actions.destroy(current),
          },
          'Destroy Flink Cluster',
        )
      : null,
  );
}

function lastError(current: ClusterView): HTMLElement | null {
  if (!current.lastError) return null;
  return h(
    'div',
    { class: 'card-body' },
    h(
      'div',
      { class: 'notice notice-danger' },
      h('strong', null, `Last error (${current.lastError.code}): `),
      current.lastError.message,
      ' — ',
      formatTime(current.lastError.at),
    ),
  );
}

function observedText(view: ClusterView): Child {
  const observed = view.observed;
  if (view.operation)
    return h('span', { class: 'muted small' }, `${view.operation.kind} in progress (${view.operation.step})`);
  if (!observed) return h('span', { class: 'muted small' }, stateHint(view.state));
  const parts = [
    observed.jobManagerReady ? 'JobManager ready' : 'JobManager not ready',
    `${observed.taskManagersReady}/${observed.taskManagersDesired} TaskManagers ready`,
    ...(observed.taskManagersRegistered === undefined
      ? []
      : [`${observed.taskManagersRegistered} registered with the JobManager`]),
    ...(observed.flinkVersion ? [`Flink ${observed.flinkVersion}`] : []),
  ];
  return h('span', { class: 'muted small' }, parts.join(' · '), observed.reason ? ` — ${observed.reason}` : '');
}

/** Only http(s) URLs become links, whatever the API answers. */
function isSafeUrl(url: string): boolean {
  return /^https?:\/\/[^\s]+$/i.test(url);
}
