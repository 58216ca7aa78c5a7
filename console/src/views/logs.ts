import type { AppContext } from '../context.ts';
import { h, replaceChildren } from '../dom.ts';

/** The most lines kept in the page; older ones drop off the top. */
const MAX_LINES = 10_000;

/**
 * The Logs tab: pick the JobManager, a TaskManager or the proxy, follow its log live, pause (lines keep arriving and
 * show on resume), search (only matching lines show) and download what was read. Opens nothing until shown.
 */
export function logsCard(ctx: AppContext, tenant: string) {
  let lines: string[] = [];
  let reading: AbortController | undefined;
  let paused = false;
  const button = (text: string, onclick: () => void) =>
    h('button', { type: 'button', class: 'button button-small', onclick }, text);
  const pick = h('select', { 'aria-label': 'Pod', onchange: () => follow() });
  const search = h('input', { type: 'search', 'aria-label': 'Search the log', oninput: () => draw() });
  const pause = button('Pause', () => setPaused(!paused));
  const status = h('p', { class: 'muted', role: 'status' });
  const output = h('pre', { class: 'log', tabindex: '0', 'aria-label': 'Log' });
  const body = h(
    'div',
    { class: 'card-body' },
    h(
      'div',
      { class: 'log-bar' },
      pick,
      search,
      pause,
      button('Download', () => download()),
    ),
    status,
    output,
  );

  const draw = () => {
    const query = search.value.toLowerCase();
    const shown = query ? lines.filter((line) => line.toLowerCase().includes(query)) : lines;
    output.textContent = shown.join('\n');
    output.scrollTop = output.scrollHeight;
    status.textContent = `${shown.length} of ${lines.length} lines · ${paused ? 'paused' : 'live'}`;
  };
  const setPaused = (next: boolean) => {
    paused = next;
    pause.textContent = next ? 'Resume' : 'Pause';
    draw();
  };
  const download = () => {
    const href = URL.createObjectURL(new Blob([lines.join('\n')]));
    h('a', { href, download: `${pick.value.replace('/', '-')}.log` }).click();
    URL.revokeObjectURL(href);
  };
  const follow = async () => {
    reading?.abort();
    const controller = new AbortController();
    reading = controller;
    lines = [];
    setPaused(false);
    const [pod = '', container = ''] = pick.value.split('/');
    try {
      const reader = (await ctx.api.followLog(tenant, pod, container, controller.signal)).getReader();
      const decoder = new TextDecoder();
      let partial = '';
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const parts = (partial + decoder.decode(read.value, { stream: true })).split('\n');
        partial = parts.pop()!;
        lines = lines.concat(parts).slice(-MAX_LINES);
        if (!paused) draw();
      }
      status.textContent = 'The log ended: the container stopped.';
    } catch (error) {
      if (!controller.signal.aborted) status.textContent = (error as Error).message;
    }
  };
  const show = async () => {
    if (!element.open) return reading?.abort();
    try {
      const { pods } = await ctx.api.logPods(tenant);
      const options = pods.flatMap((pod) =>
        pod.containers.map((name) => h('option', { value: `${pod.name}/${name}` }, `${pod.component} · ${pod.name}`)),
      );
      replaceChildren(pick, options);
      void follow();
    } catch (error) {
      status.textContent = (error as Error).message;
    }
  };

  // A native disclosure: opening it lists the pods and follows the first; closing it stops reading.
  const element = h(
    'details',
    { class: 'card', ontoggle: () => void show() },
    h('summary', { class: 'card-header card-title' }, 'Logs'),
    body,
  );
  return { element, stop: () => reading?.abort() };
}
