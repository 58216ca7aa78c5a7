import type { ServerResponse } from 'node:http';
import type { KubeObject } from './objects.ts';
import type { ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { gone } from './status.ts';
import { type ObjectStore, type StoreEvent, storedJson } from './store.ts';

export type WatchRequest = {
  def: ResourceDef;
  namespace: string | undefined;
  query: URLSearchParams;
};

/**
 * Streams watch events (`{"type":"ADDED|MODIFIED|DELETED|ERROR","object":...}` one per line) like the real
 * server: without a resourceVersion (or with "0") it first sends the current objects as ADDED; with one it
 * replays what happened since from a bounded history, or answers an ERROR 410 Expired when that is too old.
 * Bookmarks are not sent. Answers a function that ends the stream.
 */
export function serveWatch(store: ObjectStore, request: WatchRequest, res: ServerResponse): () => void {
  const { def, namespace, query } = request;
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), def);
  const matches = (obj: KubeObject | undefined): boolean =>
    obj !== undefined &&
    (namespace === undefined || obj.metadata.namespace === namespace) &&
    labels(obj.metadata.labels) &&
    fields.matches(obj);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const send = (type: string, object: KubeObject) => res.write(`{"type":"${type}","object":${storedJson(object)}}\n`);
  const onEvent = (event: StoreEvent) => {
    if (event.def !== def) return;
    const now = event.type !== 'DELETED' && matches(event.object);
    const before = event.type !== 'ADDED' && matches(event.previous);
    if (event.type === 'DELETED') {
      if (before) send('DELETED', event.object);
    } else if (now) {
      send(before ? 'MODIFIED' : 'ADDED', event.object);
    } else if (before) {
      send('DELETED', event.object);
    }
  };

  const since = query.get('resourceVersion');
  if (!since || since === '0') {
    for (const obj of store.list(def, namespace)) if (matches(obj)) send('ADDED', obj);
  } else {
    const version = Number(since);
    if (!Number.isInteger(version) || version < store.oldestWatchableVersion) {
      const status = gone(`too old resource version: ${since} (${store.oldestWatchableVersion})`).status;
      res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      res.end();
      return () => {};
    }
    for (const event of store.eventsSince(version)) onEvent(event);
  }

  const unsubscribe = store.subscribe(onEvent);
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    unsubscribe();
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  const timeoutSeconds = Number(query.get('timeoutSeconds'));
  if (timeoutSeconds > 0) timer = setTimeout(end, timeoutSeconds * 1000);
  res.on('close', end);
  return end;
}
