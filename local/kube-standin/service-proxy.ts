import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isRecord } from './objects.ts';
import { resourceDef } from './resources.ts';
import { resolveServiceEndpoints } from './service-endpoints.ts';
import { notFound, serviceUnavailable } from './status.ts';
import type { ObjectStore } from './store.ts';

const SERVICES = resourceDef('', 'services');
/** Hop-by-hop headers and credentials meant for the API server, which a proxy does not pass on. */
const DROPPED_HEADERS = new Set([
  'authorization',
  'connection',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * `…/services/{[scheme:]name[:port]}/proxy/{path}`: forwards the request to one ready Pod behind the Service port
 * (round robin over `resolveServiceEndpoints`) and streams the answer back, as the API server's service proxy does.
 * `podsReachable` is false for a runtime whose Pod IPs nothing listens on (the simulated one): the proxy then answers
 * 503 instead of dialling an address outside this machine.
 */
export class ServiceProxy {
  private next = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly podsReachable: () => boolean,
  ) {}

  /** Answers the HTTP status sent. */
  async forward(
    namespace: string,
    target: string,
    path: string,
    search: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<number> {
    const parts = target.split(':');
    const [scheme, name, port] =
      parts.length === 3 ? parts : parts.length === 2 ? ['', parts[0], parts[1]] : ['', parts[0], ''];
    const service = this.store.get(SERVICES, namespace, name!);
    if (!service) throw notFound(SERVICES, name!);
    const ports =
      isRecord(service.spec) && Array.isArray(service.spec.ports) ? service.spec.ports.filter(isRecord) : [];
    if (port && !ports.some((p) => String(p.port) === port || p.name === port)) {
      throw serviceUnavailable(`no service port "${port}" found for service "${name}"`);
    }
    const endpoints = resolveServiceEndpoints(this.store, namespace, name!, port || undefined);
    if (endpoints.length === 0) throw serviceUnavailable(`no endpoints available for service "${name}"`);
    const endpoint = endpoints[this.next++ % endpoints.length]!;
    if (!this.podsReachable()) {
      throw serviceUnavailable(
        `error trying to reach service: pod ${endpoint.pod} (${endpoint.ip}:${endpoint.port}) runs in the simulated pod runtime, where nothing listens`,
      );
    }
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined && !DROPPED_HEADERS.has(key)) headers[key] = value;
    }
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
    const send = scheme === 'https' ? httpsRequest : httpRequest;
    return new Promise<number>((resolve, reject) => {
      const upstream = send(
        {
          host: endpoint.ip,
          port: endpoint.port,
          method: req.method,
          path: `${path.startsWith('/') ? path : `/${path}`}${search}`,
          headers,
          ...(scheme === 'https' ? { rejectUnauthorized: false } : {}),
        },
        (answer) => {
          const out: Record<string, string | string[]> = {};
          for (const [key, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !DROPPED_HEADERS.has(key)) out[key] = value;
          }
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
          answer.on('end', () => resolve(answer.statusCode ?? 502));
          answer.on('error', () => {
            res.destroy();
            resolve(0);
          });
        },
      );
      upstream.setTimeout(30_000, () => upstream.destroy(new Error('i/o timeout')));
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (res.headersSent) {
          res.destroy();
          resolve(0);
          return;
        }
        const why = error.code === 'ECONNREFUSED' ? 'connect: connection refused' : error.message;
        reject(serviceUnavailable(`error trying to reach service: dial tcp ${endpoint.ip}:${endpoint.port}: ${why}`));
      });
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
  }
}
