/** A request as the router sees it, whichever door it came through (API Gateway, the local server, a test). */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  /** The body as bytes, unread, for a route that streams its body (`request.stream`): a JAR upload. */
  readonly stream?: AsyncIterable<Uint8Array>;
  /** Verified JWT claims, when API Gateway's authorizer already checked the token. */
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly requestId?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** A body sent as it comes (a followed log): the server writes it chunked, and closes it when the client goes. */
  readonly stream?: ResponseStream;
}

/** Chunks of a streamed body; `close` stops the source (the reader went away). */
export interface ResponseStream extends AsyncIterable<Uint8Array> {
  close(): void;
}
