import { ApiError } from '../api.ts';
import type { ClusterView } from '../api-types.ts';
import type { AppContext, View } from '../context.ts';
import { openDialog } from '../dialog.ts';
import { type Child, h, preservingFocus, replaceChildren, srOnly } from '../dom.ts';
import { formatMemory, formatTime, isLive, retainedLabel, stateBadge, stateHint } from '../format.ts';
import { createPoller } from '../poller.ts';
import { renderConfiguration } from './configuration.ts';
import { openDeployForm } from './deploy-form.ts';
import { openFlinkUi } from './flink-ui.ts';

const POLL_INTERVAL_MS = 2_000;

/** The tenant's services overview: its Flink cluster, live, with deploy, Flink UI and destroy. */
export function mountTenantView(ctx: AppContext, container: HTMLElement, tenant: string): View {
  const isOperator = ctx.session.principal.kind === 'operator';
  /** undefined while loading, null when the tenant has no cluster. */
  let view: ClusterView | null | undefined;
  let rendered = '';
  let configRole: 'jobmanager' | 'taskmanager' = 'jobmanager';

  const alert = h('div', { class: 'alert-region', role: 'alert' });
  const services = h('section', { class: 'card', 'aria-labelledby': 'services-title' });
  const details = h('div', { class: 'details' });
  const live = h(
    'p',
    { class: 'live-indicator muted' },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
    'Live — updates every 2 s',
  );

  document.title = `${tenant} · Flinkplane`;
  replaceChildren(
    container,
    h(
      'div',
      { class: 'page' },
      isOperator
        ? h(
            'nav',
            { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
            h('a', { href: '#/tenants' }, 'Tenants'),
            h('span', { 'aria-hidden': 'true' }, '/'),
            h('span', { 'aria-current': 'page' }, tenant),
          )
        : null,
      h(
        'div',
        { class: 'page-header' },
        h(
          'div',
          null,
          h('p', { class: 'eyebrow' }, 'Tenant'),
          h('h1', { class: 'page-title', tabindex: '-1' }, tenant),
        ),
        live,
      ),
      alert,
      services,
      details,
    ),
  );

  let alertText = '';
  // Only a changed message is rendered, so a lasting problem is not re-announced on every poll.
  const showAlert = (message: string | null, tone: 'danger' | 'warning' = 'danger') => {
    if ((message ?? '') === alertText) return;
    alertText = message ?? '';
    replaceChildren(alert, message ? h('div', { class: `notice notice-${tone}` }, message) : null);
  };

  const setView = (next: ClusterView | null) => {
    const previous = view;
    view = next;
    if (previous !== undefined && next && previous?.state !== next.state) {
      ctx.announce(`Flink cluster of ${tenant}: ${next.state}. ${stateHint(next.state)}.`);
    }
    const key = JSON.stringify(next);
    if (key === rendered) return;
    rendered = key;
    preservingFocus(container, render);
  };

  const poller = createPoller(async () => {
    try {
      setView(await ctx.api.cluster(tenant));
      showAlert(null);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'cluster_not_found') {
        setView(null);
        showAlert(null);
      } else if (error instanceof ApiError && error.code === 'unauthenticated') {
        ctx.signOut('Your session ended: the API no longer accepts this token. Sign in again.');
      } else if (error instanceof ApiError && error.status === 0) {
        showAlert('The control plane is not answering; showing the last known state.', 'warning');
      } else {
        showAlert(error instanceof Error ? error.message : String(error));
      }
    }
  }, POLL_INTERVAL_MS);

  /** The first control present of those named, for returning focus after a dialog whose opener may be gone. */
  const focusTarget = (...keys: string[]) =>
    keys.map((key) => container.querySelector<HTMLElement>(`[data-focus-key="${key}"]`)).find(Boolean);

  const deploy = () =>
    openDeployForm(
      ctx,
      tenant,
      view ?? null,
      () => focusTarget('edit-cluster', 'add-cluster'),
      (next) => {
        showAlert(null);
        setView(next);
        ctx.announce(`Deploy accepted. The Flink cluster of ${tenant} is ${next.state}.`);
        void poller.refresh();
      },
    ).catch((error: unknown) =>
      showAlert(`The version catalog could not be loaded, so the form cannot open: ${(error as Error).message}`),
    );

  const confirmDestroy = (current: ClusterView) => {
    openDialog(
      {
        title: 'Destroy the Flink cluster?',
        role: 'alertdialog',
        className: 'dialog-danger',
        returnFocus: () => focusTarget('destroy-cluster', 'add-cluster'),
      },
      (dialog) => {
        const error = h('div', { class: 'alert-region', role: 'alert' });
        const yes = h(
          'button',
          {
            type: 'button',
            class: 'button button-danger',
            onclick: async () => {
              yes.disabled = true;
              yes.textContent = 'Destroying…';
              try {
                const next = await ctx.api.destroy(tenant);
                // Render first, so closing hands focus to what replaced the Destroy button.
                setView(next);
                dialog.close();
                ctx.announce(
                  `The Flink cluster of ${tenant} is ${next.state}. Its bucket, ZooKeeper namespace and volume are kept.`,
                );
                void poller.refresh();
              } catch (failure) {
                yes.disabled = false;
                yes.textContent = 'Yes, destroy';
                replaceChildren(error, h('div', { class: 'notice notice-danger' }, (failure as Error).message));
              }
            },
          },
          'Yes, destroy',
        );
        const cancel = h(
          'button',
          { type: 'button', class: 'button', 'data-autofocus': true, onclick: () => dialog.close() },
          'Cancel',
        );
        return [
          h(
            'div',
            { class: 'dialog-body' },
            h(
              'p',
              null,
              'This removes the JobManager, the TaskManagers and the Flink UI of ',
              h('strong', null, tenant),
              '. Running jobs stop.',
            ),
            h('p', null, 'Kept for the next deploy, which restores your jobs from their latest checkpoints:'),
            h(
              'ul',
              { class: 'plain-list' },
              h('li', null, 'Bucket ', h('code', null, current.bucket)),
              h('li', null, 'ZooKeeper namespace ', h('code', null, current.zookeeperNamespace)),
              h('li', null, 'JAR volume ', h('code', null, current.volume.name), ` (${current.volume.sizeGiB} GiB)`),
              h('li', null, 'HA state of ', h('code', null, current.haClusterId)),
            ),
            error,
          ),
          h('div', { class: 'dialog-footer' }, cancel, yes),
        ];
      },
    );
  };

  function render(): void {
    replaceChildren(services, servicesCard());
    replaceChildren(details, view ? detailCards(view) : null);
  }

  function servicesCard(): Child {
    const addButton =
      view === null || view?.state === 'DESTROYED'
        ? h(
            'button',
            { type: 'button', class: 'button button-primary', 'data-focus-key': 'add-cluster', onclick: deploy },
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
    const current = view;
    const live = isLive(current.state);
    const actions = h(
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
                openFlinkUi(ctx, tenant, current.uiUrl, (message) => showAlert(message));
              },
            },
            'Flink UI',
            srOnly(' (opens in a new tab)'),
          )
        : null,
      live
        ? h('button', { type: 'button', class: 'button', 'data-focus-key': 'edit-cluster', onclick: deploy }, 'Edit')
        : null,
      live || current.state === 'DESTROYING'
        ? h(
            'button',
            {
              type: 'button',
              class: 'button button-danger-quiet',
              'data-focus-key': 'destroy-cluster',
              disabled: current.state === 'DESTROYING',
              onclick: () => confirmDestroy(current),
            },
            'Destroy Flink Cluster',
          )
        : null,
    );
    const { jobManager, taskManager } = current.spec;
    return [
      header,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table services-table' },
          h('caption', { class: 'sr-only' }, `Services of ${tenant}`),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ...['Service', 'State', 'Version', 'Resources', 'Actions'].map((name) => h('th', { scope: 'col' }, name)),
            ),
          ),
          h(
            'tbody',
            null,
            h(
              'tr',
              null,
              h(
                'th',
                { scope: 'row' },
                h('span', { class: 'service-name' }, 'Flink cluster'),
                h('span', { class: 'muted small' }, 'session cluster'),
              ),
              h(
                'td',
                null,
                h('span', { class: 'cluster-state', 'data-state': current.state }, stateBadge(current.state)),
                observedText(current),
              ),
              h(
                'td',
                null,
                h('span', { class: 'nowrap' }, `Flink ${current.spec.flinkVersion}`),
                h('span', { class: 'muted small' }, current.spec.zone),
              ),
              h(
                'td',
                null,
                h(
                  'span',
                  { class: 'nowrap' },
                  `JobManager · ${jobManager.cpu} CPU · ${formatMemory(jobManager.memoryMB)}`,
                ),
                h(
                  'span',
                  { class: 'nowrap muted small' },
                  `${taskManager.instances} × TaskManager · ${taskManager.cpu} CPU · ${formatMemory(taskManager.memoryMB)}`,
                ),
              ),
              h('td', null, actions.childElementCount > 0 ? actions : h('span', { class: 'muted' }, '—')),
            ),
          ),
        ),
      ),
      current.lastError
        ? h(
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
          )
        : null,
    ];
  }

  function detailCards(current: ClusterView): Child {
    const retained = current.retained;
    return [
      h(
        'div',
        { class: 'grid-2' },
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'cluster-title' },
          h('div', { class: 'card-header' }, h('h2', { id: 'cluster-title', class: 'card-title' }, 'Cluster')),
          definitionList([
            ['State', stateBadge(current.state)],
            ['Generation', String(current.generation)],
            ['Flink version', current.spec.flinkVersion],
            ['Zone', current.spec.zone],
            [
              'Flink UI',
              isLive(current.state) ? h('code', { class: 'break' }, current.uiUrl) : 'Not served while destroyed',
            ],
            ['Deployed', formatTime(current.deployedAt)],
            ['Updated', formatTime(current.updatedAt)],
            ...(current.destroyedAt && current.state === 'DESTROYED'
              ? ([['Destroyed', formatTime(current.destroyedAt)]] as const)
              : []),
            ['Last error', current.lastError ? `${current.lastError.code}: ${current.lastError.message}` : 'None'],
          ]),
        ),
        h(
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
        ),
      ),
      retained.length > 0
        ? h(
            'section',
            { class: 'card', 'aria-labelledby': 'retained-title' },
            h(
              'div',
              { class: 'card-header' },
              h('h2', { id: 'retained-title', class: 'card-title' }, 'Retained resources'),
            ),
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
                retained.map((item) =>
                  h(
                    'li',
                    { class: 'retained-item' },
                    h('span', { class: 'retained-kind' }, retainedLabel(item.kind)),
                    h('code', null, item.name),
                  ),
                ),
              ),
            ),
          )
        : null,
      renderConfiguration(current, configRole, (role) => {
        configRole = role;
      }),
    ];
  }

  poller.start();
  return { unmount: () => poller.stop() };
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

function definitionList(rows: readonly (readonly [string, Child])[]): HTMLElement {
  return h(
    'dl',
    { class: 'dl card-body' },
    rows.map(([term, value]) => h('div', { class: 'dl-row' }, h('dt', null, term), h('dd', null, value))),
  );
}

/** Only http(s) URLs become links, whatever the API answers. */
function isSafeUrl(url: string): boolean {
  return /^https?:\/\/[^\s]+$/i.test(url);
}
