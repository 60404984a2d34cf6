/**
 * Just enough of HTTP/1.1 for the bench's generator: one request encoded once as bytes, and a
 * parser of the answers that arrive in chunks of any size (a body by `content-length` or by
 * chunked transfer encoding). Our own rather than undici, for the reason resp.ts is: every
 * request of a run costs the generator CPU on the cores the servers run on, and the anchors' RESP
 * client is this lean. undici's request and response objects, streams and timers cost about
 * twice the CPU per request (68-72 against 35-39 µs at 64 clients against the no-op server).
 */

import { StreamParser, type Parsed } from './stream-parser.js';

const CRLF = '\r\n';
const HEAD_END = '\r\n\r\n';
/** A head this long without its end is not an answer the bench expects. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Bodies are skipped, not kept; this only bounds what one answer may make the parser buffer. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** How much of a body an answer keeps, for the error text of a non-2xx. */
const BODY_START_BYTES = 200;

/** One answer: its status, the start of its body, and whether the server closes after it. */
export interface HttpAnswer {
  readonly status: number;
  readonly bodyStart: string;
  readonly closes: boolean;
}

/** A POST of `body` (JSON) to `path` at `origin`, as the bytes written for every request. */
export function encodePost(origin: URL, path: string, body: string | Uint8Array): Buffer {
  if (origin.protocol !== 'http:') {
    throw new Error(`the generator speaks plain HTTP only; got ${origin.origin}`);
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const head =
    `POST ${path} HTTP/1.1${CRLF}host: ${origin.host}${CRLF}` +
    `content-type: application/json${CRLF}content-length: ${bytes.length}${HEAD_END}`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

/** Answers as they complete; throws on bytes that are not an HTTP/1.x answer it can frame. */
export class HttpResponseParser extends StreamParser<HttpAnswer> {
  constructor() {
    // An interim answer (100 Continue) frames no value: it answers nothing.
    super(parseResponse);
  }
}

/** The answer starting at `offset` and where it ends, or undefined when not all of it arrived. */
function parseResponse(buffer: Buffer, offset: number): Parsed<HttpAnswer> | undefined {
  if (offset >= buffer.length) return undefined;
  const headEnd = buffer.indexOf(HEAD_END, offset, 'latin1');
  if (headEnd < 0) {
    if (buffer.length - offset > MAX_HEAD_BYTES) {
      throw new Error(`an answer's head is over ${MAX_HEAD_BYTES} bytes`);
    }
    return undefined;
  }
  const head = parseHead(buffer.toString('latin1', offset, headEnd));
  const bodyFrom = headEnd + HEAD_END.length;
  if (head.status < 200) return { value: undefined, end: bodyFrom };
  const body =
    head.status === 204 || head.status === 304
      ? { start: '', end: bodyFrom }
      : head.chunked
        ? chunkedBody(buffer, bodyFrom)
        : lengthBody(buffer, bodyFrom, head.contentLength);
  if (body === undefined) return undefined;
  const answer = { status: head.status, bodyStart: body.start, closes: head.closes };
  return { value: answer, end: body.end };
}

interface Head {
  readonly status: number;
  /** `connection: close`, or HTTP/1.0 without `connection: keep-alive`. */
  readonly closes: boolean;
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
}

function parseHead(text: string): Head {
  const lines = text.split(CRLF);
  const statusLine = /^HTTP\/1\.([01]) ([0-9]{3})(?: |$)/.exec(lines[0] ?? '');
  if (statusLine === null) throw new Error(`not an HTTP/1.x status line: ${lines[0] ?? ''}`);
  let contentLength: number | undefined;
  let chunked = false;
  let connection = statusLine[1] === '0' ? 'close' : 'keep-alive';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^[0-9]+$/.test(value)) throw new Error(`content-length "${value}" is not a length`);
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      chunked = value.toLowerCase().split(',').pop()?.trim() === 'chunked';
    } else if (name === 'connection') {
      connection = value.toLowerCase();
    }
  }
  return { status: Number(statusLine[2]), closes: connection === 'close', contentLength, chunked };
}

/** The first BODY_START_BYTES of a body as text, and where the answer ends. */
interface Body {
  readonly start: string;
  readonly end: number;
}

function lengthBody(buffer: Buffer, start: number, length: number | undefined): Body | undefined {
  if (length === undefined) {
    throw new Error('an answer with neither content-length nor chunked encoding');
  }
  if (length > MAX_RESPONSE_BYTES) {
    throw new Error(`an answer of ${length} bytes, over ${MAX_RESPONSE_BYTES}`);
  }
  const end = start + length;
  if (buffer.length < end) return undefined;
  return { start: buffer.toString('utf8', start, Math.min(end, start + BODY_START_BYTES)), end };
}

/** A chunked body from `start`, up to the empty line after its last chunk and trailers. */
function chunkedBody(buffer: Buffer, start: number): Body | undefined {
  let at = start;
  const text: Buffer[] = [];
  let textBytes = 0;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, at, 'latin1');
    if (lineEnd < 0) return undefined;
    const sizeText = buffer.toString('latin1', at, lineEnd).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new Error(`chunk size "${sizeText}"`);
    const size = Number.parseInt(sizeText, 16);
    if (at + size - start > MAX_RESPONSE_BYTES) {
      throw new Error(`a chunked answer over ${MAX_RESPONSE_BYTES} bytes`);
    }
    const dataStart = lineEnd + CRLF.length;
    if (size === 0) {
      const end = trailersEnd(buffer, dataStart);
      if (end === undefined) return undefined;
      return { start: Buffer.concat(text).toString('utf8'), end };
    }
    if (buffer.length < dataStart + size + CRLF.length) return undefined;
    if (buffer.toString('latin1', dataStart + size, dataStart + size + CRLF.length) !== CRLF) {
      throw new Error(`a chunk of ${size} bytes not followed by CRLF`);
    }
    const kept = Math.min(size, BODY_START_BYTES - textBytes);
    text.push(buffer.subarray(dataStart, dataStart + kept));
    textBytes += kept;
    at = dataStart + size + CRLF.length;
  }
}

/** Past the trailer lines after the last chunk and the empty line that ends them. */
function trailersEnd(buffer: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, at, 'latin1');
    if (lineEnd < 0) return undefined;
    if (lineEnd === at) return lineEnd + CRLF.length;
    at = lineEnd + CRLF.length;
  }
}
