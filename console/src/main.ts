import { ApiClient, ApiError, fetchHealth, loadRuntimeConfig } from './api.ts';
import type { Catalog, Health } from './api-types.ts';
import type { AppContext, View } from './context.ts';
import { focusElement, h, replaceChildren } from './dom.ts';
import { createPoller } from './poller.ts';
import { forgetToken, principalOf, type Session, storedToken, storeToken } from './session.ts';
import { mountFlinkUiHandOff, parseFlinkUiRoute } from './views/flink-ui.ts';
import { mountOperatorView } from './views/operator.ts';
import { mountSignIn } from './views/sign-in.ts';
import { mountTenantView } from './views/tenant.ts';

const HEALTH_INTERVAL_MS = 15_000;

const root = document.getElementById('app')!;
const banners = h('div', { class: 'banners' });
const announcer = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
const identity = h('div', { class: 'identity' });
const nav = h('nav', { class: 'topnav', 'aria-label': 'Main' });

let current: View | undefined;
let session: Session | undefined;

function shell(): void {
  const skip = h('a', { class: 'skip-link', href: '#main', onclick: skipToMain }, 'Skip to content');
  const brand = h(
    'a',
    { class: 'brand', href: '#/', 'aria-label': 'Flinkplane console home' },
    h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
    h('span', { class: 'brand-name' }, 'Flinkplane'),
    h('span', { class: 'brand-product' }, 'Flink clusters'),
  );
  replaceChildren(root, skip, h('header', { class: 'topbar' }, brand, nav, identity), banners, main, announcer);
}

function skipToMain(event: Event): void {
  event.preventDefault();
  focusElement(main.querySelector<HTMLElement>('h1') ?? main);
}

function announce(message: string): void {
  // Clearing first makes a repeated message be read again.
  announcer.textContent = '';
  window.setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}

function renderBanners(health: Health | undefined, unreachable: boolean): void {
  const items: HTMLElement[] = [];
  if (unreachable) {
    items.push(
      h(
        'div',
        { class: 'banner banner-danger', role: 'alert' },
        h('strong', null, 'The control plane is not answering. '),
        'Retrying…',
      ),
    );
  }
  const kube = health?.components?.kubernetes;
  if (kube?.simulated) {
    items.push(
      h(
        'div',
        { class: 'banner banner-info', role: 'note' },
        h('strong', null, 'Simulated Kubernetes cluster (stand-in)'),
        ' — Deployments become ready without running Flink; the Flink UI link points at where the vhost would be.',
      ),
    );
  }
  const zookeeper = health?.components?.zookeeper;
  if (zookeeper && zookeeper.status !== 'ok') {
    items.push(
      h(
        'div',
        { class: 'banner banner-warning', role: 'alert' },
        h('strong', null, 'ZooKeeper is unavailable. '),
        'Deploying a Flink cluster fails until it runs. ',
        zookeeper.hint ?? '',
      ),
    );
  }
  replaceChildren(banners, items);
}

function renderIdentity(onTenantList: boolean): void {
  if (!session) {
    replaceChildren(identity);
    replaceChildren(nav);
    return;
  }
  const { principal } = session;
  const who =
    principal.kind === 'operator'
      ? h(
          'span',
          { class: 'identity-who' },
          h('span', { class: 'identity-role' }, 'Signed in as'),
          ' ',
          h('strong', null, 'Operator'),
        )
      : h(
          'span',
          { class: 'identity-who' },
          h('span', { class: 'identity-role' }, 'Tenant'),
          ' ',
          h('strong', { class: 'identity-tenant' }, principal.tenant),
        );
  replaceChildren(
    identity,
    who,
    h('button', { type: 'button', class: 'button button-quiet button-small', onclick: () => signOut() }, 'Sign out'),
  );
  replaceChildren(
    nav,
    principal.kind === 'operator'
      ? h('a', { href: '#/tenants', class: 'topnav-link', 'aria-current': onTenantList ? 'page' : null }, 'Tenants')
      : null,
  );
}

function context(active: Session): AppContext {
  const api = new ApiClient(active.token);
  let catalog: Promise<Catalog> | undefined;
  return {
    session: active,
    api,
    catalog() {
      catalog ??= api.catalog().catch((error: unknown) => {
        catalog = undefined;
        throw error;
      });
      return catalog;
    },
    announce,
    signOut,
  };
}

function route(notice?: string): void {
  current?.unmount();
  current = undefined;
  main.replaceChildren();
  const tenantMatch = /^#\/tenants\/([a-z0-9-]+)$/.exec(location.hash);
  const flinkUi = parseFlinkUiRoute(location.hash);
  renderIdentity(!tenantMatch);
  if (!session) {
    document.title = 'Sign in · Flinkplane';
    const why = notice ?? (flinkUi ? `Sign in to open the Flink UI of ${flinkUi.tenant}.` : undefined);
    current = mountSignIn(main, { onSignedIn: signIn, verify: verifyToken, ...(why ? { notice: why } : {}) });
    return;
  }
  const ctx = context(session);
  if (flinkUi) {
    // A tenant's vhost sent the browser here to sign in; hand the session over and go back.
    current = mountFlinkUiHandOff(ctx, main, flinkUi.tenant, flinkUi.returnTo);
    return;
  }
  if (session.principal.kind === 'tenant') {
    // A tenant sees its own services only, whatever the address says.
    current = mountTenantView(ctx, main, session.principal.tenant);
    return;
  }
  current = tenantMatch ? mountTenantView(ctx, main, tenantMatch[1]!) : mountOperatorView(ctx, main);
}

/** Checks a token against the API before keeping it: a tenant token must be accepted, any other must be the operator's. */
async function verifyToken(token: string): Promise<Session> {
  const principal = principalOf(token);
  const api = new ApiClient(token);
  await api.catalog();
  if (principal.kind === 'operator') {
    try {
      await api.tenants(1);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'forbidden') {
        throw new ApiError(403, 'forbidden', 'This token is valid but names no tenant and is not the operator token');
      }
      throw error;
    }
  }
  return { token, principal };
}

function signIn(next: Session): void {
  storeToken(next.token);
  session = next;
  announce(
    next.principal.kind === 'operator' ? 'Signed in as the operator' : `Signed in as tenant ${next.principal.tenant}`,
  );
  route();
  focusElement(main.querySelector<HTMLElement>('h1'));
}

function signOut(reason?: string): void {
  forgetToken();
  session = undefined;
  route(reason);
  announce(reason ?? 'Signed out');
}

function startHealth(): void {
  const poller = createPoller(async () => {
    try {
      renderBanners(await fetchHealth(), false);
    } catch (error) {
      renderBanners(undefined, error instanceof ApiError && error.status === 0);
    }
  }, HEALTH_INTERVAL_MS);
  poller.start();
}

function boot(): void {
  shell();
  const token = storedToken();
  if (token) session = { token, principal: principalOf(token) };
  window.addEventListener('hashchange', () => {
    route();
    focusElement(main.querySelector<HTMLElement>('h1'));
  });
  startHealth();
  route();
}

void loadRuntimeConfig().then(boot);
