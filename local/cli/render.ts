import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTenantManifests, toYamlDocuments } from '../../cluster-templates/index.ts';
import { validateClusterSpec } from '../../functions/core/cluster-spec.ts';
import { buildEffectiveCluster } from '../../functions/core/effective-cluster.ts';
import type { Issue } from '../../functions/core/errors.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { validateTenantName } from '../../functions/core/tenant-name.ts';

export interface RenderOptions {
  readonly tenant?: string;
  readonly specFile?: string;
  readonly flinkVersion?: string;
  readonly platformFile?: string;
  readonly out?: string;
  readonly haEpoch?: number;
}

export type RenderResult = { ok: true; yaml: string; file?: string } | { ok: false; issues: Issue[] };

/** Renders a tenant's manifests offline, through the same validator as the API. */
export function renderManifests(options: RenderOptions): RenderResult {
  const issues: Issue[] = validateTenantName(options.tenant ?? '', 'tenant');
  const platform = parsePlatformSettings(options.platformFile ? readJson(options.platformFile, 'platform') : {});
  const input = options.specFile ? readJson(options.specFile, 'spec') : {};
  if (options.flinkVersion) input.flinkVersion = options.flinkVersion;
  const validation = validateClusterSpec(input, platform);
  if (!validation.ok) issues.push(...validation.issues);
  if (issues.length > 0 || !validation.ok) return { ok: false, issues };

  const cluster = buildEffectiveCluster(options.tenant!, validation.spec, platform, options.haEpoch ?? 1);
  const yaml = toYamlDocuments(buildTenantManifests(cluster).map((manifest) => manifest.object));
  if (!options.out) return { ok: true, yaml };
  mkdirSync(options.out, { recursive: true });
  const file = join(options.out, `${options.tenant}.yaml`);
  writeFileSync(file, yaml);
  return { ok: true, yaml, file };
}

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new CliUsageError(`the ${what} file ${file} is not a JSON object: ${(error as Error).message}`);
  }
}

/** A mistake in how the command was called; the CLI prints it and exits with code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** One line per issue: code, field, value and rule. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues
    .map((issue) => `${issue.code}\t${issue.path}\tvalue=${JSON.stringify(issue.value)}\trule: ${issue.rule}`)
    .join('\n');
}
