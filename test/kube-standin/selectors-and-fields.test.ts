import { describe, expect, it } from 'vitest';
import { decodeFieldsV1, encodeFieldsV1, leafValues, printPath } from '../../local/kube-standin/fields.ts';
import { jsonPatch, strategicMergePatch } from '../../local/kube-standin/patch.ts';
import { resourceDef } from '../../local/kube-standin/resources.ts';
import { parseFieldSelector, parseLabelSelector } from '../../local/kube-standin/selectors.ts';
import { KubeStatusError } from '../../local/kube-standin/status.ts';

describe('kube stand-in label selectors', () => {
  const labels = { app: 'flink', component: 'taskmanager', tier: '2' };

  it.each([
    ['', true],
    ['app=flink', true],
    ['app==flink,component=jobmanager', false],
    ['app!=zookeeper', true],
    ['missing!=x', true],
    ['component in (jobmanager, taskmanager)', true],
    ['component notin (taskmanager)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['tier>1', true],
    ['tier<2', false],
    ['app=flink,component in (taskmanager),!missing', true],
  ])('evaluates %j to %s', (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it('answers a malformed selector with 400 BadRequest', () => {
    expect(() => parseLabelSelector('app = = x')).toThrow(KubeStatusError);
    try {
      parseLabelSelector('in (x)');
    } catch (error) {
      expect((error as KubeStatusError).status).toMatchObject({ code: 400, reason: 'BadRequest' });
      return;
    }
    throw new Error('expected a parse error');
  });
});

describe('kube stand-in field selectors', () => {
  const pods = resourceDef('', 'pods');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'n' }, status: { phase: 'Running' } };

  it('matches metadata and the resource-specific fields the real server supports', () => {
    expect(parseFieldSelector('metadata.name=a,status.phase=Running', pods).matches(pod)).toBe(true);
    expect(parseFieldSelector('status.phase!=Running', pods).matches(pod)).toBe(false);
    expect(parseFieldSelector('metadata.name==a', pods).name).toBe('a');
  });

  it('refuses a field the resource does not index', () => {
    expect(() => parseFieldSelector('status.phase=Running', resourceDef('', 'configmaps'))).toThrow(
      'field label not supported: status.phase',
    );
  });
});

describe('kube stand-in field sets', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', namespace: 'n', labels: { app: 'x' } },
    spec: {
      replicas: 2,
      template: {
        spec: {
          containers: [{ name: 'main', image: 'flink', args: ['a', 'b'], ports: [{ containerPort: 6123 }] }],
          volumes: [{ name: 'conf', emptyDir: {} }],
        },
      },
    },
    status: { replicas: 2 },
  };

  it('keys containers, ports and volumes, keeps other lists atomic, and skips system fields and status', () => {
    const paths = [...leafValues(deployment, 'main').keys()].map(printPath).sort();
    expect(paths).toEqual([
      '.metadata.labels.app',
      '.spec.replicas',
      '.spec.template.spec.containers[name="main"]',
      '.spec.template.spec.containers[name="main"].args',
      '.spec.template.spec.containers[name="main"].image',
      '.spec.template.spec.containers[name="main"].name',
      '.spec.template.spec.containers[name="main"].ports[containerPort=6123,protocol="TCP"]',
      '.spec.template.spec.containers[name="main"].ports[containerPort=6123,protocol="TCP"].containerPort',
      '.spec.template.spec.volumes[name="conf"]',
      '.spec.template.spec.volumes[name="conf"].emptyDir',
      '.spec.template.spec.volumes[name="conf"].name',
    ]);
  });

  it('round-trips a field set through fieldsV1', () => {
    const set = new Set(leafValues(deployment, 'main').keys());
    const encoded = encodeFieldsV1(set);
    expect(encoded['f:spec']).toMatchObject({
      'f:template': { 'f:spec': { 'f:volumes': { 'k:{"name":"conf"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} } } } },
    });
    expect(decodeFieldsV1(encoded)).toEqual(set);
  });
});

describe('kube stand-in patch formats', () => {
  it('applies RFC 6902 operations including escaped pointers', () => {
    const doc = { metadata: { annotations: { 'a/b': '1' } }, list: [1, 2] };
    const patched = jsonPatch(doc, [
      { op: 'replace', path: '/metadata/annotations/a~1b', value: '2' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'remove', path: '/list/0' },
      { op: 'copy', from: '/list', path: '/copy' },
    ]);
    expect(patched).toEqual({ metadata: { annotations: { 'a/b': '2' } }, list: [2, 3], copy: [2, 3] });
    expect(doc.list).toEqual([1, 2]);
  });

  it('deletes a keyed item with a $patch: delete directive in a strategic merge patch', () => {
    const live = {
      spec: {
        containers: [
          { name: 'a', image: '1' },
          { name: 'b', image: '2' },
        ],
      },
    };
    const patched = strategicMergePatch(live, {
      spec: {
        containers: [
          { name: 'a', $patch: 'delete' },
          { name: 'b', image: '3' },
        ],
      },
    });
    expect(patched).toEqual({ spec: { containers: [{ name: 'b', image: '3' }] } });
  });
});
