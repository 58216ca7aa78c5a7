import { connect } from 'node:net';
import { FrameReader, JuteWriter } from '../../../zookeeper-proxy/jute.ts';

/** Sends bytes on a fresh TCP connection and collects the answer until the peer closes or the timeout passes. */
export function exchange(
  address: { host: string; port: number },
  bytes: Buffer,
  timeoutMs = 3000,
): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(address);
    const chunks: Buffer[] = [];
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
  });
}

/** A ConnectRequest frame; `readOnly: null` leaves the trailing byte out. */
export function connectRequestFrame(options: { version?: number; readOnly?: boolean | null } = {}): Buffer {
  const writer = new JuteWriter()
    .writeInt(options.version ?? 0)
    .writeLong(0n)
    .writeInt(10_000)
    .writeLong(0n)
    .writeBuffer(Buffer.alloc(16));
  if (options.readOnly !== null) writer.writeBool(options.readOnly ?? false);
  return writer.toFrame();
}

/** Writes `bytes` one byte per event-loop turn and resolves with the first `frames` frames answered (payloads). */
export function dribble(address: { host: string; port: number }, bytes: Buffer, frames: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const payloads: Buffer[] = [];
    const reader = new FrameReader(0x7fffffff);
    const socket = connect(address, async () => {
      socket.setNoDelay(true);
      for (const byte of bytes) {
        if (socket.destroyed) return;
        socket.write(Buffer.from([byte]));
        await new Promise((next) => setImmediate(next));
      }
    });
    socket.on('data', (chunk: Buffer) =>
      reader.push(chunk, (buffer, start, end) => {
        payloads.push(Buffer.from(buffer.subarray(start, end)));
        if (payloads.length < frames) return true;
        socket.destroy();
        resolve(payloads);
        return false;
      }),
    );
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${payloads.length} of ${frames} frames`)));
  });
}
