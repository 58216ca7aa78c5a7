import { describe, expect, it } from 'vitest';
import { tenantNames } from '../../functions/core/naming.ts';
import { parsePlatformSettings } from '../../functions/core/platform.ts';
import { safeReturnPath } from '../../local/ingress/ingress.ts';
import { vhostOf } from '../../local/ingress/routes.ts';
import { CODE_TTL_MS, SESSION_TTL_MS, UiSessions } from '../../local/ingress/ui-sessions.ts';

const acme = { kind: 'tenant', tenant: 'acme' } as const;

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('sign-in codes and vhost sessions', () => {
  it('redeems a code once, for its tenant, into a session of that tenant only', () => {
    const sessions = new UiSessions();
    const { code } = sessions.mintCode(acme, 'acme');
    const redeemed = sessions.redeem(code, 'acme');
    if (redeemed.kind !== 'session') throw new Error(`expected a session, got ${redeemed.kind}`);
    expect(sessions.principal(redeemed.id, 'acme')).toEqual(acme);
    expect(sessions.principal(redeemed.id, 'beta')).toBeUndefined();
    expect(sessions.redeem(code, 'acme').kind).toBe('invalid');
  });

  it("spends a code presented at another tenant's vhost", () => {
    const sessions = new UiSessions();
    const { code } = sessions.mintCode(acme, 'acme');
    expect(sessions.redeem(code, 'beta').kind).toBe('other-tenant');
    expect(sessions.redeem(code, 'acme').kind).toBe('invalid');
  });

  it('refuses a code after a minute and a session after its lifetime', () => {
    const time = clock();
    const sessions = new UiSessions(time.now);
    const late = sessions.mintCode(acme, 'acme').code;
    time.advance(CODE_TTL_MS);
    expect(sessions.redeem(late, 'acme').kind).toBe('invalid');

    const redeemed = sessions.redeem(sessions.mintCode(acme, 'acme').code, 'acme');
    if (redeemed.kind !== 'session') throw new Error('expected a session');
    time.advance(SESSION_TTL_MS - 1);
    expect(sessions.principal(redeemed.id, 'acme')).toEqual(acme);
    time.advance(1);
    expect(sessions.principal(redeemed.id, 'acme')).toBeUndefined();
  });

  it('ends a session on sign-out', () => {
    const sessions = new UiSessions();
    const redeemed = sessions.redeem(sessions.mintCode(acme, 'acme').code, 'acme');
    if (redeemed.kind !== 'session') throw new Error('expected a session');
    sessions.end(redeemed.id);
    expect(sessions.principal(redeemed.id, 'acme')).toBeUndefined();
  });
});

describe('vhost names and return paths', () => {
  it('reads the tenant from a vhost Host header, port and case aside', () => {
    expect(vhostOf('Flink-Cluster-UI-acme.flink.localhost:8080', 'flink.localhost')).toEqual({
      host: 'flink-cluster-ui-acme.flink.localhost',
      tenant: 'acme',
    });
    expect(vhostOf('127.0.0.1:8080', 'flink.localhost')).toBeUndefined();
    expect(vhostOf('flink.localhost', 'flink.localhost')).toBeUndefined();
    expect(vhostOf('grafana.flink.localhost', 'flink.localhost')).toBeNull();
    expect(vhostOf('flink-cluster-ui-a.b.flink.localhost', 'flink.localhost')).toBeNull();
    expect(vhostOf('flink-cluster-ui-Bad_Name.flink.localhost', 'flink.localhost')).toBeNull();
  });

  it('keeps a return path on the vhost and refuses one that leaves it', () => {
    expect(safeReturnPath('/#/job/running?x=1')).toBe('/#/job/running?x=1');
    for (const unsafe of ['//evil.example', '/\\evil.example', 'https://evil.example', 'evil', '/a\nb', '']) {
      expect(safeReturnPath(unsafe)).toBeUndefined();
    }
  });

  it('builds the UI URL as https without a port by default, and with the local scheme and port when set', () => {
    expect(tenantNames('acme', parsePlatformSettings()).uiUrl).toBe('https://flink-cluster-ui-acme.flink.localhost');
    const local = parsePlatformSettings({ ui: { scheme: 'http', port: 8080 } });
    expect(tenantNames('acme', local).uiUrl).toBe('http://flink-cluster-ui-acme.flink.localhost:8080');
  });
});
