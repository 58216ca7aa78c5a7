import { ApiError } from '../api.ts';
import type {
  Catalog,
  ClusterSpec,
  ClusterSpecInput,
  ClusterView,
  Issue,
  RestoreMode,
  SizingField,
} from '../api-types.ts';
import type { AppContext } from '../context.ts';
import { type Dialog, openDialog } from '../dialog.ts';
import { focusElement, h, replaceChildren } from '../dom.ts';
import { formatConfigValue, isLive } from '../format.ts';

interface FieldRefs {
  /** The control an issue at this path belongs to. */
  readonly control: HTMLElement;
  readonly wrapper: HTMLElement;
  readonly error: HTMLElement;
  readonly hintId: string | null;
}

interface ConfigRow {
  readonly element: HTMLElement;
  readonly key: HTMLInputElement;
  readonly value: HTMLInputElement;
  readonly error: HTMLElement;
}

/**
 * "+ Flink Cluster": the deploy form, prefilled with the catalog's defaults (or the current spec when redeploying).
 * It never blocks a value itself: the server validates, and each issue is shown at its field.
 */
export async function openDeployForm(
  ctx: AppContext,
  tenant: string,
  current: ClusterView | null,
  returnFocus: () => HTMLElement | null | undefined,
  onDeployed: (view: ClusterView) => void,
): Promise<void> {
  showForm(ctx, tenant, current, await ctx.catalog(), returnFocus, onDeployed);
}

function showForm(
  ctx: AppContext,
  tenant: string,
  current: ClusterView | null,
  catalog: Catalog,
  returnFocus: () => HTMLElement | null | undefined,
  onDeployed: (view: ClusterView) => void,
): void {
  const updating = current !== null && isLive(current.state);
  const title = updating ? 'Update the Flink cluster' : 'Deploy a Flink cluster';
  openDialog({ title, className: 'dialog-wide', returnFocus }, (dialog) =>
    buildForm(ctx, tenant, current, catalog, dialog, onDeployed),
  );
}

function buildForm(
  ctx: AppContext,
  tenant: string,
  current: ClusterView | null,
  catalog: Catalog,
  dialog: Dialog,
  onDeployed: (view: ClusterView) => void,
): HTMLElement {
  const fields = new Map<string, FieldRefs>();
  const rows: ConfigRow[] = [];
  const spec = current?.spec;
  // A live cluster is updated in place; a new or destroyed one is deployed.
  const updating = current !== null && isLive(current.state);
  const words = updating
    ? { action: 'Update Flink Cluster', busy: 'Updating…', failed: 'The Flink cluster was not updated' }
    : { action: 'Deploy Flink Cluster', busy: 'Deploying…', failed: 'The Flink cluster was not deployed' };

  const version = h(
    'select',
    { id: 'deploy-flinkVersion', name: 'flinkVersion', class: 'input' },
    catalog.versions.map((entry) =>
      h(
        'option',
        { value: entry.version, selected: entry.version === (spec?.flinkVersion ?? catalog.defaultVersion) },
        `Flink ${entry.version} (${entry.release})${entry.version === catalog.defaultVersion ? ' — default' : ''}`,
      ),
    ),
  );
  const zone = h(
    'select',
    { id: 'deploy-zone', name: 'zone', class: 'input' },
    catalog.zones.map((name, index) =>
      h('option', { value: name, selected: spec ? name === spec.zone : index === 0 }, name),
    ),
  );

  const selectField = (path: string, label: string, control: HTMLSelectElement) => {
    const error = h('p', { id: `${control.id}-error`, class: 'field-error', hidden: true });
    const wrapper = h(
      'div',
      { class: 'field' },
      h('label', { class: 'label', for: control.id }, label),
      control,
      error,
    );
    fields.set(path, { control, wrapper, error, hintId: null });
    return wrapper;
  };

  const sizingInput = (field: SizingField) => {
    const id = `deploy-${field.field.replace('.', '-')}`;
    const hintId = `${id}-hint`;
    const [group, key] = field.field.split('.') as ['jobManager' | 'taskManager', string];
    const currentValue = spec ? (spec[group] as Record<string, number>)[key] : undefined;
    const control = h('input', {
      id,
      name: field.field,
      type: 'number',
      class: 'input input-number',
      inputmode: field.step < 1 ? 'decimal' : 'numeric',
      min: field.minimum,
      max: field.maximum,
      step: field.step,
      value: currentValue ?? field.default,
      'aria-describedby': hintId,
    });
    const error = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
    const wrapper = h(
      'div',
      { class: 'field' },
      h('label', { class: 'label', for: id }, field.label),
      h(
        'div',
        { class: 'input-with-unit' },
        control,
        h('span', { class: 'unit', 'aria-hidden': 'true' }, unitLabel(field.unit, 2)),
      ),
      h(
        'p',
        { id: hintId, class: 'hint' },
        `minimum ${field.minimum} ${unitLabel(field.unit, field.minimum)} · default ${field.default} ${unitLabel(field.unit, field.default)}`,
      ),
      error,
    );
    fields.set(field.field, { control, wrapper, error, hintId });
    return wrapper;
  };
  const sizing = (prefix: string) =>
    catalog.sizing.filter((field) => field.field.startsWith(`${prefix}.`)).map(sizingInput);

  const restoreFieldset = current ? restoreChoice(current, fields) : null;

  const rowsContainer = h('div', { class: 'config-rows' });
  const addRow = (key = '', value = '', focus = false) => {
    const number = rows.length + 1;
    const keyInput = h('input', {
      type: 'text',
      class: 'input',
      value: key,
      id: `deploy-config-key-${number}`,
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: 'e.g. execution.checkpointing.interval',
    });
    const valueInput = h('input', {
      type: 'text',
      class: 'input',
      value,
      id: `deploy-config-value-${number}`,
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: 'e.g. 30 s',
    });
    const error = h('p', { id: `deploy-config-error-${number}`, class: 'field-error', hidden: true });
    const row: ConfigRow = {
      key: keyInput,
      value: valueInput,
      error,
      element: h(
        'div',
        { class: 'config-row' },
        h('label', { class: 'sr-only', for: keyInput.id }, `Key of setting ${number}`),
        keyInput,
        h('label', { class: 'sr-only', for: valueInput.id }, `Value of setting ${number}`),
        valueInput,
        h(
          'button',
          {
            type: 'button',
            class: 'button button-quiet button-small',
            'aria-label': `Remove setting ${number}`,
            onclick: () => {
              rows.splice(rows.indexOf(row), 1);
              row.element.remove();
              focusElement(addButton);
            },
          },
          'Remove',
        ),
        error,
      ),
    };
    rows.push(row);
    rowsContainer.append(row.element);
    if (focus) keyInput.focus();
  };
  for (const [key, value] of Object.entries(spec?.flinkConfiguration ?? {})) addRow(key, formatConfigValue(value));
  const addButton = h(
    'button',
    { type: 'button', class: 'button button-small', onclick: () => addRow('', '', true) },
    '+ Add setting',
  );

  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, words.action);
  const form = h(
    'form',
    { class: 'dialog-form', novalidate: true, 'aria-labelledby': dialog.titleId },
    h(
      'div',
      { class: 'dialog-body' },
      summary,
      h(
        'fieldset',
        { class: 'fieldset' },
        h('legend', null, 'Flink'),
        h(
          'div',
          { class: 'field-grid' },
          selectField('flinkVersion', 'Flink version', version),
          selectField('zone', 'Zone', zone),
        ),
      ),
      h(
        'fieldset',
        { class: 'fieldset' },
        h('legend', null, 'JobManager'),
        h('div', { class: 'field-grid' }, sizing('jobManager')),
      ),
      h(
        'fieldset',
        { class: 'fieldset' },
        h('legend', null, 'TaskManagers'),
        h('div', { class: 'field-grid field-grid-3' }, sizing('taskManager')),
      ),
      restoreFieldset,
      h(
        'fieldset',
        { class: 'fieldset' },
        h('legend', null, 'Flink configuration (optional)'),
        h(
          'p',
          { class: 'hint' },
          'Your own Flink settings. Keys the platform fixes (high availability, state backend, ports, memory) are refused; the effective configuration lists them.',
        ),
        rowsContainer,
        addButton,
      ),
    ),
    h(
      'div',
      { class: 'dialog-footer' },
      h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel'),
      submit,
    ),
  );

  const clearErrors = () => {
    summary.hidden = true;
    summary.replaceChildren();
    for (const refs of [...fields.values(), ...rows.map(rowRefs)]) {
      refs.error.hidden = true;
      refs.error.textContent = '';
      refs.wrapper.classList.remove('has-error');
      refs.control.removeAttribute('aria-invalid');
      if (refs.hintId) refs.control.setAttribute('aria-describedby', refs.hintId);
      else refs.control.removeAttribute('aria-describedby');
    }
  };

  const showErrors = (error: unknown) => {
    const apiError = error instanceof ApiError ? error : undefined;
    const issues = apiError?.issues ?? [];
    const byTarget = new Map<FieldRefs, Issue[]>();
    for (const issue of issues) {
      const target = targetOf(issue.path, fields, rows);
      if (target) byTarget.set(target, [...(byTarget.get(target) ?? []), issue]);
    }
    for (const [refs, found] of byTarget) {
      refs.error.textContent = found.map((issue) => issue.message).join(' ');
      refs.error.hidden = false;
      refs.wrapper.classList.add('has-error');
      refs.control.setAttribute('aria-invalid', 'true');
      refs.control.setAttribute('aria-describedby', [refs.hintId, refs.error.id].filter(Boolean).join(' '));
    }
    const message = error instanceof Error ? error.message : String(error);
    const lead = issues.length > 0 ? message.split(':')[0]! : message;
    replaceChildren(
      summary,
      h('h3', { class: 'error-summary-title' }, words.failed),
      h('p', null, lead),
      issues.length > 0
        ? h(
            'ul',
            null,
            issues.map((issue) => {
              const target = targetOf(issue.path, fields, rows);
              return h(
                'li',
                null,
                target
                  ? h(
                      'a',
                      {
                        href: `#${target.control.id}`,
                        onclick: (event: Event) => {
                          event.preventDefault();
                          target.control.focus();
                        },
                      },
                      issue.message,
                    )
                  : issue.message,
              );
            }),
          )
        : null,
    );
    summary.hidden = false;
    focusElement(summary);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const restore = form.querySelector<HTMLInputElement>('input[name="restore"]:checked')?.value as
      | RestoreMode
      | undefined;
    const flinkConfiguration: Record<string, string> = {};
    for (const row of rows) {
      const key = row.key.value.trim();
      if (key) flinkConfiguration[key] = row.value.value;
    }
    const number = (path: string) => readNumber(fields.get(path)?.control);
    const body: ClusterSpecInput = {
      flinkVersion: version.value,
      zone: zone.value,
      jobManager: { cpu: number('jobManager.cpu'), memoryMB: number('jobManager.memoryMB') },
      taskManager: {
        cpu: number('taskManager.cpu'),
        memoryMB: number('taskManager.memoryMB'),
        instances: number('taskManager.instances'),
      },
      flinkConfiguration,
      ...(restore ? { restore } : {}),
    };
    submit.disabled = true;
    submit.textContent = words.busy;
    form.setAttribute('aria-busy', 'true');
    try {
      // A live cluster's edit changes only what the user changed, and only if nobody changed it since it was read.
      const view =
        updating && spec
          ? await ctx.api.patch(tenant, mergePatchOf(spec, body), current.generation)
          : await ctx.api.deploy(tenant, body);
      // Render first, so closing hands focus to the control that now stands for the cluster.
      onDeployed(view);
      dialog.close();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') {
        dialog.close();
        ctx.signOut('Your session ended: the API no longer accepts this token. Sign in again.');
        return;
      }
      showErrors(error);
    } finally {
      submit.disabled = false;
      submit.textContent = words.action;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

function restoreChoice(current: ClusterView, fields: Map<string, FieldRefs>): HTMLElement {
  const option = (value: RestoreMode, label: string, description: string, checked: boolean) => {
    const id = `deploy-restore-${value}`;
    return h(
      'div',
      { class: 'radio' },
      h('input', { type: 'radio', name: 'restore', id, value, checked, 'aria-describedby': `${id}-description` }),
      h(
        'div',
        null,
        h('label', { for: id, class: 'radio-label' }, label),
        h('p', { id: `${id}-description`, class: 'hint' }, description),
      ),
    );
  };
  const error = h('p', { id: 'deploy-restore-error', class: 'field-error', hidden: true });
  const fieldset = h(
    'fieldset',
    { class: 'fieldset', id: 'deploy-restore' },
    h('legend', null, 'State'),
    option(
      'latest-state',
      'Restore latest state',
      `Resume the submitted jobs from their latest checkpoints (HA cluster id ${current.haClusterId}).`,
      true,
    ),
    option(
      'clean',
      'Start clean',
      `Start with no jobs under a new HA cluster id. The state of ${current.haClusterId} is kept and can still be retrieved.`,
      false,
    ),
    error,
  );
  fields.set('restore', { control: fieldset, wrapper: fieldset, error, hintId: null });
  return fieldset;
}

function rowRefs(row: ConfigRow): FieldRefs {
  return { control: row.key, wrapper: row.element, error: row.error, hintId: null };
}

/** The form control an issue's path names: a field, or the configuration row with that key. */
function targetOf(path: string, fields: Map<string, FieldRefs>, rows: readonly ConfigRow[]): FieldRefs | undefined {
  const field = fields.get(path);
  if (field) return field;
  const prefix = 'flinkConfiguration.';
  if (!path.startsWith(prefix)) return undefined;
  const key = path.slice(prefix.length);
  const row =
    rows.find((candidate) => candidate.key.value.trim() === key) ??
    rows.find((candidate) => key.startsWith(`${candidate.key.value.trim()}.`));
  return row ? rowRefs(row) : undefined;
}

/** A blank or unreadable number is sent as null, so the server names the field instead of using its default. */
function readNumber(control: HTMLElement | undefined): number | null {
  if (!(control instanceof HTMLInputElement)) return null;
  const raw = control.value.trim();
  if (raw === '') return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

function unitLabel(unit: string, amount: number): string {
  if (unit === 'pods') return amount === 1 ? 'pod' : 'pods';
  if (unit === 'cores') return amount === 1 ? 'core' : 'cores';
  return unit;
}

/**
 * The JSON merge patch (RFC 7396) from the spec the form was opened with to what it holds now: only changed fields,
 * and `null` for a Flink key the user removed. A blank number goes as `""`, so the server names the field rather than
 * resetting it to its default, as `null` would.
 */
function mergePatchOf(current: ClusterSpec, body: ClusterSpecInput): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (body.flinkVersion !== current.flinkVersion) patch.flinkVersion = body.flinkVersion;
  if (body.zone !== current.zone) patch.zone = body.zone;
  for (const role of ['jobManager', 'taskManager'] as const) {
    const changed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body[role] ?? {})) {
      if (value !== (current[role] as Record<string, number>)[key]) changed[key] = value ?? '';
    }
    if (Object.keys(changed).length > 0) patch[role] = changed;
  }
  const configuration: Record<string, unknown> = {};
  const given = body.flinkConfiguration ?? {};
  for (const key of Object.keys(current.flinkConfiguration)) if (!(key in given)) configuration[key] = null;
  // The form shows each value as formatConfigValue writes it: an unchanged row is not sent.
  for (const [key, value] of Object.entries(given)) {
    const before = current.flinkConfiguration[key];
    if (before === undefined || formatConfigValue(before) !== value) configuration[key] = value;
  }
  if (Object.keys(configuration).length > 0) patch.flinkConfiguration = configuration;
  if (body.restore === 'clean') patch.restore = 'clean';
  return patch;
}
