import type { ClusterView, ConfigEntry } from '../api-types.ts';
import { h, srOnly } from '../dom.ts';
import { formatConfigValue } from '../format.ts';

type Role = 'jobmanager' | 'taskmanager';

const ROLES: readonly { readonly role: Role; readonly label: string }[] = [
  { role: 'jobmanager', label: 'JobManager' },
  { role: 'taskmanager', label: 'TaskManager' },
];

const SOURCE_LABELS: Record<ConfigEntry['source'], string> = {
  fixed: 'Reference',
  platform: 'Platform',
  default: 'Default',
  tenant: 'Yours',
};

/** What the reader chose, kept by the page so a live re-render does not undo it. */
export interface ConfigurationState {
  role: Role;
  /** Show only the tenant's own settings, hiding what the platform fixes or defaults. */
  onlyMine: boolean;
}

/**
 * The effective Flink configuration per role, as tabs (WAI-ARIA tabs pattern), fixed settings marked, with an
 * "Only my settings" filter. The filter hides rows (`hidden`), so switching it needs no re-render.
 */
export function renderConfiguration(view: ClusterView, state: ConfigurationState): HTMLElement {
  const tabs: HTMLButtonElement[] = [];
  const panels: HTMLElement[] = [];
  const empties: HTMLElement[] = [];

  const select = (role: Role, focus: boolean) => {
    ROLES.forEach((entry, index) => {
      const active = entry.role === role;
      tabs[index]!.setAttribute('aria-selected', String(active));
      tabs[index]!.tabIndex = active ? 0 : -1;
      panels[index]!.hidden = !active;
      if (active && focus) tabs[index]!.focus();
    });
    state.role = role;
  };
  const filter = (onlyMine: boolean) => {
    state.onlyMine = onlyMine;
    for (const row of section.querySelectorAll<HTMLElement>('tr[data-source]')) {
      row.hidden = onlyMine && row.dataset.source !== 'tenant';
    }
    for (const empty of empties) empty.hidden = !onlyMine;
  };

  for (const [index, { role, label }] of ROLES.entries()) {
    const entries = view.flinkConfiguration[role];
    const fixedCount = entries.filter((entry) => entry.fixed).length;
    const mine = entries.filter((entry) => entry.source === 'tenant').length;
    if (mine === 0) {
      empties.push(
        h(
          'p',
          { class: 'muted config-empty', hidden: true },
          `You have set no ${label} settings of your own; add them with Edit.`,
        ),
      );
    }
    tabs.push(
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          id: `config-tab-${role}`,
          class: 'tab',
          'aria-controls': `config-panel-${role}`,
          'data-focus-key': `config-tab-${role}`,
          onclick: () => select(role, true),
          onkeydown: (event: Event) => {
            const key = (event as KeyboardEvent).key;
            const last = ROLES.length - 1;
            const target =
              key === 'ArrowRight'
                ? (index + 1) % ROLES.length
                : key === 'ArrowLeft'
                  ? (index + last) % ROLES.length
                  : key === 'Home'
                    ? 0
                    : key === 'End'
                      ? last
                      : -1;
            if (target < 0) return;
            event.preventDefault();
            select(ROLES[target]!.role, true);
          },
        },
        label,
        h('span', { class: 'tab-count' }, srOnly(', '), `${entries.length}`, srOnly(' settings')),
      ),
    );
    panels.push(
      h(
        'div',
        {
          role: 'tabpanel',
          id: `config-panel-${role}`,
          class: 'tab-panel',
          'aria-labelledby': `config-tab-${role}`,
          tabindex: '0',
        },
        h(
          'p',
          { class: 'muted small' },
          `${entries.length} settings; ${fixedCount} are fixed by the platform and cannot be changed; ${mine} ${mine === 1 ? 'is' : 'are'} yours.`,
        ),
        mine === 0 ? empties.at(-1) : null,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'table config-table' },
            h('caption', { class: 'sr-only' }, `${label} configuration`),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col' }, 'Key'),
                h('th', { scope: 'col' }, 'Value'),
                h('th', { scope: 'col' }, 'Source'),
              ),
            ),
            h('tbody', null, entries.map(configRow)),
          ),
        ),
      ),
    );
  }

  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'config-title' },
    h(
      'div',
      { class: 'card-header' },
      h('h2', { id: 'config-title', class: 'card-title' }, 'Effective Flink configuration'),
    ),
    h(
      'div',
      { class: 'card-body' },
      h(
        'div',
        { class: 'config-toolbar' },
        h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Configuration by role' }, tabs),
        h(
          'label',
          { class: 'checkbox' },
          h('input', {
            type: 'checkbox',
            id: 'config-only-mine',
            'data-focus-key': 'config-only-mine',
            checked: state.onlyMine,
            onchange: (event: Event) => filter((event.currentTarget as HTMLInputElement).checked),
          }),
          'Only my settings',
        ),
      ),
      panels,
    ),
  );
  select(state.role, false);
  filter(state.onlyMine);
  return section;
}

function configRow(entry: ConfigEntry): HTMLElement {
  return h(
    'tr',
    { class: entry.fixed ? 'is-fixed' : null, 'data-source': entry.source },
    h(
      'td',
      null,
      h('code', { class: 'config-key' }, entry.key),
      entry.fixed
        ? h('span', { class: 'badge badge-fixed' }, 'fixed', srOnly(': the platform sets this; you cannot change it'))
        : null,
    ),
    h('td', null, h('code', { class: 'config-value break' }, formatConfigValue(entry.value))),
    h('td', { class: 'muted' }, SOURCE_LABELS[entry.source] ?? entry.source),
  );
}
