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

/** The effective Flink configuration per role, as tabs (WAI-ARIA tabs pattern), fixed settings marked. */
export function renderConfiguration(view: ClusterView, selected: Role, onSelect: (role: Role) => void): HTMLElement {
  const tabs: HTMLButtonElement[] = [];
  const panels: HTMLElement[] = [];

  const select = (role: Role, focus: boolean) => {
    ROLES.forEach((entry, index) => {
      const active = entry.role === role;
      tabs[index]!.setAttribute('aria-selected', String(active));
      tabs[index]!.tabIndex = active ? 0 : -1;
      panels[index]!.hidden = !active;
      if (active && focus) tabs[index]!.focus();
    });
    onSelect(role);
  };

  for (const [index, { role, label }] of ROLES.entries()) {
    const entries = view.flinkConfiguration[role];
    const fixedCount = entries.filter((entry) => entry.fixed).length;
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
          `${entries.length} settings; ${fixedCount} are fixed by the platform and cannot be changed.`,
        ),
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
      h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Configuration by role' }, tabs),
      panels,
    ),
  );
  select(selected, false);
  return section;
}

function configRow(entry: ConfigEntry): HTMLElement {
  return h(
    'tr',
    { class: entry.fixed ? 'is-fixed' : null },
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
