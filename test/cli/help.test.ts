import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';

/** An address nothing listens on: a command that reached for the API would say it cannot reach it (exit 1). */
const NOWHERE = ['--url', 'http://127.0.0.1:1', '--token', 'unused-token'];

describe('flinkplane <command> --help', () => {
  it.each([
    ['versions', ['--json']],
    ['deploy', ['--tenant', '--tm-instances', '--clean', '--spec', 'merge patch']],
    ['patch', ['--tenant', '--file', '--if-match', 'RFC 7396']],
    ['status', ['--tenant']],
    ['destroy', ['--tenant']],
    ['tenants', ['tenants register', 'tenants list', 'tenants purge', '--confirm']],
    ['jars', ['jars upload', 'jars list', 'jars delete', '--presigned', '--tenant']],
    [
      'jobs',
      ['jobs list', 'jobs run', 'jobs savepoint', 'jobs stop', 'jobs cancel', '--drain', '--wait', '--restore-from'],
    ],
    ['render', ['--tenant', '--out']],
    ['docs', []],
  ])('prints the usage of %s and exits 0, without calling the API', async (command, mentions) => {
    const result = await cli(command, '--help', ...NOWHERE);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(new RegExp(`^Usage: npm run -s flinkplane -- ${command}\\b`));
    for (const mention of mentions) expect(result.out).toContain(mention);
  });

  it('prints the usage of a job subcommand with --help after it, without calling the API', async () => {
    const result = await cli('jobs', 'stop', 'some-job', '--help', ...NOWHERE);
    expect(result.code).toBe(0);
    expect(result.out).toContain('jobs stop <jobId> --tenant <name> [--drain]');
  });

  it('prints the usage of a subcommand of tenants with --help after it', async () => {
    const result = await cli('tenants', 'purge', 'acme', '--help');
    expect(result.code).toBe(0);
    expect(result.out).toContain('tenants purge <name> --confirm <name>');
  });

  it('prints the same usage for help <command> as for <command> --help', async () => {
    const viaHelp = await cli('help', 'deploy');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toBe((await cli('deploy', '--help')).out);
  });

  it('lists every command in the general usage', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    for (const command of [
      'versions',
      'deploy',
      'patch',
      'status',
      'destroy',
      'tenants register',
      'jars upload',
      'jobs run',
      'render',
      'docs',
    ])
      expect(result.out).toContain(`  ${command}`);
  });

  it('still refuses an unknown option with exit 2', async () => {
    const result = await cli('deploy', '--tenant', 'acme', '--no-such-flag', ...NOWHERE);
    expect(result.code).toBe(2);
    expect(result.err).toContain("Unknown option '--no-such-flag'");
  });
});

describe('flinkplane tenants purge', () => {
  it('names its own --confirm flag, not the API parameter, and calls nothing when the confirmation is missing', async () => {
    const result = await cli('tenants', 'purge', 'acme', ...NOWHERE);
    expect(result.code).toBe(2);
    expect(result.err).toBe('Purging deletes every retained resource of acme; confirm with --confirm acme\n');
  });

  it('refuses a confirmation that names another tenant, saying what was given', async () => {
    const result = await cli('tenants', 'purge', 'acme', '--confirm', 'acne', ...NOWHERE);
    expect(result.code).toBe(2);
    expect(result.err).toContain('confirm with --confirm acme (--confirm was "acne")');
    expect(result.err).not.toContain('confirm=');
  });

  it('calls the API once the confirmation matches', async () => {
    const result = await cli('tenants', 'purge', 'acme', '--confirm', 'acme', ...NOWHERE);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^Cannot reach the API/);
  });
});
