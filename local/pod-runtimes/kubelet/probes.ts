import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Socket } from 'node:net';
import { isRecord, type JsonRecord } from '../../kube-standin/objects.ts';

/** A probe of a container spec with the kubelet's defaults filled in. */
export type ProbeSpec = {
  readonly action: ProbeAction;
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
};

type ProbeAction =
  | {
      readonly kind: 'http';
      readonly scheme: 'http' | 'https';
      readonly host?: string;
      readonly port: number;
      readonly path: string;
      readonly headers: Record<string, string>;
    }
  | { readonly kind: 'tcp'; readonly host?: string; readonly port: number }
  | { readonly kind: 'exec'; readonly command: readonly string[] };

export type ProbeResult = { readonly ok: boolean; readonly message: string };

/** Runs an exec probe's command inside the container; the runtime knows how to enter it. */
export type ExecInContainer = (command: readonly string[], timeoutMs: number) => Promise<ProbeResult>;

/**
 * Reads `readinessProbe`, `livenessProbe` or `startupProbe` of a container, resolving a named port through the
 * container's `ports`. Undefined when the container has none; throws when the port name is unknown.
 */
export function parseProbe(container: JsonRecord, field: string): ProbeSpec | undefined {
  const probe = container[field];
  if (!isRecord(probe)) return undefined;
  let action: ProbeAction;
  if (isRecord(probe.httpGet)) {
    const headers: Record<string, string> = {};
    for (const h of Array.isArray(probe.httpGet.httpHeaders) ? probe.httpGet.httpHeaders.filter(isRecord) : [])
      headers[String(h.name)] = String(h.value);
    action = {
      kind: 'http',
      scheme: String(probe.httpGet.scheme ?? 'HTTP').toLowerCase() === 'https' ? 'https' : 'http',
      ...(typeof probe.httpGet.host === 'string' ? { host: probe.httpGet.host } : {}),
      port: resolvePort(container, probe.httpGet.port),
      path: typeof probe.httpGet.path === 'string' ? probe.httpGet.path : '/',
      headers,
    };
  } else if (isRecord(probe.tcpSocket)) {
    action = {
      kind: 'tcp',
      ...(typeof probe.tcpSocket.host === 'string' ? { host: probe.tcpSocket.host } : {}),
      port: resolvePort(container, probe.tcpSocket.port),
    };
  } else if (isRecord(probe.exec) && Array.isArray(probe.exec.command)) {
    action = { kind: 'exec', command: probe.exec.command.map(String) };
  } else {
    throw new Error(`${field} has no httpGet, tcpSocket or exec action the local kubelet supports`);
  }
  const seconds = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback) * 1000;
  return {
    action,
    initialDelayMs: seconds(probe.initialDelaySeconds, 0),
    periodMs: seconds(probe.periodSeconds, 10),
    timeoutMs: seconds(probe.timeoutSeconds, 1),
    successThreshold: typeof probe.successThreshold === 'number' ? probe.successThreshold : 1,
    failureThreshold: typeof probe.failureThreshold === 'number' ? probe.failureThreshold : 3,
  };
}

function resolvePort(container: JsonRecord, port: unknown): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const ports = Array.isArray(container.ports) ? container.ports.filter(isRecord) : [];
  const named = ports.find((p) => p.name === port);
  if (!named || typeof named.containerPort !== 'number')
    throw new Error(`probe port "${String(port)}" names no port of container "${String(container.name)}"`);
  return named.containerPort;
}

/** One probe attempt against the pod's address: an HTTP status 200–399, a TCP connect, or an exit code 0. */
export async function runProbe(spec: ProbeSpec, podIp: string, exec: ExecInContainer): Promise<ProbeResult> {
  const action = spec.action;
  switch (action.kind) {
    case 'http':
      return httpProbe(action, action.host ?? podIp, spec.timeoutMs);
    case 'tcp':
      return tcpProbe(action.host ?? podIp, action.port, spec.timeoutMs);
    case 'exec':
      return exec(action.command, spec.timeoutMs);
  }
}

function httpProbe(
  action: Extract<ProbeAction, { kind: 'http' }>,
  host: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const url = `${action.scheme}://${host}:${action.port}${action.path}`;
  return new Promise((resolve) => {
    const request = (action.scheme === 'https' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'GET',
        headers: { 'User-Agent': 'kube-probe/1.32', Accept: '*/*', ...action.headers },
        timeout: timeoutMs,
        rejectUnauthorized: false,
      },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(
          status >= 200 && status < 400
            ? { ok: true, message: `HTTP ${status}` }
            : { ok: false, message: `HTTP probe failed with statuscode: ${status}` },
        );
      },
    );
    request.on('timeout', () => {
      request.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded)` });
    });
    request.on('error', (error) => resolve({ ok: false, message: `Get "${url}": ${error.message}` }));
    request.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }));
    socket.once('error', (error) => done({ ok: false, message: `dial tcp ${host}:${port}: ${error.message}` }));
    socket.connect(port, host, () => done({ ok: true, message: 'connected' }));
  });
}

/** Runs `file args` with a timeout; exit code 0 is success, the output is the message. */
export function execProbe(file: string, args: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim().slice(0, 500);
      if (!error) resolve({ ok: true, message: output });
      else if (error.killed) resolve({ ok: false, message: `command timed out after ${timeoutMs} ms` });
      else resolve({ ok: false, message: output || error.message });
    });
  });
}
