import { type Child, focusElement, focusKeyOf, h, uniqueId } from './dom.ts';

export interface Dialog {
  readonly element: HTMLDialogElement;
  readonly titleId: string;
  close(): void;
}

export interface DialogOptions {
  readonly title: string;
  /** Extra class for size or tone, e.g. `dialog-wide`, `dialog-danger`. */
  readonly className?: string;
  /** `alertdialog` for confirmations of destructive actions. */
  readonly role?: 'dialog' | 'alertdialog';
  readonly onClose?: () => void;
  /** Where focus goes on close when the opener is gone (e.g. replaced by a live update) or should not get it back. */
  readonly returnFocus?: () => HTMLElement | null | undefined;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Opens a modal dialog. The page behind is inert, Tab and Shift+Tab cycle inside, Escape closes, and focus goes
 * back to the control that opened it (or the control that replaced it in a live re-render).
 */
export function openDialog(options: DialogOptions, build: (dialog: Dialog) => Child): Dialog {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const openerKey = focusKeyOf(opener);
  const titleId = uniqueId('dialog-title');
  const element = h('dialog', {
    class: `dialog ${options.className ?? ''}`.trim(),
    'aria-labelledby': titleId,
    ...(options.role === 'alertdialog' ? { role: 'alertdialog' } : {}),
  });
  let closed = false;
  const dialog: Dialog = {
    element,
    titleId,
    close() {
      if (closed) return;
      closed = true;
      element.close();
      element.remove();
      options.onClose?.();
      restoreFocus(opener, openerKey, options.returnFocus?.());
    },
  };
  const header = h(
    'div',
    { class: 'dialog-header' },
    h('h2', { id: titleId, class: 'dialog-title' }, options.title),
    h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', onclick: () => dialog.close() }, '×'),
  );
  element.append(header);
  const content = build(dialog);
  if (content)
    element.append(...(Array.isArray(content) ? content : [content]).filter((c): c is Node => c instanceof Node));

  element.addEventListener('cancel', (event) => {
    event.preventDefault();
    dialog.close();
  });
  element.addEventListener('keydown', (event) => trapTab(element, event));
  document.body.append(element);
  element.showModal();
  // Focus starts on the element marked data-autofocus (e.g. Cancel in a destructive confirmation), else the first control.
  const first =
    element.querySelector<HTMLElement>('[data-autofocus]') ??
    focusables(element).find((node) => !header.contains(node));
  focusElement(first ?? element);
  return dialog;
}

function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((node) => !node.closest('[hidden]'));
}

function trapTab(root: HTMLElement, event: KeyboardEvent): void {
  if (event.key !== 'Tab') return;
  const nodes = focusables(root);
  if (nodes.length === 0) return;
  const first = nodes[0]!;
  const last = nodes[nodes.length - 1]!;
  const active = document.activeElement;
  if (event.shiftKey && (active === first || !root.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !root.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

function restoreFocus(opener: HTMLElement | null, key: string | null, preferred: HTMLElement | null | undefined): void {
  if (preferred?.isConnected) {
    preferred.focus();
    return;
  }
  if (opener?.isConnected && opener !== document.body && !opener.closest('[inert]')) {
    opener.focus();
    return;
  }
  const replacement = key ? document.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`) : null;
  focusElement(replacement ?? document.querySelector<HTMLElement>('h1'));
}
