import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { FrameReader, JuteReader } from '../../../zookeeper-proxy/jute.ts';

/** What the tap saw the proxy send to ZooKeeper. */
export type TapRecord = {
  /** Connections the proxy opened to ZooKeeper through the tap. */
  connections: number;
  /** Every path found in every request, in order. */
  paths: string[];
  /** Opcodes of the requests, in order. */
  opcodes: number[];
  /** Whether each handshake carried the trailing readOnly byte. */
  handshakes: Array<{ readOnlyByte: boolean }>;
  /** Requests this decoder could not take apart: each one is a failure, as its paths went unchecked. */
  undecodable: Array<{ op: number; error: string }>;
};

export type UpstreamTap = TapRecord & {
  host: string;
  port: number;
  close(): Promise<void>;
};

/**
 * A TCP tap between the proxy and ZooKeeper that decodes every request with its own small decoder (not the proxy's
 * codec, so a codec bug cannot hide itself) and records every path the proxy sent upstream.
 */
export async function startUpstreamTap(upstream: { host: string; port: number }): Promise<UpstreamTap> {
  const record: TapRecord = { connections: 0, paths: [], opcodes: [], handshakes: [], undecodable: [] };
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const up = connect(upstream);
    record.connections++;
    sockets.add(downstream).add(up);
    const reader = new FrameReader(0x7fffffff);
    let first = true;
    downstream.on('data', (chunk: Buffer) => {
      up.write(chunk);
      // Whatever the proxy sends must decode; a frame this tap cannot split is recorded as a failure.
      try {
        pushFrames(chunk);
      } catch (error) {
        record.undecodable.push({ op: Number.NaN, error: error instanceof Error ? error.message : String(error) });
      }
    });
    const pushFrames = (chunk: Buffer) =>
      reader.push(chunk, (buffer, start, end) => {
        const payload = buffer.subarray(start, end);
        if (first) {
          first = false;
          const handshake = new JuteReader(payload);
          handshake.skip(24);
          handshake.readBuffer();
          record.handshakes.push({ readOnlyByte: handshake.remaining() === 1 });
        } else {
          decodeRequest(payload, record);
        }
        return true;
      });
    up.on('data', (chunk: Buffer) => downstream.write(chunk));
    const close = () => {
      downstream.destroy();
      up.destroy();
      sockets.delete(downstream);
      sockets.delete(up);
    };
    for (const socket of [downstream, up]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(record, {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

function decodeRequest(payload: Buffer, record: TapRecord): void {
  const reader = new JuteReader(payload);
  reader.readInt();
  const op = reader.readInt();
  record.opcodes.push(op);
  const path = () => record.paths.push(reader.readUString() ?? '<null>');
  const acl = () => {
    const count = reader.readInt();
    for (let i = 0; i < count; i++) {
      reader.readInt();
      reader.readUString();
      reader.readUString();
    }
  };
  const body = (type: number): void => {
    switch (type) {
      case 1:
      case 15:
      case 19:
      case 21:
        path();
        reader.readBuffer();
        acl();
        reader.readInt();
        if (type === 21) reader.readLong();
        return;
      case 2:
      case 13:
      case 17:
      case 18:
      case 106:
        path();
        reader.readInt();
        return;
      case 3:
      case 4:
      case 8:
      case 12:
        path();
        reader.readBool();
        return;
      case 5:
        path();
        reader.readBuffer();
        reader.readInt();
        return;
      case 6:
      case 9:
      case 103:
      case 104:
        path();
        return;
      case 7:
        path();
        acl();
        reader.readInt();
        return;
      case 14:
      case 22:
        for (;;) {
          const subType = reader.readInt();
          const done = reader.readBool();
          reader.readInt();
          if (done) return;
          body(subType);
        }
      case 101:
      case 105:
        reader.readLong();
        for (let list = op === 101 ? 3 : 5; list > 0; list--) {
          const count = reader.readInt();
          for (let i = 0; i < count; i++) path();
        }
        return;
      case 11:
      case 107:
      case -11:
        return;
      case 100:
        reader.readInt();
        reader.readUString();
        reader.readBuffer();
        return;
      default:
        throw new Error(`opcode ${type}`);
    }
  };
  try {
    body(op);
    reader.expectEnd();
  } catch (error) {
    record.undecodable.push({ op, error: error instanceof Error ? error.message : String(error) });
  }
}
