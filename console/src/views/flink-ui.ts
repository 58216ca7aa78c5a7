import { type ApiClient, ApiError } from '../api.ts';
import type { AppContext, View } from '../context.ts';
import { focusElement, h, replaceChildren } from '../dom.ts';

/** `#/flink-ui/<tenant>?return=<path>`: where a tenant's vhost sends a browser that is not signed in there yet. */
export function parseFlinkUiRoute(hash: string): { tenant: string; returnTo: string } | undefined {
  const match = /^#\/flink-ui\/([a-z0-9-]+)(?:\?(.*))?$/.exec(hash);
  if (!match) return undefined;
  const returnTo = new URLSearchParams(match[2] ?? '').get('return') ?? '/';
  return { tenant: match[1]!, returnTo };
}

/**
 * Where to open the tenant's Flink UI: through a one-time sign-in link when the control plane hands sessions to the
 * vhost (locally), else the UI's own URL (on AWS its Ingress signs the user in).
 */
export async function flinkUiTarget(api: ApiClient, tenant: string, uiUrl: string, returnTo?: string): Promise<string> {
  try {
    return (await api.flinkUiSignIn(tenant, returnTo)).url;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return uiUrl;
    throw error;
  }
}

/**
 * Opens the Flink UI in a new tab, signed in. The tab opens within the click (so no popup blocker stops it) and is
 * sent on once the sign-in link is there; it gets no handle on the console.
 */
export function openFlinkUi(ctx: AppContext, tenant: string, uiUrl: string, onError: (message: string) => void): void {
  const tab = window.open('', '_blank');
  if (tab) tab.opener = null;
  flinkUiTarget(ctx.api, tenant, uiUrl).then(
    (target) => {
      if (tab) tab.location.replace(target);
      else window.location.assign(target);
    },
    (error: unknown) => {
      tab?.close();
      onError(`The Flink UI could not be opened: ${error instanceof Error ? error.message : String(error)}`);
    },
  );
}

/** Signs the browser in at the tenant's vhost and goes there, replacing this page in the history. */
export function mountFlinkUiHandOff(ctx: AppContext, container: HTMLElement, tenant: string, returnTo: string): View {
  const status = h('p', { role: 'status' }, `Opening the Flink UI of ${tenant}…`);
  replaceChildren(
    container,
    h(
      'div',
      { class: 'page' },
      h('h1', { class: 'page-title', tabindex: '-1' }, `Flink UI of ${tenant}`),
      status,
      h('p', null, h('a', { href: '#/' }, 'Back to the console')),
    ),
  );
  document.title = `Flink UI of ${tenant} · Flinkplane`;
  let active = true;
  ctx.api.flinkUiSignIn(tenant, returnTo).then(
    (link) => {
      if (active) window.location.replace(link.url);
    },
    (error: unknown) => {
      if (!active) return;
      const message =
        error instanceof ApiError && error.code === 'forbidden'
          ? `You are signed in as another tenant; the Flink UI of ${tenant} is not yours to open.`
          : `The Flink UI could not be opened: ${error instanceof Error ? error.message : String(error)}`;
      replaceChildren(status, h('span', { class: 'notice notice-danger', role: 'alert' }, message));
      focusElement(container.querySelector<HTMLElement>('h1'));
    },
  );
  return {
    unmount() {
      active = false;
    },
  };
}
