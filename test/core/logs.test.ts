import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TAIL_LINES,
  MAX_SINCE_SECONDS,
  MAX_TAIL_LINES,
  type PodSummary,
  parseLogQuery,
  READABLE_CONTAINERS,
  readablePods,
} from '../../functions/core/logs.ts';
import { acmeObjects } from '../cluster-templates/fixtures.ts';

/** The one valid query; each test changes one thing. */
const VALID = { pod: 'flink-cluster-taskmanager-7d9f-abcde', container: 'taskmanager', tailLines: '100', since: '15m' };

describe('parseLogQuery', () => {
  it('reads a valid query, with since in seconds', () => {
    expect(parseLogQuery(VALID)).toEqual({
      issues: [],
      request: { pod: VALID.pod, container: 'taskmanager', tailLines: 100, sinceSeconds: 900, follow: false },
    });
  });

  it('defaults the tail and leaves since and the container open', () => {
    expect(parseLogQuery({ pod: VALID.pod }).request).toEqual({
      pod: VALID.pod,
      container: '',
      tailLines: DEFAULT_TAIL_LINES,
      follow: false,
    });
  });

  it('accepts the caps themselves', () => {
    const request = parseLogQuery({ ...VALID, tailLines: String(MAX_TAIL_LINES), since: '24h' }).request;
    expect(request).toMatchObject({ tailLines: MAX_TAIL_LINES, sinceSeconds: MAX_SINCE_SECONDS });
  });

  it.each([
    ['tailLines', String(MAX_TAIL_LINES + 1)],
    ['tailLines', '0'],
    ['tailLines', '-5'],
    ['tailLines', '1e3'],
    ['since', String(MAX_SINCE_SECONDS + 1)],
    ['since', '25h'],
    ['since', '0'],
    ['since', '1d'],
    ['follow', 'yes'],
    ['pod', '../secrets'],
    ['container', 'Job_Manager'],
  ])('rejects %s=%s, naming the field, the value and the rule', (field, value) => {
    const { request, issues } = parseLogQuery({ ...VALID, [field]: value });
    expect(request).toBeUndefined();
    expect(issues).toEqual([{ field, value, rule: expect.any(String) }]);
  });

  it('reports every bad field at once, and a missing pod', () => {
    const { issues } = parseLogQuery({ tailLines: '99999', since: '48h' });
    expect(issues.map((issue) => issue.field)).toEqual(['pod', 'tailLines', 'since']);
  });

  it('reads follow=true as a follow', () => {
    expect(parseLogQuery({ ...VALID, follow: 'true' }).request?.follow).toBe(true);
  });
});

describe('readablePods', () => {
  const pod = (name: string, component: string | undefined, containers: string[]): PodSummary => ({
    name,
    labels: component ? { 'app.kubernetes.io/component': component } : {},
    containers,
  });

  it('keeps only JobManager, TaskManager and proxy pods, and only their own containers', () => {
    const found = readablePods([
      pod('tm-b', 'taskmanager', ['taskmanager', 'debug-sidecar']),
      pod('zk', 'zookeeper-proxy', ['zookeeper-proxy']),
      pod('jm', 'jobmanager', ['jobmanager']),
      pod('tm-a', 'taskmanager', ['taskmanager']),
      pod('intruder', 'something-else', ['shell']),
      pod('unlabelled', undefined, ['jobmanager']),
      pod('no-readable-container', 'jobmanager', ['shell']),
    ]);
    expect(found.map((view) => [view.name, view.containers])).toEqual([
      ['jm', ['jobmanager']],
      ['tm-a', ['taskmanager']],
      ['tm-b', ['taskmanager']],
      ['zk', ['zookeeper-proxy']],
    ]);
  });

  it("agrees with the rendered manifests: every pod template's component and containers are readable", () => {
    const templates = acmeObjects({ taskManager: { instances: 2 } })
      .filter((object) => object.kind === 'Deployment')
      .map((object) => {
        const template = (object as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec
          .template as { metadata: { labels: Record<string, string> }; spec: { containers: { name: string }[] } };
        return pod(
          object.metadata!.name!,
          template.metadata.labels['app.kubernetes.io/component'],
          template.spec.containers.map((container) => container.name),
        );
      });
    const readable = readablePods(templates);
    expect(readable.map((view) => view.component).sort()).toEqual(Object.keys(READABLE_CONTAINERS).sort());
    for (const view of readable) expect(view.containers).toEqual(READABLE_CONTAINERS[view.component]);
  });
});
