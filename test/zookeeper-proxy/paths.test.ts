import { describe, expect, it } from 'vitest';
import {
  addChroot,
  assertValidChroot,
  createPathProblem,
  isValidPath,
  matchChroot,
  pathProblem,
  stripChroot,
} from '../../zookeeper-proxy/paths.ts';

const CHROOT = '/flinkplane/tenants/a';

describe('pathProblem (PathUtils.validatePath)', () => {
  it.each(['/', '/flink', '/flink/cluster-1/leader/latch', '/a.b', '/.hidden', '/a/...', '/über'])(
    'accepts %j',
    (path) => {
      expect(pathProblem(path)).toBeUndefined();
    },
  );

  it.each([
    ['', /empty/],
    ['flink', /start with/],
    ['/flink/', /ends with/],
    ['//flink', /empty segment/],
    ['/flink//leader', /empty segment/],
    ['/.', /relative/],
    ['/..', /relative/],
    ['/flink/./leader', /relative/],
    ['/flink/../other', /relative/],
    ['/flink/..', /relative/],
    ['/fl\u0000ink', /NUL/],
    ['/fl\u0001ink', /U\+0001/],
    ['/fl\u001fink', /U\+001f/],
    ['/fl\u007fink', /U\+007f/],
    ['/fl\u009fink', /U\+009f/],
    ['/fl\ud800ink', /U\+d800/],
    ['/fl\uf8ffink', /U\+f8ff/],
    ['/fl\ufff0ink', /U\+fff0/],
    ['/fl\ufffdink', /U\+fffd/],
    ['/emoji-😀', /U\+d83d/],
  ])('refuses %j', (path, reason) => {
    expect(pathProblem(path)).toMatch(reason);
    expect(isValidPath(path)).toBe(false);
  });

  it('validates a sequential create with the suffix the server appends', () => {
    expect(createPathProblem('/flink/latch-', true)).toBeUndefined();
    expect(createPathProblem('/flink/', true)).toBeUndefined();
    expect(createPathProblem('/flink/', false)).toMatch(/ends with/);
    expect(createPathProblem('/flink/.', true)).toBeUndefined();
    expect(createPathProblem('/flink/..', true)).toBeUndefined();
    expect(createPathProblem('//', true)).toMatch(/empty segment/);
  });
});

describe('chroot mapping', () => {
  it('maps client / to the chroot itself', () => {
    expect(addChroot(CHROOT, '/')).toBe(CHROOT);
  });

  it('prefixes any other client path', () => {
    expect(addChroot(CHROOT, '/flink/leader')).toBe(`${CHROOT}/flink/leader`);
  });

  it('keeps a sequential create on / below the chroot', () => {
    expect(addChroot(CHROOT, '/', true)).toBe(`${CHROOT}/`);
  });

  it('strips the chroot from a path below it', () => {
    expect(stripChroot(CHROOT, `${CHROOT}/flink/leader`)).toBe('/flink/leader');
  });

  it('maps the chroot itself back to /', () => {
    expect(stripChroot(CHROOT, CHROOT)).toBe('/');
  });

  it.each([`${CHROOT}b`, `${CHROOT}b/inner`, '/flinkplane/tenants', '/', '/zookeeper', `${CHROOT.slice(0, -1)}`])(
    'finds %j outside the chroot',
    (path) => {
      expect(stripChroot(CHROOT, path)).toBeUndefined();
      const bytes = Buffer.from(`xx${path}yy`);
      expect(matchChroot(Buffer.from(CHROOT), bytes, 2, bytes.length - 2)).toBe('outside');
    },
  );

  it('matches bytes in place as stripChroot does', () => {
    const bytes = Buffer.from(`xx${CHROOT}/ümlaut${CHROOT}`);
    const chroot = Buffer.from(CHROOT);
    const inside = 2 + Buffer.byteLength(`${CHROOT}/ümlaut`);
    expect(matchChroot(chroot, bytes, 2, inside)).toBe('inside');
    expect(matchChroot(chroot, bytes, inside, bytes.length)).toBe('root');
  });

  it.each(['/', '', 'relative', '/trailing/', '/a/../b'])('refuses %j as a chroot', (chroot) => {
    expect(() => assertValidChroot(chroot)).toThrow(/chroot/);
  });
});
