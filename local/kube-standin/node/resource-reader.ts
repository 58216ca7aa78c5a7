import { findResource, groupVersion, RESOURCES, type ResourceDef } from '../resources.ts';
import type { ObjectStore } from '../store.ts';
import type { ResourceReader } from './pod-runtime.ts';

/**
 * Read-only access to the stand-in's objects for a pod runtime (what a kubelet reads through the API). A resource
 * the stand-in does not serve (e.g. `endpoints`) reads as absent.
 */
export function createResourceReader(store: ObjectStore): ResourceReader {
  const find = (group: string, resource: string): ResourceDef | undefined => {
    const version = RESOURCES.find((d) => d.group === group && d.resource === resource)?.version ?? 'v1';
    return findResource(groupVersion({ group, version }), resource);
  };
  return {
    get: (group, resource, namespace, name) => {
      const def = find(group, resource);
      return def ? store.get(def, namespace, name) : undefined;
    },
    list: (group, resource, namespace) => {
      const def = find(group, resource);
      return def ? store.list(def, namespace) : [];
    },
    subscribe: (listener) => store.subscribe((event) => listener(event.def.group, event.def.resource, event.object)),
  };
}
