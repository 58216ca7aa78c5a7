/**
 * The slice of the `ws` package (installed as a dependency of @kubernetes/client-node, which uses it for exec, attach
 * and port-forward) that the stand-in and its tests use. `ws` ships no type declarations, so the part used is typed
 * here, once.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
// @ts-expect-error ws ships no type declarations; the part used here is typed below.
import { WebSocket as WsWebSocket, WebSocketServer as WsWebSocketServer } from 'ws';

/** One WebSocket connection, either end. */
export interface WebSocketConnection {
  readonly readyState: number;
  /** The subprotocol the server selected; '' when none. */
  readonly protocol: string;
  send(data: Buffer, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  /** Stops reading messages (backpressure towards the peer) until `resume`. */
  pause(): void;
  resume(): void;
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'unexpected-response', listener: (request: unknown, response: IncomingMessage) => void): this;
}

export type WebSocketClientOptions = {
  headers?: Record<string, string>;
  /** PEM CA bundle for wss:// to a server with a private certificate. */
  ca?: string;
};

export type WebSocketServerOptions = {
  noServer: true;
  perMessageDeflate?: boolean;
  /** Picks the subprotocol from those the client offered; false selects none. */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
};

export interface WebSocketServerLike {
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (connection: WebSocketConnection) => void,
  ): void;
  close(callback?: () => void): void;
}

/** `WebSocket.OPEN`. */
export const WEBSOCKET_OPEN = 1;

export const WebSocket = WsWebSocket as new (
  url: string,
  protocols?: string[],
  options?: WebSocketClientOptions,
) => WebSocketConnection;

export const WebSocketServer = WsWebSocketServer as new (options: WebSocketServerOptions) => WebSocketServerLike;
