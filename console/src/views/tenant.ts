import { ApiError } from '../api.ts';
import type { ClusterView } from '../api-types.ts';
import type { AppContext, View } from '../context.ts';
import { h, preservingFocus, replaceChildren } from '../dom.ts';
import { stateHint } from '../format.ts';
import { createPoller } from '../poller.ts';
import { clusterDetails } from './cluster-details.ts';
import type { ConfigurationState } from './configuration.ts';
import { openDeployForm } from './deploy-form.ts';
import { confirmDestroy } from './destroy-dialog.ts';
import { openFlinkUi } from './flink-ui.ts';
import { logsCard } from './logs.ts';
import { type ServiceActions, servicesCard } from './services-table.ts';

const POLL_INTERVAL_MS = 2_000;
const SESSION_ENDED = 'Your session ended: the API no longer accepts this token. Sign in again.';

/**
 * The tenant's services overview: its Flink cluster, live, with deploy, redeploy, Flink UI and destroy. This file
 * holds the page's state and polling; the table, the detail cards and the dialogs are built in their own modules.
 */
export function mountTenantView(ctx: AppContext, container: HTMLElement, tenant: string): View {
  /** undefined while loading, null when the tenant has no cluster. */
  let view: ClusterView | null | undefined;
  let rendered = '';
  const configuration: ConfigurationState = { role: 'jobmanager', onlyMine: false };

  const alert = createAlert();
  const services = h('section', { class: 'card', 'aria-labelledby': 'services-title' });
  const details = h('div', { class: 'details' });
  const logs = logsCard(ctx, tenant);
  document.title = `${tenant} · Flinkplane`;
  replaceChildren(container, pageLayout(ctx, tenant, alert.element, services, details, logs.element));

  const render = () => {
    replaceChildren(services, servicesCard(tenant, view, actions));
    replaceChildren(details, view ? clusterDetails(view, configuration) : null);
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
      alert.show(null);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') ctx.signOut(SESSION_ENDED);
      else if (error instanceof ApiError && error.status === 0)
        alert.show('The control plane is not answering; showing the last known state.', 'warning');
      else alert.show(messageOf(error));
    }
  }, POLL_INTERVAL_MS);

  /** After a deploy, redeploy or destroy: show the answer at once and poll for what follows. */
  const accepted = (next: ClusterView, message: string) => {
    alert.show(null);
    setView(next);
    ctx.announce(message);
    void poller.refresh();
  };

  /** The first control present of those named, for returning focus after a dialog whose opener may be gone. */
  const focusTarget = (...keys: string[]) =>
    keys.map((key) => container.querySelector<HTMLElement>(`[data-focus-key="${key}"]`)).find(Boolean);

  const actions: ServiceActions = {
    deploy: () =>
      openDeployForm(
        ctx,
        tenant,
        view ?? null,
        () => focusTarget('edit-cluster', 'add-cluster'),
        (next) => accepted(next, `Deploy accepted. The Flink cluster of ${tenant} is ${next.state}.`),
      ).catch((error: unknown) =>
        alert.show(`The version catalog could not be loaded, so the form cannot open: ${messageOf(error)}`),
      ),
    redeploy: async (button) => {
      if (!view) return;
      button.disabled = true;
      button.textContent = 'Redeploying…';
      try {
        const next = await ctx.api.deploy(tenant, { ...view.spec, restore: 'latest-state' });
        accepted(next, `Redeploy accepted. The Flink cluster of ${tenant} is ${next.state}.`);
        focusTarget('edit-cluster', 'destroy-cluster')?.focus();
      } catch (error) {
        if (error instanceof ApiError && error.code === 'unauthenticated') return ctx.signOut(SESSION_ENDED);
        button.disabled = false;
        button.textContent = 'Redeploy';
        alert.show(`The Flink cluster was not redeployed: ${messageOf(error)}`);
      }
    },
    destroy: (current) =>
      confirmDestroy(ctx, tenant, current, {
        returnFocus: () => focusTarget('destroy-cluster', 'redeploy-cluster', 'add-cluster'),
        onDestroyed: (next) =>
          accepted(
            next,
            `The Flink cluster of ${tenant} is ${next.state}. Its bucket, ZooKeeper namespace and volume are kept.`,
          ),
      }),
    openFlinkUi: (current) => openFlinkUi(ctx, tenant, current.uiUrl, (message) => alert.show(message)),
  };

  poller.start();
  return {
    unmount: () => {
      poller.stop();
      logs.stop();
    },
  };
}

function pageLayout(ctx: AppContext, tenant: string, ...sections: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { class: 'page' },
    ctx.session.principal.kind === 'operator'
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
      h('div', null, h('p', { class: 'eyebrow' }, 'Tenant'), h('h1', { class: 'page-title', tabindex: '-1' }, tenant)),
      h(
        'p',
        { class: 'live-indicator muted' },
        h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
        'Live — updates every 2 s',
      ),
    ),
    ...sections,
  );
}

/** The page's alert region; only a changed message is rendered, so a lasting problem is not re-announced every poll. */
function createAlert() {
  const element = h('div', { class: 'alert-region', role: 'alert' });
  let text = '';
  return {
    element,
    show(message: string | null, tone: 'danger' | 'warning' = 'danger') {
      if ((message ?? '') === text) return;
      text = message ?? '';
      replaceChildren(element, message ? h('div', { class: `notice notice-${tone}` }, message) : null);
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
