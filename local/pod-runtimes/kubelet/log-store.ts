import { EventEmitter } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { LogOptions } from '../../kube-standin/node/pod-runtime.ts';

/** A line longer than this without a newline is stored in parts (`P`), as the container runtime does. */
const MAX_LINE_BYTES = 16 * 1024;

const epochNanosAtStart = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now as RFC3339Nano (`2026-01-02T03:04:05.123456789Z`), the container runtime's log timestamp. */
export function rfc3339Nano(): string {
  const nanos = epochNanosAtStart + process.hrtime.bigint();
  const seconds = new Date(Number(nanos / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

type Instance = { readonly file: string; fd: number | undefined; size: number; ended: boolean };

/**
 * One container's log on disk in the CRI format (`<RFC3339Nano> <stdout|stderr> <F|P> <text>` per line): the current
 * instance and the previous one (the container before its last restart), each bounded to `maxBytes` plus one
 * rotated file of the same size, as the kubelet's containerLogMaxSize does.
 */
export class ContainerLogStore {
  private readonly events = new EventEmitter();
  private current: Instance | undefined;
  private previous: Instance | undefined;
  private readonly partial = { stdout: '', stderr: '' };
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.events.setMaxListeners(0);
  }

  /** A new container instance starts: the current one becomes the previous, the one before is deleted. */
  begin(): void {
    if (this.current) this.end();
    if (this.previous) removeInstance(this.previous);
    this.previous = this.current;
    const file = join(this.dir, `${this.count++}.log`);
    this.current = { file, fd: openSync(file, 'w', 0o600), size: 0, ended: false };
  }

  append(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (!this.current || this.current.ended) return;
    let text = this.partial[stream] + chunk.toString('utf8');
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      this.write(stream, 'F', text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (Buffer.byteLength(text) > MAX_LINE_BYTES) {
      this.write(stream, 'P', text.slice(0, MAX_LINE_BYTES));
      text = text.slice(MAX_LINE_BYTES);
    }
    this.partial[stream] = text;
  }

  /** The instance's process exited: what is left of a line is written, followers see the end. */
  end(): void {
    const instance = this.current;
    if (!instance || instance.ended) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.write(stream, 'F', this.partial[stream]);
      this.partial[stream] = '';
    }
    instance.ended = true;
    if (instance.fd !== undefined) closeSync(instance.fd);
    instance.fd = undefined;
    this.events.emit('end', instance);
  }

  /** The last `lines` lines of the current instance, at most `maxBytes` of their end: a termination message. */
  tail(lines: number, maxBytes: number): string {
    if (!this.current) return '';
    const text = readInstance(this.current)
      .slice(-lines)
      .map((line) => line.text)
      .join('\n');
    const bytes = Buffer.from(text, 'utf8');
    return bytes.length > maxBytes ? bytes.subarray(bytes.length - maxBytes).toString('utf8') : text;
  }

  /** `kubectl logs` over the stored lines; undefined when the asked-for instance does not exist. */
  read(options: LogOptions): Readable | undefined {
    const instance = options.previous ? this.previous : this.current;
    if (!instance) return undefined;
    const since = options.sinceSeconds ? Date.now() - options.sinceSeconds * 1000 : undefined;
    let lines = readInstance(instance).filter((line) => since === undefined || Date.parse(line.time) >= since);
    if (options.tailLines !== undefined) lines = options.tailLines > 0 ? lines.slice(-options.tailLines) : [];
    const format = (line: StoredLine) =>
      `${options.timestamps ? `${line.time} ` : ''}${line.text}${line.partial ? '' : '\n'}`;
    let budget = options.limitBytes ?? Number.POSITIVE_INFINITY;
    const take = (text: string): string | undefined => {
      if (budget <= 0) return undefined;
      const bytes = Buffer.from(text, 'utf8');
      const out = bytes.length > budget ? bytes.subarray(0, budget).toString('utf8') : text;
      budget -= bytes.length;
      return out;
    };
    const head = lines.map(format).join('');
    const stream = new Readable({ read() {} });
    const first = take(head);
    if (first) stream.push(first);
    if (!options.follow || instance.ended || budget <= 0) {
      stream.push(null);
      return stream;
    }
    const onLine = (from: Instance, line: StoredLine) => {
      if (from !== instance) return;
      const text = take(format(line));
      if (text) stream.push(text);
      if (budget <= 0) finish();
    };
    const onEnd = (from: Instance) => {
      if (from === instance) finish();
    };
    const finish = () => {
      this.events.off('line', onLine);
      this.events.off('end', onEnd);
      if (!stream.destroyed) stream.push(null);
    };
    this.events.on('line', onLine);
    this.events.on('end', onEnd);
    stream.once('close', finish);
    return stream;
  }

  /** Deletes the files (the pod is gone). */
  remove(): void {
    this.end();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private write(stream: 'stdout' | 'stderr', tag: 'F' | 'P', text: string): void {
    const instance = this.current!;
    const line: StoredLine = { time: rfc3339Nano(), stream, partial: tag === 'P', text };
    const bytes = Buffer.from(`${line.time} ${stream} ${tag} ${text}\n`, 'utf8');
    if (instance.size + bytes.length > this.maxBytes && instance.size > 0) {
      closeSync(instance.fd!);
      renameSync(instance.file, `${instance.file}.1`);
      instance.fd = openSync(instance.file, 'w', 0o600);
      instance.size = 0;
    }
    writeSync(instance.fd!, bytes);
    instance.size += bytes.length;
    this.events.emit('line', instance, line);
  }
}

type StoredLine = { time: string; stream: string; partial: boolean; text: string };

function readInstance(instance: Instance): StoredLine[] {
  const text = [`${instance.file}.1`, instance.file]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('');
  const lines: StoredLine[] = [];
  for (const raw of text.split('\n')) {
    const match = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(raw);
    if (match) lines.push({ time: match[1]!, stream: match[2]!, partial: match[3] === 'P', text: match[4]! });
  }
  return lines;
}

function removeInstance(instance: Instance): void {
  rmSync(instance.file, { force: true });
  rmSync(`${instance.file}.1`, { force: true });
}
