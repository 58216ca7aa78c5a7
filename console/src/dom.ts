/** What `h` accepts as children; falsy values are skipped so conditional parts read inline. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = { readonly [name: string]: AttrValue | ((event: Event) => void) };

/**
 * Builds an element. Text always goes in as text nodes, never as HTML, so API data cannot inject markup.
 * `on<event>` attributes become listeners; `true` sets an empty attribute, `false`/`null`/`undefined` skip it.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Text for screen readers only. */
export function srOnly(text: string): HTMLSpanElement {
  return h('span', { class: 'sr-only' }, text);
}

let nextId = 0;
/** A document-unique id for label and description wiring. */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** Moves focus to an element that may not be focusable by itself (a heading, a summary). */
export function focusElement(element: HTMLElement | null | undefined): void {
  if (!element) return;
  if (!element.hasAttribute('tabindex') && element.tabIndex < 0) element.setAttribute('tabindex', '-1');
  element.focus();
}

/** The key under which a control is found again after a re-render, so focus survives live updates. */
export function focusKeyOf(element: Element | null): string | null {
  return element?.closest('[data-focus-key]')?.getAttribute('data-focus-key') ?? null;
}

/** Re-renders a region and puts focus back on the control with the same focus key, if focus was inside. */
export function preservingFocus(region: Element, render: () => void): void {
  const active = document.activeElement;
  const key = active && region.contains(active) ? focusKeyOf(active) : null;
  render();
  if (!key) return;
  const again = region.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`);
  again?.focus();
}
