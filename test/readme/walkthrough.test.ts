import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendants, type NpmStart, startNpm, whenGone } from '../local/npm-start.ts';

const run = promisify(execFile);
const README = new URL('../../README.md', import.meta.url);
/** The address the walk-through is written for; the test's plane listens on a free port instead. */
const WRITTEN_URL = 'http://127.0.0.1:8080';

/** The first `sh` block under the README's "## API" heading: the API walk-through. */
function walkthrough(): string {
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf('\n## API\n'));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README: no ```sh block under "## API"');
  return match[1]!;
}

/**
 * What the walk-through says each curl call answers, in order: `ok`, or `error <code>` where the README shows an
 * error body (`# {"error":{"code":"…"`) right after the command.
 */
function documentedAnswers(block: string): string[] {
  const answers: string[] = [];
  for (const line of block.split('\n')) {
    if (/^\s*#/.test(line)) {
      const shown = /^# \{"error":\{"code":"([a-z_]+)"/.exec(line);
      if (shown && answers.length > 0) answers[answers.length - 1] = `error ${shown[1]}`;
    } else if (/\bcurl\s/.test(line)) {
      answers.push('ok');
    }
  }
  return answers;
}

/**
 * A `curl` that records each call (method and path, status line, body) in `calls/` before it passes the body on, so
 * the README's own pipes into jq run unchanged.
 */
const CURL_RECORDER = `
set -euo pipefail
curl() {
  local n method=GET url='' previous=''
  n=$(( $(cat "$CALLS/count") + 1 ))
  echo "$n" > "$CALLS/count"
  for argument in "$@"; do
    [ "$previous" = -X ] && method=$argument
    case "$argument" in http://*) url=$argument ;; esac
    previous=$argument
  done
  printf '%s %s\\n' "$method" "\${url#"$FP"}" > "$CALLS/$n.request"
  command curl -D "$CALLS/$n.headers" "$@" | tee "$CALLS/$n.body"
}
`;

interface Call {
  readonly request: string;
  readonly answer: string;
}

function recordedCalls(calls: string): Call[] {
  const count = Number(readFileSync(join(calls, 'count'), 'utf8'));
  return Array.from({ length: count }, (_, index) => {
    const n = index + 1;
    const request = readFileSync(join(calls, `${n}.request`), 'utf8').trim();
    const headers = existsSync(join(calls, `${n}.headers`)) ? readFileSync(join(calls, `${n}.headers`), 'utf8') : '';
    const status = Number(/^HTTP\/\S+ (\d{3})/.exec(headers)?.[1] ?? 0);
    if (status >= 200 && status < 400) return { request, answer: 'ok' };
    const body = readFileSync(join(calls, `${n}.body`), 'utf8');
    let code = `status ${status}`;
    try {
      code = (JSON.parse(body) as { error: { code: string } }).error.code;
    } catch {
      // Not the API's error body: the status says what happened.
    }
    return { request, answer: `error ${code}` };
  });
}

// The README's API walk-through, run as written with real curl and jq against `npm start` (simulated pods): every
// call must answer as the README says, which for all but the one error it shows means a 2xx.
describe('README: the API walk-through runs as written', () => {
  let home: string;
  let started: NpmStart;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'flinkplane-walkthrough-'));
    // The walk-through reads the operator token from `.flinkplane/admin-token`, relative to where npm start ran.
    started = await startNpm({ FLINKPLANE_DATA_DIR: join(home, '.flinkplane'), FLINKPLANE_PODS: 'simulated' });
  });

  afterAll(async () => {
    if (started) {
      const tree = descendants(started.npm.pid!);
      started.npm.kill('SIGTERM');
      await whenGone(tree);
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('answers every call as the README shows, from registration to purge', async () => {
    const block = walkthrough();
    expect(block.split(WRITTEN_URL)).toHaveLength(2);
    const calls = join(home, 'calls');
    mkdirSync(calls);
    writeFileSync(join(calls, 'count'), '0');
    const script = `${CURL_RECORDER}\n${block.replace(WRITTEN_URL, started.url)}`;

    const result = await run('bash', ['-c', script], { cwd: home, env: { ...process.env, CALLS: calls } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

    const recorded = recordedCalls(calls);
    const documented = documentedAnswers(block);
    expect(documented.filter((answer) => answer !== 'ok')).toEqual(['error invalid_cluster_spec']);
    expect(
      recorded.map((call) => `${call.request} → ${call.answer}`),
      `the walk-through's output, last lines:\n${result.stdout.slice(-1500)}\n${result.stderr}`,
    ).toEqual(recorded.map((call, index) => `${call.request} → ${documented[index]}`));
    expect(recorded).toHaveLength(documented.length);
    expect(result.code, result.stderr).toBe(0);

    // It ends where it says: the tenant purged.
    const adminToken = readFileSync(join(home, '.flinkplane', 'admin-token'), 'utf8').trim();
    const tenants = (await (
      await fetch(`${started.url}/v1/tenants`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as { items: { name: string }[] };
    expect(tenants.items.map((tenant) => tenant.name)).not.toContain('acme');
  }, 120_000);
});
