import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/net.ts';
import { digestAclId, OpCode } from '../../zookeeper-proxy/codec.ts';
import { FrameReader, JuteReader, JuteWriter } from '../../zookeeper-proxy/jute.ts';
import { parseCommandLine, UsageError } from '../../zookeeper-proxy/main.ts';
import { type ProxyLogRecord, startZooKeeperProxy, type ZooKeeperProxyOptions } from '../../zookeeper-proxy/proxy.ts';
import { OPEN_ACL, RawZooKeeperClient, writeCreate } from '../../zookeeper-proxy/raw-client.ts';
import { type Environment, startEnvironment, type Tenant } from './support/environment.ts';
import { connectRequestFrame, exchange } from './support/raw-socket.ts';

// The proxy's connection handling against a real ZooKeeper 3.8: pipelining, failover, limits, timeouts, metrics, CLI.
describe('tenant proxy connection handling', () => {
  let env: Environment;
  let tenant: Tenant;
  const started: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    env = await startEnvironment(['a']);
    tenant = env.tenants.a!;
  });

  afterAll(async () => {
    for (const proxy of started) await proxy.close();
    await env?.stop();
  });

  /** A proxy for tenant a with some options changed; its log records land in `logs`. */
  async function proxyWith(options: Partial<ZooKeeperProxyOptions>, logs: ProxyLogRecord[] = []) {
    const proxy = await startZooKeeperProxy({
      upstreams: [{ host: env.zk.host, port: env.zk.port }],
      chroot: tenant.chroot,
      auth: { user: tenant.user, password: tenant.password },
      logger: (record) => logs.push(record),
      ...options,
    });
    started.push(proxy);
    return proxy;
  }

  it('answers frames pipelined before the ConnectResponse, in order', async () => {
    const frames = Buffer.concat([
      connectRequestFrame(),
      new JuteWriter()
        .writeInt(-4)
        .writeInt(OpCode.auth)
        .writeInt(0)
        .writeUString('digest')
        .writeBuffer(Buffer.from('x:y'))
        .toFrame(),
      new JuteWriter()
        .writeInt(-8)
        .writeInt(OpCode.setWatches)
        .writeLong(0n)
        .writeInt(1)
        .writeUString('/')
        .writeInt(0)
        .writeInt(0)
        .toFrame(),
      new JuteWriter().writeInt(1).writeInt(OpCode.getData).writeUString('/').writeBool(false).toFrame(),
      writeCreate(new JuteWriter().writeInt(2).writeInt(OpCode.create), '/pipelined', null, OPEN_ACL, 0).toFrame(),
    ]);
    const { data } = await exchange(tenant.proxy.address, frames, 1500);
    const replies: JuteReader[] = [];
    new FrameReader().push(data, (buffer, start, end) => replies.push(new JuteReader(buffer, start, end)) > 0);
    replies.shift();
    const headers = replies.map((reply) => ({ xid: reply.readInt(), zxid: reply.readLong(), err: reply.readInt() }));
    // The re-set data watch on / fires at once (the node changed after zxid 0), before setWatches is answered.
    expect(headers.map(({ xid, err }) => [xid, err])).toEqual([
      [-4, 0],
      [-1, 0],
      [-8, 0],
      [1, 0],
      [2, 0],
    ]);
    const event = replies[1]!;
    expect({ type: event.readInt(), state: event.readInt(), path: event.readUString() }).toEqual({
      type: 3,
      state: 3,
      path: '/',
    });
    expect(replies[4]!.readUString()).toBe('/pipelined');
  });

  it('answers a ping sent under an ordinary xid as ZooKeeper does, under xid -2', async () => {
    const client = await RawZooKeeperClient.connect(tenant.proxy.address, { ping: false });
    client.writeRaw(new JuteWriter().writeInt(77).writeInt(OpCode.ping).toFrame());
    expect(await client.getChildren('/')).toEqual(expect.any(Array));
    expect(client.closed).toBe(false);
    client.destroy();
  });

  it('fails over to the next upstream when the first refuses connections', async () => {
    const deadPort = await freePort();
    const proxy = await proxyWith({
      upstreams: [
        { host: '127.0.0.1', port: deadPort },
        { host: env.zk.host, port: env.zk.port },
      ],
    });
    for (let i = 0; i < 2; i++) {
      const client = await RawZooKeeperClient.connect(proxy.address);
      expect(await client.getChildren('/')).toEqual(expect.any(Array));
      client.destroy();
    }
    expect(proxy.stats().upstreamConnectFailures).toBeGreaterThanOrEqual(1);
  });

  it('fails over when an upstream accepts and then drops the handshake', async () => {
    const dropper: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const proxy = await proxyWith({
      upstreams: [
        { host: '127.0.0.1', port: (dropper.address() as AddressInfo).port },
        { host: env.zk.host, port: env.zk.port },
      ],
    });
    const client = await RawZooKeeperClient.connect(proxy.address);
    expect(await client.getChildren('/')).toEqual(expect.any(Array));
    client.destroy();
    dropper.close();
  });

  it('closes the client when no upstream is reachable', async () => {
    const proxy = await proxyWith({ upstreams: [{ host: '127.0.0.1', port: await freePort() }] });
    const { closed, data } = await exchange(proxy.address, connectRequestFrame());
    expect({ closed, bytes: data.length }).toEqual({ closed: true, bytes: 0 });
    expect(proxy.stats().refusalsByReason.upstream_unavailable).toBe(1);
  });

  it('refuses connections over the limit', async () => {
    const proxy = await proxyWith({ maxConnections: 2 });
    const clients = await Promise.all([
      RawZooKeeperClient.connect(proxy.address),
      RawZooKeeperClient.connect(proxy.address),
    ]);
    await expect(RawZooKeeperClient.connect(proxy.address)).rejects.toThrow();
    expect(proxy.stats().refusalsByReason.max_connections).toBe(1);
    for (const client of clients) client.destroy();
  });

  it('closes clients that go silent', async () => {
    // Pings every 4000/3 ms stay under the limit even with the sweeper's one-second clock.
    const proxy = await proxyWith({ idleTimeoutMs: 3000 });
    const quiet = await RawZooKeeperClient.connect(proxy.address, { ping: false });
    const pinging = await RawZooKeeperClient.connect(proxy.address, { sessionTimeoutMs: 4000 });
    await quiet.whenClosed();
    expect(pinging.closed).toBe(false);
    expect(proxy.stats().refusalsByReason.idle_timeout).toBe(1);
    pinging.destroy();
  });

  it('closes a connection that never completes its handshake', async () => {
    const proxy = await proxyWith({ handshakeTimeoutMs: 300 });
    const { closed } = await exchange(proxy.address, Buffer.alloc(0), 5000);
    expect(closed).toBe(true);
  });

  it('forwards the answer to an expired session and closes', async () => {
    const expired = new JuteWriter()
      .writeInt(0)
      .writeLong(0n)
      .writeInt(10_000)
      .writeLong(0x7777n)
      .writeBuffer(Buffer.alloc(16));
    const { data, closed } = await exchange(tenant.proxy.address, expired.writeBool(false).toFrame());
    const response = new JuteReader(data, 4);
    expect({ closed, protocolVersion: response.readInt(), timeOut: response.readInt() }).toEqual({
      closed: true,
      protocolVersion: 0,
      timeOut: 0,
    });
  });

  it('reports connections, requests, refusals and bytes as Prometheus text', async () => {
    const proxy = await proxyWith({ metricsLabels: { tenant: 'a' } });
    const client = await RawZooKeeperClient.connect(proxy.address);
    await client.getChildren('/');
    await client.request(OpCode.getData, (w) => w.writeUString('/..').writeBool(false));
    const text = proxy.metrics();
    expect(text).toContain('zk_proxy_connections{tenant="a"} 1\n');
    expect(text).toContain('zk_proxy_requests_total{tenant="a",op="getChildren"} 1\n');
    expect(text).toContain('zk_proxy_refusals_total{tenant="a",reason="invalid_path"} 1\n');
    expect(text).toMatch(/^zk_proxy_client_received_bytes_total\{tenant="a"\} [1-9]\d*$/m);
    expect(text).toMatch(/^zk_proxy_upstream_sent_bytes_total\{tenant="a"\} [1-9]\d*$/m);
    client.destroy();
  });

  it('logs no paths, payloads or credentials', async () => {
    const logs: ProxyLogRecord[] = [];
    const proxy = await proxyWith({}, logs);
    const client = await RawZooKeeperClient.connect(proxy.address);
    await client.create('/secret-name', Buffer.from('secret-data'));
    await client.request(OpCode.getData, (w) => w.writeUString('/../secret-escape').writeBool(false));
    await client.auth('digest', 'someone:secret-password');
    client.destroy();
    await proxy.close();
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(2);
    for (const secret of ['secret', tenant.password]) expect(text).not.toContain(secret);
  });

  it('lets its clients close their sessions while it stops, so their ephemeral nodes go at once', async () => {
    const proxy = await proxyWith({});
    const stopping = await RawZooKeeperClient.connect(proxy.address);
    const watcher = await RawZooKeeperClient.connect(proxy.address);
    await stopping.create('/leader', null, 1);
    const closing = proxy.close({ drainMs: 10_000 });
    await expect(RawZooKeeperClient.connect(proxy.address)).rejects.toThrow();
    expect(await watcher.getChildren('/')).toContain('leader');
    await stopping.close();
    await watcher.close();
    const started = Date.now();
    await closing;
    expect(Date.now() - started).toBeLessThan(5_000);
    const direct = await RawZooKeeperClient.connect({ host: env.zk.host, port: env.zk.port });
    await direct.auth('digest', `${tenant.user}:${tenant.password}`);
    expect(await direct.getChildren(tenant.chroot)).not.toContain('leader');
    await direct.close();
  });

  it('stops listening and closes its connections on close()', async () => {
    const proxy = await proxyWith({});
    const client = await RawZooKeeperClient.connect(proxy.address);
    await proxy.close();
    await client.whenClosed();
    await expect(RawZooKeeperClient.connect(proxy.address)).rejects.toThrow();
  });
});

describe('zk-proxy command line', () => {
  it('reads the identity from the environment or a file, never from argv', () => {
    const base = ['--upstream', 'zk-0:2181,zk-1:2181', '--chroot', '/t/a'];
    expect(parseCommandLine(base, { ZK_PROXY_AUTH: 'tenant-a:pw:with:colons' }).proxy.auth).toEqual({
      user: 'tenant-a',
      password: 'pw:with:colons',
    });
    expect(parseCommandLine([...base, '--auth-file', '/run/auth'], {}, () => 'u:p\n').proxy.auth).toEqual({
      user: 'u',
      password: 'p',
    });
    expect(() => parseCommandLine(base, {})).toThrow(/tenant identity is required/);
  });

  it('reports an unknown option without echoing what followed it', () => {
    const attempt = () =>
      parseCommandLine(['--upstream', 'zk:2181', '--chroot', '/t/a', '--password=hunter2'], { ZK_PROXY_AUTH: 'u:p' });
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(/--password/);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('parses limits, upstreams and ACL grants', () => {
    const { proxy, metrics } = parseCommandLine(
      [
        '--listen=0.0.0.0:2181',
        '--upstream=zk-0:2181,zk-1:2182',
        '--chroot=/t/a',
        '--metrics=0.0.0.0:9404',
        '--max-frame-bytes=4096',
        '--idle-timeout-ms=20000',
        '--grant-acl=digest:admin:abc=',
      ],
      { ZK_PROXY_AUTH: 'u:p' },
    );
    expect(proxy).toMatchObject({
      listen: { host: '0.0.0.0', port: 2181 },
      upstreams: [
        { host: 'zk-0', port: 2181 },
        { host: 'zk-1', port: 2182 },
      ],
      maxFrameBytes: 4096,
      idleTimeoutMs: 20000,
      rewriteOpenAcls: true,
      openAclGrants: [{ scheme: 'digest', id: 'admin:abc=' }],
    });
    expect(metrics).toEqual({ host: '0.0.0.0', port: 9404 });
    expect(() =>
      parseCommandLine(['--upstream=zk:2181', '--chroot=/t/a', '--max-connections=0'], { ZK_PROXY_AUTH: 'u:p' }),
    ).toThrow(/positive integer/);
  });

  describe('as a process', () => {
    let env: Environment;
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      env = await startEnvironment(['a']);
    });

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await env?.stop();
    });

    /** Runs `zk-proxy` as its own process and waits until it reports the ports it listens on. */
    async function spawnProxy(args: readonly string[], environment: NodeJS.ProcessEnv = {}) {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'zookeeper-proxy/main.ts',
          '--listen',
          '127.0.0.1:0',
          '--upstream',
          env.zk.connectString,
          ...args,
        ],
        { env: { ...process.env, ...environment }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(child);
      const lines: string[] = [];
      const waitFor = ['listening', 'proxy started', ...(args.includes('--metrics') ? ['metrics listening'] : [])];
      const ports: Record<string, number> = {};
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr! }).on('line', (line) => {
          lines.push(line);
          const record = JSON.parse(line) as { msg: string; port: number };
          if (record.msg === 'listening' || record.msg === 'metrics listening') ports[record.msg] = record.port;
          const seen = new Set(lines.map((seenLine) => (JSON.parse(seenLine) as { msg: string }).msg));
          if (waitFor.every((msg) => seen.has(msg))) resolve();
        });
        child.once('exit', (code) => reject(new Error(`zk-proxy exited with ${code}: ${lines.join('\n')}`)));
      });
      return { child, lines, port: ports.listening!, metricsPort: ports['metrics listening'] };
    }

    it('serves clients and metrics, logs JSON lines and stops on SIGTERM', async () => {
      const tenant = env.tenants.a!;
      const { child, lines, port, metricsPort } = await spawnProxy(
        ['--chroot', tenant.chroot, '--metrics', '127.0.0.1:0'],
        { ZK_PROXY_AUTH: `${tenant.user}:${tenant.password}` },
      );
      const client = await RawZooKeeperClient.connect({ host: '127.0.0.1', port });
      await client.create('/from-cli', null);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toContain('zk_proxy_requests_total{op="create"} 1');
      expect(await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).text()).toBe('ok\n');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      // It drains: the client closes its session through it, and then it exits.
      await client.close();
      expect(await exited).toBe(0);
      expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toContain('stopped');
      expect(lines.join('\n')).not.toContain(tenant.password);
    });

    it('with --no-auth, authenticates to nobody and leaves world ACLs as the client sent them', async () => {
      // A world-open root, as a local development ZooKeeper has; --no-auth has no identity for a tenant root.
      const chroot = '/flinkplane/dev-no-auth';
      await env.admin.create(chroot, null, 0, OPEN_ACL);
      const { lines, port } = await spawnProxy(['--chroot', chroot, '--no-auth']);
      const started = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((r) => r.msg === 'proxy started');
      expect(started).toMatchObject({ authenticated: false, rewriteOpenAcls: false });

      const client = await RawZooKeeperClient.connect({ host: '127.0.0.1', port });
      try {
        await client.create('/created', Buffer.from('x'), 0, OPEN_ACL);
        // READ and ADMIN only, so the setACL below has something to widen.
        await client.create('/reset', null, 0, [{ perms: 17, scheme: 'world', id: 'anyone' }]);
        const reset = await client.request(OpCode.setACL, (w) =>
          w.writeUString('/reset').writeInt(1).writeInt(31).writeUString('world').writeUString('anyone').writeInt(-1),
        );
        expect(reset.err).toBe(0);
      } finally {
        await client.close();
      }
      const world = [{ perms: 31, scheme: 'world', id: 'anyone' }];
      expect(await env.admin.getACL(`${chroot}/created`)).toEqual(world);
      expect(await env.admin.getACL(`${chroot}/reset`)).toEqual(world);

      // The same create through the tenant's authenticated proxy is rewritten to the tenant's identity: the flag is
      // what keeps the ACL open, not the client or the server.
      const tenant = env.tenants.a!;
      const authenticated = await RawZooKeeperClient.connect(tenant.proxy.address);
      try {
        await authenticated.create('/created-with-auth', null, 0, OPEN_ACL);
      } finally {
        await authenticated.close();
      }
      const direct = await RawZooKeeperClient.connect({ host: env.zk.host, port: env.zk.port });
      try {
        await direct.auth('digest', `${tenant.user}:${tenant.password}`);
        expect(await direct.getACL(`${tenant.chroot}/created-with-auth`)).toEqual([
          { perms: 31, scheme: 'digest', id: digestAclId(tenant.user, tenant.password) },
        ]);
      } finally {
        direct.destroy();
      }
    });
  });
});
