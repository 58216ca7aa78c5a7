import { opName, type RefusalReason } from './protocol.ts';

/** Counters of one proxy, as plain numbers. */
export type ProxyStats = {
  connectionsCurrent: number;
  connectionsTotal: number;
  requestsByOp: Record<string, number>;
  refusalsByReason: Partial<Record<RefusalReason, number>>;
  clientBytesReceived: number;
  clientBytesSent: number;
  upstreamBytesReceived: number;
  upstreamBytesSent: number;
  upstreamConnectFailures: number;
};

/** The counters the proxy updates on its hot path; plain fields so counting costs an addition. */
export class ProxyMetrics {
  connectionsCurrent = 0;
  connectionsTotal = 0;
  clientBytesReceived = 0;
  clientBytesSent = 0;
  upstreamBytesReceived = 0;
  upstreamBytesSent = 0;
  upstreamConnectFailures = 0;
  private readonly requests = new Map<number, number>();
  private readonly refusals = new Map<RefusalReason, number>();

  /** `labels` are added to every series, e.g. `{ tenant: 'a' }` when one process runs several proxies. */
  constructor(private readonly labels: Readonly<Record<string, string>> = {}) {}

  /** Counts one decoded client request. */
  request(op: number): void {
    this.requests.set(op, (this.requests.get(op) ?? 0) + 1);
  }

  /** Counts one refusal: an error answer or a closed connection. */
  refusal(reason: RefusalReason): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  /** The counters as plain numbers, requests keyed by opcode name. */
  stats(): ProxyStats {
    const requestsByOp: Record<string, number> = {};
    for (const [op, count] of this.requests) {
      const name = opName(op);
      requestsByOp[name] = (requestsByOp[name] ?? 0) + count;
    }
    return {
      connectionsCurrent: this.connectionsCurrent,
      connectionsTotal: this.connectionsTotal,
      requestsByOp,
      refusalsByReason: Object.fromEntries(this.refusals),
      clientBytesReceived: this.clientBytesReceived,
      clientBytesSent: this.clientBytesSent,
      upstreamBytesReceived: this.upstreamBytesReceived,
      upstreamBytesSent: this.upstreamBytesSent,
      upstreamConnectFailures: this.upstreamConnectFailures,
    };
  }

  /** The Prometheus text exposition (format 0.0.4). */
  render(): string {
    const stats = this.stats();
    const lines: string[] = [];
    const series = (name: string, type: string, help: string, values: Array<[Record<string, string>, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of values) lines.push(`${name}${this.labelText(labels)} ${value}`);
    };
    series('zk_proxy_connections', 'gauge', 'Client connections open now.', [[{}, stats.connectionsCurrent]]);
    series('zk_proxy_connections_total', 'counter', 'Client connections accepted.', [[{}, stats.connectionsTotal]]);
    series(
      'zk_proxy_requests_total',
      'counter',
      'Client requests decoded, by opcode.',
      Object.entries(stats.requestsByOp).map(([op, count]) => [{ op }, count]),
    );
    series(
      'zk_proxy_refusals_total',
      'counter',
      'Requests answered with an error or connections closed by the proxy, by reason.',
      Object.entries(stats.refusalsByReason).map(([reason, count]) => [{ reason }, count ?? 0]),
    );
    series('zk_proxy_client_received_bytes_total', 'counter', 'Bytes read from clients.', [
      [{}, stats.clientBytesReceived],
    ]);
    series('zk_proxy_client_sent_bytes_total', 'counter', 'Bytes written to clients.', [[{}, stats.clientBytesSent]]);
    series('zk_proxy_upstream_received_bytes_total', 'counter', 'Bytes read from ZooKeeper.', [
      [{}, stats.upstreamBytesReceived],
    ]);
    series('zk_proxy_upstream_sent_bytes_total', 'counter', 'Bytes written to ZooKeeper.', [
      [{}, stats.upstreamBytesSent],
    ]);
    series('zk_proxy_upstream_connect_failures_total', 'counter', 'Failed connection attempts to ZooKeeper servers.', [
      [{}, stats.upstreamConnectFailures],
    ]);
    return `${lines.join('\n')}\n`;
  }

  private labelText(labels: Record<string, string>): string {
    const all = { ...this.labels, ...labels };
    const pairs = Object.entries(all).map(([key, value]) => `${key}="${escapeLabel(value)}"`);
    return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
