import { PassThrough, type Readable } from 'node:stream';
import type { LogOptions } from './pod-runtime.ts';

/** Lines kept per container run; older ones are dropped (the kubelet rotates container logs too). */
const MAX_LINES = 10_000;

type Line = { time: number; text: string };

/**
 * The log of one run of a container, kept in memory, read as `kubectl logs` reads it: `tailLines`, `sinceSeconds`,
 * `timestamps` (RFC 3339 with nanoseconds, as the kubelet prints them) and `limitBytes` apply; `follow` keeps the
 * stream open and sends new lines until the run ends (`close`) or the reader goes away.
 */
export class ContainerLog {
  private readonly lines: Line[] = [];
  private readonly followers = new Set<{ stream: PassThrough; timestamps: boolean; left: number }>();
  private closed = false;

  /** Appends text, one entry per line; a trailing newline is implied. */
  append(text: string, time = Date.now()): void {
    for (const line of text.replace(/\n$/, '').split('\n')) {
      const entry = { time, text: line };
      this.lines.push(entry);
      for (const follower of this.followers) this.send(follower, entry);
    }
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
  }

  /** The run ended: followers get the end of their stream. */
  close(): void {
    this.closed = true;
    for (const follower of this.followers) follower.stream.end();
    this.followers.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  read(options: LogOptions): Readable {
    const stream = new PassThrough();
    const since = options.sinceSeconds === undefined ? undefined : Date.now() - options.sinceSeconds * 1000;
    let lines = since === undefined ? [...this.lines] : this.lines.filter((l) => l.time >= since);
    if (options.tailLines !== undefined) lines = options.tailLines <= 0 ? [] : lines.slice(-options.tailLines);
    const follower = {
      stream,
      timestamps: options.timestamps ?? false,
      left: options.limitBytes ?? Number.POSITIVE_INFINITY,
    };
    for (const line of lines) this.send(follower, line);
    if (!options.follow || this.closed || follower.left <= 0) {
      stream.end();
      return stream;
    }
    this.followers.add(follower);
    stream.on('close', () => this.followers.delete(follower));
    return stream;
  }

  private send(follower: { stream: PassThrough; timestamps: boolean; left: number }, line: Line): void {
    if (follower.left <= 0 || follower.stream.writableEnded) return;
    const prefix = follower.timestamps ? `${new Date(line.time).toISOString().replace('Z', '000000Z')} ` : '';
    let bytes = Buffer.from(`${prefix}${line.text}\n`);
    if (bytes.length > follower.left) bytes = bytes.subarray(0, follower.left);
    follower.left -= bytes.length;
    follower.stream.write(bytes);
    if (follower.left <= 0) {
      follower.stream.end();
      this.followers.delete(follower);
    }
  }
}
