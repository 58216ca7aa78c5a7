import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cli } from './run-cli.ts';

describe('flinkplane render', () => {
  it('prints every object of the tenant cluster as multi-document YAML', async () => {
    const result = await cli('render', '--tenant', 'acme');
    expect(result.code).toBe(0);
    const documents = parseAllDocuments(result.out).map(
      (document) => document.toJS() as { kind: string; metadata: { name: string } },
    );
    expect(documents.map((document) => document.kind)).toContain('Deployment');
    expect(documents.find((document) => document.kind === 'Namespace')?.metadata.name).toBe('tenant-acme');
    expect(documents.some((document) => document.kind === 'Secret')).toBe(false);
  });

  it('renders the Flink version asked for', async () => {
    const result = await cli('render', '--tenant', 'acme', '--flink-version', '2.1');
    expect(result.out).toContain('config.yaml');
    expect(result.out).toContain('execution.checkpointing.dir: s3://flinkplane-acme/acme-ha1/checkpoints');
  });

  it('writes the manifests to the output directory', async () => {
    const out = mkdtempSync(join(tmpdir(), 'render-'));
    const result = await cli('render', '--tenant', 'acme', '--out', out);
    expect(result.code).toBe(0);
    expect(readFileSync(join(out, 'acme.yaml'), 'utf8')).toContain('name: flink-cluster-jobmanager');
  });

  it('exits with 2 and prints every issue with code, field, value and rule', async () => {
    const spec = join(mkdtempSync(join(tmpdir(), 'spec-')), 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({ taskManager: { memoryMB: 512 }, flinkConfiguration: { 'state.backend': 'rocksdb' } }),
    );
    const result = await cli('render', '--tenant', 'Bad', '--spec', spec);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    const lines = result.err.trim().split('\n').slice(1);
    expect(lines).toEqual([
      expect.stringMatching(/^invalid_tenant_name\ttenant\tvalue="Bad"\trule: /),
      'below_minimum\ttaskManager.memoryMB\tvalue=512\trule: minimum 1024 MB',
      'fixed_setting\tflinkConfiguration.state.backend\tvalue="rocksdb"\trule: fixed to hashmap',
    ]);
  });

  it('exits with 2 on an unknown option or an unreadable spec file', async () => {
    expect((await cli('render', '--tenant', 'acme', '--colour', 'blue')).code).toBe(2);
    const missing = await cli('render', '--tenant', 'acme', '--spec', '/nonexistent/spec.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('/nonexistent/spec.json');
  });

  it('runs through the npm script on a fresh checkout', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '-s', 'flinkplane', '--', 'render', '--tenant', 'acme'],
      {
        cwd: new URL('../..', import.meta.url).pathname,
      },
    );
    expect(stdout).toContain('name: flink-cluster-taskmanager');
  });
});
