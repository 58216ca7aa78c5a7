/** `jars upload|list|delete` and `jobs list|run|savepoint|stop|cancel`: the CLI side of the job routes. */
import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type {
  JarListResponse,
  JarResponse,
  JarUploadResponse,
  JobListResponse,
  JobOperationResponse,
  JobSubmittedResponse,
} from '../../functions/http/routes.ts';
import {
  ApiCallError,
  COMMON_OPTIONS,
  type Connection,
  call,
  connection,
  numberOption,
  print,
  requireTenant,
  type Writable,
} from './api-commands.ts';
import { CliUsageError } from './render.ts';

/** How often `--wait` asks for the operation, and how long it waits by default. */
const POLL_MS = 1_000;
const DEFAULT_WAIT_SECONDS = 300;

const cluster = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}/flink-cluster`;

export async function jarsCommand(args: readonly string[], out: Writable): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: [...rest],
    strict: true,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      tenant: { type: 'string' },
      name: { type: 'string' },
      presigned: { type: 'boolean', default: false },
    },
  });
  const conn = connection(values);
  const tenant = requireTenant(values.tenant);
  switch (sub) {
    case 'upload': {
      const file = positionals[0];
      if (!file) throw new CliUsageError('Give the JAR file: jars upload <file.jar> --tenant <name>');
      const name = values.name ?? basename(file);
      const jar = values.presigned
        ? await presignedUpload(conn, tenant, file, name)
        : await streamedUpload(conn, tenant, file, name);
      if (conn.json) return print(out, jar);
      out.write(`Uploaded ${jar.name} (${jar.bytes} bytes) as JAR ${jar.jarId}\n`);
      return 0;
    }
    case 'list': {
      const { items } = (await call(conn, 'GET', `${cluster(tenant)}/jars`)) as JarListResponse;
      if (conn.json) return print(out, items);
      out.write('JAR ID            BYTES       UPLOADED                  NAME\n');
      for (const jar of items) {
        out.write(`${jar.jarId.padEnd(18)}${String(jar.bytes).padEnd(12)}${jar.uploadedAt.padEnd(26)}${jar.name}\n`);
      }
      return 0;
    }
    case 'delete': {
      const jarId = positionals[0];
      if (!jarId) throw new CliUsageError('Give the JAR id: jars delete <jarId> --tenant <name>');
      await call(conn, 'DELETE', `${cluster(tenant)}/jars/${encodeURIComponent(jarId)}`);
      if (conn.json) return print(out, { deleted: jarId });
      out.write(`Deleted JAR ${jarId}\n`);
      return 0;
    }
    default:
      throw new CliUsageError('Use: jars upload <file.jar> | jars list | jars delete <jarId>, each with --tenant');
  }
}

export async function jobsCommand(args: readonly string[], out: Writable): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: [...rest],
    strict: true,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      tenant: { type: 'string' },
      jar: { type: 'string' },
      'entry-class': { type: 'string' },
      arg: { type: 'string', multiple: true },
      parallelism: { type: 'string' },
      'restore-from': { type: 'string' },
      'allow-non-restored-state': { type: 'boolean', default: false },
      drain: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string' },
    },
  });
  const conn = connection(values);
  const tenant = requireTenant(values.tenant);
  switch (sub) {
    case 'list': {
      const { items } = (await call(conn, 'GET', `${cluster(tenant)}/jobs`)) as JobListResponse;
      if (conn.json) return print(out, items);
      out.write('JOB ID                            STATE       STARTED                   NAME\n');
      for (const job of items) {
        out.write(`${job.jobId.padEnd(34)}${job.state.padEnd(12)}${(job.startTime ?? '-').padEnd(26)}${job.name}\n`);
      }
      return 0;
    }
    case 'run': {
      if (!values.jar) throw new CliUsageError('Name the JAR to run: --jar <jarId> (see jars list)');
      const body = {
        jarId: values.jar,
        ...(values['entry-class'] ? { entryClass: values['entry-class'] } : {}),
        ...(values.arg ? { args: values.arg } : {}),
        ...(values.parallelism ? { parallelism: numberOption('parallelism', values.parallelism) } : {}),
        ...(values['restore-from'] ? { restoreFrom: values['restore-from'] } : {}),
        ...(values['allow-non-restored-state'] ? { allowNonRestoredState: true } : {}),
      };
      const submitted = (await call(conn, 'POST', `${cluster(tenant)}/jobs`, body)) as JobSubmittedResponse;
      if (conn.json) return print(out, submitted);
      out.write(`Submitted job ${submitted.jobId}\n`);
      return 0;
    }
    case 'savepoint':
    case 'stop':
    case 'cancel': {
      const jobId = positionals[0];
      if (!jobId) throw new CliUsageError(`Give the job id: jobs ${sub} <jobId> --tenant <name>`);
      const job = `${cluster(tenant)}/jobs/${encodeURIComponent(jobId)}`;
      const action = sub === 'savepoint' ? 'savepoints' : sub;
      const body = sub === 'stop' ? { drain: values.drain } : undefined;
      let operation = (await call(conn, 'POST', `${job}/${action}`, body)) as JobOperationResponse;
      if (values.wait) {
        const seconds = values.timeout ? numberOption('timeout', values.timeout) : DEFAULT_WAIT_SECONDS;
        operation = await waitFor(conn, `${job}/operations/${encodeURIComponent(operation.operationId)}`, seconds);
      }
      if (conn.json) print(out, operation);
      else out.write(`${describeOperation(operation)}\n`);
      return operation.status === 'FAILED' ? 1 : 0;
    }
    default:
      throw new CliUsageError(
        'Use: jobs list | jobs run --jar <jarId> | jobs savepoint|stop|cancel <jobId> [--wait], each with --tenant',
      );
  }
}

/** Polls the operation until it is no longer IN_PROGRESS; still in progress after `seconds` is an error (exit 1). */
async function waitFor(conn: Connection, path: string, seconds: number): Promise<JobOperationResponse> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const operation = (await call(conn, 'GET', path)) as JobOperationResponse;
    if (operation.status !== 'IN_PROGRESS') return operation;
    if (Date.now() >= deadline) {
      throw new CliWaitTimeout(`${operation.kind} ${operation.operationId} is still IN_PROGRESS after ${seconds} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `--wait` gave up: the operation goes on, the CLI stops watching it (exit 1). */
export class CliWaitTimeout extends Error {}

function describeOperation(operation: JobOperationResponse): string {
  const head = `${operation.kind} of job ${operation.jobId}: ${operation.status} (operation ${operation.operationId})`;
  if (operation.savepointPath) return `${head}\nSavepoint: ${operation.savepointPath}`;
  if (operation.failure) return `${head}\n${operation.failure}`;
  return head;
}

/** POST …/jars with the file as the body, streamed: the API stores it without holding it whole. */
async function streamedUpload(conn: Connection, tenant: string, file: string, name: string): Promise<JarResponse> {
  const bytes = fileSize(file);
  const url = `${conn.url}${cluster(tenant)}/jars?name=${encodeURIComponent(name)}`;
  const answer = await sendFile('POST', url, file, bytes, {
    authorization: `Bearer ${conn.token}`,
    'content-type': 'application/java-archive',
  });
  const parsed = answer.text ? (JSON.parse(answer.text) as unknown) : undefined;
  if (answer.status >= 400) throw new ApiCallError(answer.status, (parsed ?? {}) as ApiCallError['body']);
  return parsed as JarResponse;
}

/** The AWS path (API Gateway takes at most 10 MB): a presigned PUT straight to the bucket, then complete it. */
async function presignedUpload(conn: Connection, tenant: string, file: string, name: string): Promise<JarResponse> {
  const bytes = fileSize(file);
  const upload = (await call(conn, 'POST', `${cluster(tenant)}/jar-uploads`, { name, bytes })) as JarUploadResponse;
  const put = await sendFile(upload.method, upload.url, file, bytes, upload.headers);
  if (put.status >= 300) {
    throw new CliUsageError(`The bucket refused the upload (HTTP ${put.status}): ${put.text.slice(0, 500)}`);
  }
  return (await call(
    conn,
    'POST',
    `${cluster(tenant)}/jar-uploads/${encodeURIComponent(upload.uploadId)}/complete`,
  )) as JarResponse;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch (error) {
    throw new CliUsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Sends a file as a request body with its length (node:http, since fetch will not stream with a length). */
function sendFile(
  method: string,
  url: string,
  file: string,
  bytes: number,
  headers: Readonly<Record<string, string>>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const outgoing = send(url, { method, headers: { ...headers, 'content-length': String(bytes) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    // A refusal (another tenant, a bad name) may come, and the connection close, before the whole file is sent.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    createReadStream(file).on('error', reject).pipe(outgoing);
  });
}
