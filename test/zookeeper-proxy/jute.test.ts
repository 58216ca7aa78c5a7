import { describe, expect, it } from 'vitest';
import { FrameLengthError, FrameReader, JuteError, JuteReader, JuteWriter } from '../../zookeeper-proxy/jute.ts';

/** The canonical record: every jute primitive once, as a GetDataResponse-like layout. */
function fixture(): JuteWriter {
  return new JuteWriter()
    .writeInt(-7)
    .writeLong(0x0102030405060708n)
    .writeBool(true)
    .writeBuffer(Buffer.from([1, 2, 3]))
    .writeUString('/päth')
    .writeBuffer(null)
    .writeUString(null);
}

describe('JuteReader and JuteWriter', () => {
  it('round-trips every primitive', () => {
    const reader = new JuteReader(fixture().toBuffer());
    expect(reader.readInt()).toBe(-7);
    expect(reader.readLong()).toBe(0x0102030405060708n);
    expect(reader.readBool()).toBe(true);
    expect(reader.readBuffer()).toEqual(Buffer.from([1, 2, 3]));
    expect(reader.readUString()).toBe('/päth');
    expect(reader.readBuffer()).toBeNull();
    expect(reader.readUString()).toBeNull();
    expect(() => reader.expectEnd()).not.toThrow();
  });

  it('writes a frame with a big-endian length prefix', () => {
    const frame = new JuteWriter().writeInt(1).writeInt(2).toFrame();
    expect(frame.toString('hex')).toBe('000000080000000100000002');
  });

  it('grows past its initial capacity', () => {
    const big = Buffer.alloc(10_000, 7);
    const reader = new JuteReader(new JuteWriter(16).writeBuffer(big).toBuffer());
    expect(reader.readBuffer()).toEqual(big);
  });

  it('fails on a record cut short', () => {
    const bytes = fixture().toBuffer();
    const reader = new JuteReader(bytes.subarray(0, bytes.length - 1));
    expect(() => {
      for (;;) reader.readInt();
    }).toThrow(JuteError);
  });

  it('fails on a buffer length beyond the record', () => {
    const reader = new JuteReader(new JuteWriter().writeInt(5).writeBytes(Buffer.from('abcd')).toBuffer());
    expect(() => reader.readBuffer()).toThrow(/exceeds/);
  });

  it('fails on a length below -1', () => {
    const reader = new JuteReader(new JuteWriter().writeInt(-2).toBuffer());
    expect(() => reader.readUString()).toThrow(JuteError);
  });

  it('fails on a boolean byte other than 0 or 1', () => {
    const reader = new JuteReader(Buffer.from([2]));
    expect(() => reader.readBool()).toThrow(JuteError);
  });

  it('fails on a vector count that cannot fit in the bytes left', () => {
    const reader = new JuteReader(new JuteWriter().writeInt(1_000_000).writeInt(0).toBuffer());
    expect(() => reader.readVectorCount(4)).toThrow(/does not fit/);
  });

  it('fails on trailing bytes', () => {
    const reader = new JuteReader(new JuteWriter().writeInt(1).writeBool(false).toBuffer());
    reader.readInt();
    expect(() => reader.expectEnd()).toThrow(/1 trailing/);
  });
});

describe('FrameReader', () => {
  const frames = Buffer.concat([
    new JuteWriter().writeInt(1).toFrame(),
    new JuteWriter().writeUString('two').toFrame(),
    new JuteWriter().toFrame(),
  ]);

  function collect(reader: FrameReader, chunks: Buffer[]): string[] {
    const seen: string[] = [];
    for (const chunk of chunks) {
      reader.push(chunk, (buffer, start, end) => {
        seen.push(buffer.subarray(start, end).toString('hex'));
        return true;
      });
    }
    return seen;
  }

  it('splits a chunk holding several frames', () => {
    expect(collect(new FrameReader(), [frames])).toEqual(['00000001', '0000000374776f', '']);
  });

  it('reassembles frames delivered one byte at a time', () => {
    const bytes = [...frames].map((byte) => Buffer.from([byte]));
    expect(collect(new FrameReader(), bytes)).toEqual(['00000001', '0000000374776f', '']);
  });

  it('holds back a partial frame until it is whole', () => {
    const reader = new FrameReader();
    expect(collect(reader, [frames.subarray(0, 10)])).toEqual(['00000001']);
    expect(reader.pendingBytes()).toBe(2);
  });

  it('refuses a negative length', () => {
    const reader = new FrameReader();
    expect(() => collect(reader, [Buffer.from('ffffffff', 'hex')])).toThrow(FrameLengthError);
  });

  it('refuses a length over the limit', () => {
    const reader = new FrameReader(8);
    expect(() => collect(reader, [Buffer.from('00000009', 'hex')])).toThrow(FrameLengthError);
  });

  it('stops when the handler says so', () => {
    const reader = new FrameReader();
    let calls = 0;
    reader.push(frames, () => {
      calls++;
      return false;
    });
    expect(calls).toBe(1);
  });
});
