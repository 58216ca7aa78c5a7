import { ApiError } from '../api.ts';
import type { TenantSummary } from '../api-types.ts';
import type { AppContext, View } from '../context.ts';
import { openDialog } from '../dialog.ts';
import { type Child, h, preservingFocus, replaceChildren } from '../dom.ts';
import { formatTime, stateBadge } from '../format.ts';
import { createPoller } from '../poller.ts';

const PAGE_SIZE = 50;
const POLL_INTERVAL_MS = 5_000;

/** The operator's tenants: their clusters' states, registering a tenant (token shown once) and purging one. */
export function mountOperatorView(ctx: AppContext, container: HTMLElement): View {
  /** Pages loaded so far; polling refreshes the first, "Load more" appends. */
  let pages: { items: readonly TenantSummary[]; cursor?: string | undefined }[] | undefined;
  let rendered = '';
  const list = h('section', { class: 'card', 'aria-labelledby': 'tenants-title' });
  const alert = h('div', { class: 'alert-region', role: 'alert' });

  document.title = 'Tenants · Flinkplane';
  replaceChildren(
    container,
    h(
      'div',
      { class: 'page' },
      h(
        'div',
        { class: 'page-header' },
        h(
          'div',
          null,
          h('p', { class: 'eyebrow' }, 'Platform operator'),
          h('h1', { class: 'page-title', tabindex: '-1' }, 'Tenants'),
        ),
      ),
      alert,
      registerCard(ctx, () => void poller.refresh()),
      list,
    ),
  );

  const render = () => {
    const key = JSON.stringify(pages);
    if (key === rendered) return;
    rendered = key;
    preservingFocus(list, () => replaceChildren(list, tenantsTable()));
  };

  const poller = createPoller(async () => {
    try {
      const first = await ctx.api.tenants(PAGE_SIZE);
      pages = [first, ...(pages?.slice(1) ?? [])];
      replaceChildren(alert);
      render();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') {
        ctx.signOut('Your session ended: the API no longer accepts this token. Sign in again.');
        return;
      }
      replaceChildren(alert, h('div', { class: 'notice notice-danger' }, (error as Error).message));
    }
  }, POLL_INTERVAL_MS);

  const loadMore = async () => {
    const cursor = pages?.at(-1)?.cursor;
    if (!pages || !cursor) return;
    const next = await ctx.api.tenants(PAGE_SIZE, cursor);
    pages = [...pages, next];
    render();
  };

  function tenantsTable(): Child {
    const header = h('div', { class: 'card-header' }, h('h2', { id: 'tenants-title', class: 'card-title' }, 'Tenants'));
    if (!pages) return [header, h('p', { class: 'card-body muted' }, 'Loading…')];
    // The store lists tenants in its own order (a scan); a person looks a name up alphabetically.
    const items = pages.flatMap((page) => page.items).sort((a, b) => compareNames(a.name, b.name));
    if (items.length === 0) {
      return [
        header,
        h(
          'div',
          { class: 'empty-state' },
          h('h3', null, 'No tenants yet'),
          h('p', { class: 'muted' }, 'Register the first tenant above.'),
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
          { class: 'table' },
          h('caption', { class: 'sr-only' }, 'Tenants and the state of their Flink clusters'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ...['Tenant', 'Flink cluster', 'Registered', 'Actions'].map((name) => h('th', { scope: 'col' }, name)),
            ),
          ),
          h(
            'tbody',
            null,
            items.map((tenant) =>
              h(
                'tr',
                { 'data-tenant': tenant.name },
                h(
                  'th',
                  { scope: 'row' },
                  h(
                    'a',
                    { href: `#/tenants/${encodeURIComponent(tenant.name)}`, 'data-focus-key': `open-${tenant.name}` },
                    tenant.name,
                  ),
                ),
                h('td', null, stateBadge(tenant.clusterState)),
                h('td', null, formatTime(tenant.createdAt)),
                h(
                  'td',
                  null,
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'button button-danger-quiet button-small',
                      'data-focus-key': `purge-${tenant.name}`,
                      'aria-label': `Purge tenant ${tenant.name}`,
                      onclick: () => confirmPurge(ctx, tenant, () => void poller.refresh()),
                    },
                    'Purge…',
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
      pages.at(-1)?.cursor
        ? h(
            'div',
            { class: 'card-footer' },
            h(
              'button',
              { type: 'button', class: 'button', 'data-focus-key': 'load-more', onclick: () => void loadMore() },
              'Load more',
            ),
          )
        : null,
    ];
  }

  poller.start();
  return { unmount: () => poller.stop() };
}

function registerCard(ctx: AppContext, onRegistered: () => void): HTMLElement {
  const input = h('input', {
    id: 'register-name',
    name: 'name',
    type: 'text',
    class: 'input',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'register-name-hint',
  });
  const error = h('p', { id: 'register-name-error', class: 'field-error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Register tenant');
  const field = h(
    'div',
    { class: 'field field-inline-grow' },
    h('label', { class: 'label', for: 'register-name' }, 'Tenant name'),
    h(
      'p',
      { id: 'register-name-hint', class: 'hint' },
      '2 to 24 lowercase letters, digits and hyphens, starting with a letter.',
    ),
    input,
    error,
  );
  const clear = () => {
    error.hidden = true;
    field.classList.remove('has-error');
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'register-name-hint');
  };
  const form = h(
    'form',
    {
      class: 'inline-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        clear();
        submit.disabled = true;
        try {
          const registered = await ctx.api.registerTenant(input.value.trim());
          input.value = '';
          submit.disabled = false;
          onRegistered();
          ctx.announce(`Tenant ${registered.name} registered`);
          showToken(registered.name, registered.token, input);
        } catch (failure) {
          error.textContent = (failure as Error).message;
          error.hidden = false;
          field.classList.add('has-error');
          input.setAttribute('aria-invalid', 'true');
          input.setAttribute('aria-describedby', 'register-name-hint register-name-error');
          input.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    field,
    submit,
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'register-title' },
    h('div', { class: 'card-header' }, h('h2', { id: 'register-title', class: 'card-title' }, 'Register a tenant')),
    h('div', { class: 'card-body' }, form),
  );
}

/** The tenant's token, shown this once: the API keeps only its hash. */
function showToken(tenant: string, token: string, returnFocus: HTMLElement): void {
  openDialog({ title: `Tenant ${tenant} registered`, returnFocus: () => returnFocus }, (dialog) => {
    const status = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const field = h('input', {
      id: 'registered-token',
      type: 'text',
      class: 'input input-mono',
      readonly: true,
      value: token,
      'aria-describedby': 'registered-token-warning',
      onfocus: () => field.select(),
    });
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(token);
        status.textContent = 'Copied to the clipboard.';
      } catch {
        field.focus();
        field.select();
        status.textContent = 'Copying is blocked here; the token is selected, press Ctrl+C (⌘C) to copy it.';
      }
    };
    return [
      h(
        'div',
        { class: 'dialog-body' },
        h(
          'div',
          { class: 'notice notice-warning', id: 'registered-token-warning' },
          h('strong', null, 'This token is shown only once. '),
          'Copy it now and hand it to the tenant over a secure channel; it cannot be shown again.',
        ),
        h(
          'div',
          { class: 'field' },
          h('label', { class: 'label', for: 'registered-token' }, `API token of ${tenant}`),
          h(
            'div',
            { class: 'copy-row' },
            field,
            h(
              'button',
              { type: 'button', class: 'button', 'data-autofocus': true, onclick: () => void copy() },
              'Copy token',
            ),
          ),
        ),
        status,
      ),
      h(
        'div',
        { class: 'dialog-footer' },
        h('button', { type: 'button', class: 'button button-primary', onclick: () => dialog.close() }, 'Done'),
      ),
    ];
  });
}

function confirmPurge(ctx: AppContext, tenant: TenantSummary, onPurged: () => void): void {
  const name = tenant.name;
  openDialog({ title: `Purge tenant ${name}?`, role: 'alertdialog', className: 'dialog-danger' }, (dialog) => {
    const answer = h('div', { class: 'alert-region', role: 'alert' });
    const input = h('input', {
      id: 'purge-confirm',
      type: 'text',
      class: 'input',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'purge-confirm-hint',
      oninput: () => {
        purge.disabled = input.value !== name;
      },
    });
    const purge = h(
      'button',
      {
        type: 'submit',
        class: 'button button-danger',
        disabled: true,
      },
      'Purge tenant',
    );
    const cancel = h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel');
    const form = h(
      'form',
      {
        class: 'dialog-form',
        novalidate: true,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          if (input.value !== name) return;
          purge.disabled = true;
          purge.textContent = 'Purging…';
          try {
            const result = await ctx.api.purgeTenant(name, input.value);
            replaceChildren(
              answer,
              h(
                'div',
                { class: 'notice notice-success' },
                h('strong', null, `Tenant ${result.tenant} purged. `),
                'Deleted:',
                h(
                  'ul',
                  { class: 'plain-list' },
                  result.purged.map((item) => h('li', null, item)),
                ),
              ),
            );
            input.disabled = true;
            purge.remove();
            cancel.textContent = 'Close';
            cancel.focus();
            ctx.announce(`Tenant ${name} purged`);
            onPurged();
          } catch (failure) {
            purge.disabled = false;
            purge.textContent = 'Purge tenant';
            const code = failure instanceof ApiError ? ` (${failure.code})` : '';
            replaceChildren(
              answer,
              h(
                'div',
                { class: 'notice notice-danger' },
                h('strong', null, `Not purged${code}: `),
                (failure as Error).message,
              ),
            );
          }
        },
      },
      h(
        'div',
        { class: 'dialog-body' },
        h(
          'p',
          null,
          'Purging deletes everything ',
          h('strong', null, name),
          ' kept: its namespace with the JAR volume, its bucket with checkpoints and savepoints, its ZooKeeper namespace with the HA state, and the tenant with its token. This cannot be undone. Destroy its Flink cluster first.',
        ),
        tenant.clusterState && tenant.clusterState !== 'DESTROYED'
          ? h(
              'div',
              { class: 'notice notice-warning' },
              `The Flink cluster of ${name} is ${tenant.clusterState}; the control plane refuses to purge it until it is destroyed.`,
            )
          : null,
        h(
          'div',
          { class: 'field' },
          h('label', { class: 'label', for: 'purge-confirm' }, 'Tenant name'),
          h('p', { class: 'hint', id: 'purge-confirm-hint' }, 'Type ', h('strong', null, name), ' to confirm.'),
          input,
        ),
        answer,
      ),
      h('div', { class: 'dialog-footer' }, cancel, purge),
    );
    return form;
  });
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
