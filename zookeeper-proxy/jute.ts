/** The default largest frame ZooKeeper accepts (`jute.maxbuffer`). */
export const DEFAULT_MAX_FRAME_BYTES = 0xfffff;

/** A frame or record that does not decode as jute. */
export class JuteError extends Error {
  override name = 'JuteError';
}

/** Reads jute primitives from a buffer, bounds-checked; buffers come back as views, not copies. */
export class JuteReader {
  offset: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
    readonly end = buffer.length,
  ) {
    this.offset = offset;
  }

  /** Bytes left before the end of the record. */
  remaining(): number {
    return this.end - this.offset;
  }

  /** Fails unless every byte was read: a trailing field the proxy does not know could carry a path. */
  expectEnd(): void {
    if (this.offset !== this.end) throw new JuteError(`${this.end - this.offset} trailing bytes`);
  }

  /** Reads a 4-byte big-endian int. */
  readInt(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** Reads an 8-byte big-endian long. */
  readLong(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  /** Reads a boolean; only 0 and 1 are accepted, as every real client writes them. */
  readBool(): boolean {
    this.need(1);
    const value = this.buffer[this.offset]!;
    if (value > 1) throw new JuteError(`boolean byte ${value}`);
    this.offset += 1;
    return value === 1;
  }

  /** Reads a length-prefixed byte buffer; null for length -1. */
  readBuffer(): Buffer | null {
    const length = this.readLength();
    if (length < 0) return null;
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Reads a length-prefixed UTF-8 string; null for length -1. */
  readUString(): string | null {
    const value = this.readBuffer();
    return value === null ? null : value.toString('utf8');
  }

  /** Skips `count` bytes, e.g. a Stat. */
  skip(count: number): void {
    this.need(count);
    this.offset += count;
  }

  /** Reads a vector count (-1 = null); `minElementBytes` bounds it by the bytes left, so a lie cannot spin a loop. */
  readVectorCount(minElementBytes: number): number {
    const count = this.readInt();
    if (count < -1) throw new JuteError(`vector count ${count}`);
    if (count > 0 && count * minElementBytes > this.remaining()) {
      throw new JuteError(`vector of ${count} does not fit in ${this.remaining()} bytes`);
    }
    return count;
  }

  private readLength(): number {
    const length = this.readInt();
    if (length < -1) throw new JuteError(`length ${length}`);
    if (length > this.remaining()) throw new JuteError(`length ${length} exceeds the ${this.remaining()} bytes left`);
    return length;
  }

  private need(count: number): void {
    if (this.offset + count > this.end) throw new JuteError(`needs ${count} bytes, ${this.end - this.offset} left`);
  }
}

/** Writes jute primitives into a growing buffer that keeps 4 bytes in front for the frame length. */
export class JuteWriter {
  private buffer: Buffer;
  private length = 4;

  constructor(initialCapacity = 256) {
    this.buffer = Buffer.allocUnsafe(Math.max(initialCapacity, 16));
  }

  /** Writes a 4-byte big-endian int. */
  writeInt(value: number): this {
    this.reserve(4);
    this.buffer.writeInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  /** Writes an 8-byte big-endian long. */
  writeLong(value: bigint): this {
    this.reserve(8);
    this.buffer.writeBigInt64BE(BigInt.asIntN(64, value), this.length);
    this.length += 8;
    return this;
  }

  /** Writes a boolean as one byte, 0 or 1. */
  writeBool(value: boolean): this {
    this.reserve(1);
    this.buffer[this.length] = value ? 1 : 0;
    this.length += 1;
    return this;
  }

  /** Writes a length-prefixed buffer; null writes length -1. */
  writeBuffer(value: Uint8Array | null): this {
    if (value === null) return this.writeInt(-1);
    this.writeInt(value.length);
    return this.writeBytes(value);
  }

  /** Writes a length-prefixed UTF-8 string; null writes length -1. */
  writeUString(value: string | null): this {
    if (value === null) return this.writeInt(-1);
    return this.writeBuffer(Buffer.from(value, 'utf8'));
  }

  /** Writes raw bytes with no length prefix. */
  writeBytes(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** The record written so far, without a frame length. */
  toBuffer(): Buffer {
    return this.buffer.subarray(4, this.length);
  }

  /** The record written so far as a frame: 4-byte big-endian length, then the record. */
  toFrame(): Buffer {
    this.buffer.writeInt32BE(this.length - 4, 0);
    return this.buffer.subarray(0, this.length);
  }

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + count));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** A frame whose length prefix is negative or over the limit. */
export class FrameLengthError extends Error {
  override name = 'FrameLengthError';

  constructor(readonly length: number) {
    super(`frame length ${length}`);
  }
}

/**
 * Splits a byte stream into frames. A chunk holding whole frames is scanned in place; bytes of a frame split across
 * chunks are copied, so the caller may reuse its read buffer once `push` returns.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private needed = 0;

  /** The largest payload accepted; may change between frames (the handshake frame is held to a smaller limit). */
  constructor(public maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held back waiting for the rest of a frame. */
  pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk and calls `onFrame` with a buffer and the [start, end) bounds of each whole frame's payload in it;
   * the length prefix sits in the 4 bytes before `start`. `onFrame` returns false to stop reading (the stream is
   * being closed). Throws FrameLengthError on a bad length prefix.
   */
  push(chunk: Buffer, onFrame: (buffer: Buffer, start: number, end: number) => boolean): void {
    let data = chunk;
    if (this.buffered > 0) {
      this.buffered += chunk.length;
      if (this.buffered < this.needed) {
        this.chunks.push(Buffer.from(chunk));
        return;
      }
      this.chunks.push(chunk);
      data = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readInt32BE(offset);
      if (length < 0 || length > this.maxFrameBytes) throw new FrameLengthError(length);
      if (data.length - offset - 4 < length) break;
      offset += 4 + length;
      if (!onFrame(data, offset - length, offset)) return;
    }
    if (offset < data.length) {
      const rest = Buffer.from(data.subarray(offset));
      this.chunks.push(rest);
      this.buffered = rest.length;
      this.needed = rest.length >= 4 ? 4 + rest.readInt32BE(0) : 4;
    }
  }
}
