import type { ClusterView } from '../api-types.ts';
import type { AppContext } from '../context.ts';
import { openDialog } from '../dialog.ts';
import { h, replaceChildren } from '../dom.ts';

export interface DestroyDialogOptions {
  /** Where focus goes once the dialog closes (the control that replaced Destroy, after a destroy). */
  readonly returnFocus: () => HTMLElement | null | undefined;
  /** Called with the answer before the dialog closes, so the page renders first. */
  readonly onDestroyed: (view: ClusterView) => void;
}

/** "Destroy the Flink cluster?": names what goes and what is kept; Cancel has focus. */
export function confirmDestroy(
  ctx: AppContext,
  tenant: string,
  current: ClusterView,
  options: DestroyDialogOptions,
): void {
  openDialog(
    {
      title: 'Destroy the Flink cluster?',
      role: 'alertdialog',
      className: 'dialog-danger',
      returnFocus: options.returnFocus,
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
              options.onDestroyed(next);
              dialog.close();
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
}
