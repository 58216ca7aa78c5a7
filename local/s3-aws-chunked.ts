import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * The `aws-chunked` content encoding, which s3rver does not know: AWS SDKs send object bodies in it when they sign
 * each chunk (the Java SDK v1 under Hadoop S3A, over plain HTTP) or append a checksum trailer (newer SDKs). Every
 * chunk is `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n`; the last has size 0 and is followed by optional
 * trailer lines (`x-amz-checksum-crc32:…`) and an empty line. s3rver would store that framing as the object's bytes.
 */

/** `x-amz-content-sha256` values that announce an `aws-chunked` body. */
const STREAMING_PAYLOAD = /^STREAMING-/;
/** A chunk header longer than this is not a chunk header: the body is not `aws-chunked` after all. */
const MAX_LINE_BYTES = 4096;
const CRLF = Buffer.from('\r\n');

/** True when the request's body is `aws-chunked`. */
export function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const payload = headers['x-amz-content-sha256'];
  return (
    (typeof payload === 'string' && STREAMING_PAYLOAD.test(payload)) ||
    contentEncodings(headers).includes('aws-chunked')
  );
}

/**
 * The request's headers as they are for the same request with a plain body, as S3 itself treats them: the decoded
 * length as `content-length` (or none, so the body goes chunked over HTTP), `aws-chunked` gone from
 * `content-encoding` (S3 does not store it with the object), an unsigned payload, no trailer announcement.
 */
export function plainHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const {
    'content-length': _chunkedLength,
    'x-amz-decoded-content-length': decodedLength,
    'x-amz-trailer': _trailer,
    'content-encoding': _encoding,
    // How the decoded body is framed on the next hop is set below, not by how the chunked one came.
    'transfer-encoding': _framing,
    ...rest
  } = headers;
  const plain: IncomingHttpHeaders = { ...rest, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const encodings = contentEncodings(headers).filter((encoding) => encoding !== 'aws-chunked');
  if (encodings.length > 0) plain['content-encoding'] = encodings.join(',');
  if (typeof decodedLength === 'string') plain['content-length'] = decodedLength;
  else plain['transfer-encoding'] = 'chunked';
  return plain;
}

function contentEncodings(headers: IncomingHttpHeaders): string[] {
  const value = headers['content-encoding'];
  return typeof value === 'string' ? value.split(',').map((encoding) => encoding.trim().toLowerCase()) : [];
}

/** Raised when an `aws-chunked` body is malformed or ends early. */
export class AwsChunkedBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsChunkedBodyError';
  }
}

type DecoderState =
  | { at: 'chunk-header' }
  | { at: 'chunk-data'; remaining: number }
  | { at: 'chunk-end' }
  | { at: 'trailer' }
  | { at: 'done' };

/**
 * Turns an `aws-chunked` body into the object's bytes. Chunk signatures and trailing checksums are dropped unchecked:
 * the local server checks no signatures (s3rver skips Signature V4 entirely) and trusts its own MD5 for the ETag.
 */
export class AwsChunkedDecoder extends Transform {
  private state: DecoderState = { at: 'chunk-header' };
  private pending: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.state.at === 'done' ? null : new AwsChunkedBodyError(`aws-chunked body ended in ${this.state.at}`));
  }

  /** Consumes as much of `pending` as the current state allows. */
  private drain(): void {
    while (this.pending.length > 0 && this.state.at !== 'done') {
      switch (this.state.at) {
        case 'chunk-header': {
          const line = this.takeLine();
          if (line === undefined) return;
          const size = Number.parseInt(line.split(';')[0] ?? '', 16);
          if (!Number.isSafeInteger(size) || size < 0) throw new AwsChunkedBodyError(`bad chunk header '${line}'`);
          this.state = size === 0 ? { at: 'trailer' } : { at: 'chunk-data', remaining: size };
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.state.remaining, this.pending.length);
          this.push(this.pending.subarray(0, take));
          this.pending = this.pending.subarray(take);
          const remaining = this.state.remaining - take;
          this.state = remaining === 0 ? { at: 'chunk-end' } : { at: 'chunk-data', remaining };
          break;
        }
        case 'chunk-end': {
          if (this.pending.length < CRLF.length) return;
          if (!this.pending.subarray(0, CRLF.length).equals(CRLF))
            throw new AwsChunkedBodyError('chunk not ended by CRLF');
          this.pending = this.pending.subarray(CRLF.length);
          this.state = { at: 'chunk-header' };
          break;
        }
        case 'trailer': {
          const line = this.takeLine();
          if (line === undefined) return;
          if (line === '') this.state = { at: 'done' };
          break;
        }
      }
    }
  }

  /** The next CRLF-terminated line of `pending`, consumed; undefined while it is incomplete. */
  private takeLine(): string | undefined {
    const end = this.pending.indexOf(CRLF);
    if (end < 0) {
      if (this.pending.length > MAX_LINE_BYTES) throw new AwsChunkedBodyError('chunk header line too long');
      return undefined;
    }
    const line = this.pending.subarray(0, end).toString('latin1');
    this.pending = this.pending.subarray(end + CRLF.length);
    return line;
  }
}
