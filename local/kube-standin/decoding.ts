/** Decoding of request bodies and query options, with the real server's errors for what it refuses. */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { DeleteOptions, PatchType, WriteOptions } from './api.ts';
import { isRecord } from './objects.ts';
import type { ResourceDef } from './resources.ts';
import type { FieldValidation } from './schema.ts';
import { badRequest, type FieldError, invalid, requestTooLarge, unsupportedMediaType } from './status.ts';

const BODY_LIMIT = 3 * 1024 * 1024;

/** The write query parameters, validated as the real server validates Create/Update/PatchOptions. */
export function writeOptions(req: IncomingMessage, query: URLSearchParams, kind: string, apply: boolean): WriteOptions {
  const errors: FieldError[] = [];
  const fieldManager = query.get('fieldManager') ?? undefined;
  const force = query.get('force');
  if (kind === 'PatchOptions' && !apply && force !== null) {
    errors.push({ type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch' });
  }
  if (apply && !fieldManager) {
    errors.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' });
  }
  if (fieldManager && fieldManager.length > 128) {
    errors.push({ type: 'FieldValueTooLong', field: 'fieldManager', detail: 'may not be more than 128 bytes' });
  }
  const dryRun = query.getAll('dryRun');
  for (const value of dryRun) {
    if (value !== 'All') {
      errors.push({ type: 'FieldValueNotSupported', field: 'dryRun', value, detail: 'supported values: "All"' });
    }
  }
  const validation = query.get('fieldValidation') || 'Warn';
  if (!['Ignore', 'Warn', 'Strict'].includes(validation)) {
    errors.push({
      type: 'FieldValueNotSupported',
      field: 'fieldValidation',
      value: validation,
      detail: 'supported values: "Ignore", "Strict", "Warn"',
    });
  }
  if (errors.length > 0) throw invalid({ group: 'meta.k8s.io', kind }, '', errors);
  const userAgent = req.headers['user-agent'] ?? '';
  const manager = fieldManager ?? (userAgent.split('/')[0]!.slice(0, 128) || 'unknown');
  return {
    manager,
    dryRun: dryRun.length > 0,
    force: force === 'true' || force === '1',
    fieldValidation: validation as FieldValidation,
    warnings: [],
  };
}

export function deleteOptions(query: URLSearchParams, body: Buffer): DeleteOptions {
  let options: Record<string, unknown> = {};
  if (body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (isRecord(parsed)) options = parsed;
    } catch (error) {
      throw badRequest(`error decoding DeleteOptions: ${(error as Error).message}`);
    }
  }
  const propagationPolicy = query.get('propagationPolicy') ?? (options.propagationPolicy as string | undefined);
  if (propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(propagationPolicy)) {
    throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
      {
        type: 'FieldValueNotSupported',
        field: 'propagationPolicy',
        value: propagationPolicy,
        detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
      },
    ]);
  }
  const orphan = query.get('orphanDependents') ?? options.orphanDependents;
  const grace = query.get('gracePeriodSeconds') ?? options.gracePeriodSeconds;
  const gracePeriodSeconds = grace === undefined || grace === null ? undefined : Number(grace);
  if (gracePeriodSeconds !== undefined && !Number.isInteger(gracePeriodSeconds)) {
    throw badRequest(`gracePeriodSeconds must be an integer, not ${String(grace)}`);
  }
  const dryRun = query.getAll('dryRun').length > 0 || (Array.isArray(options.dryRun) && options.dryRun.length > 0);
  return {
    propagationPolicy: propagationPolicy ?? (orphan === 'true' || orphan === true ? 'Orphan' : undefined),
    gracePeriodSeconds,
    dryRun,
    preconditions: isRecord(options.preconditions)
      ? (options.preconditions as DeleteOptions['preconditions'])
      : undefined,
  };
}

export function decodeBody(def: ResourceDef, body: Buffer, contentType: string): unknown {
  if (contentType.includes('protobuf') || contentType === 'application/cbor') {
    throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  }
  const text = body.toString('utf8');
  try {
    return contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${def.kind}): couldn't get version/kind; json parse error: ${(error as Error).message}`,
    );
  }
}

export function decodePatch(body: Buffer, patchType: PatchType): unknown {
  const text = body.toString('utf8');
  try {
    if (patchType !== 'apply') return JSON.parse(text);
    const trimmed = text.trimStart();
    return trimmed.startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const what = patchType === 'apply' ? 'error decoding YAML' : 'error decoding patch';
    throw badRequest(`${what}: ${(error as Error).message}`);
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw requestTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
