import { isAscii } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

/**
 * Request bodies as the public API reads them, whatever their Content-Type (curl's `-d` sends a
 * form type): JSON, with an empty or blank body read as no body. One reading for fastify's
 * content-type parser (create-server.ts) and for the routes served on node:http before it (the
 * append endpoint).
 */

/** Whether a body is empty or only whitespace, without copying it as `trim()` would. */
export function isBlank(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // JSON's whitespace: space, tab, line feed, carriage return.
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return false;
  }
  return true;
}

/** A body's JSON value; undefined for a blank body; 400 INVALID_REQUEST when it is not JSON. */
export function parseJsonBody(text: string): unknown {
  if (isBlank(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      'body is not valid JSON; send a JSON object such as {"message":"hi"}',
    );
  }
}

/** The limits a body is refused over, named in the 413's message. */
export interface BodyLimits {
  readonly maxBodyBytes: number;
  readonly maxMessageBytes: number;
}

/** 413 for a body over MAX_BODY_BYTES; `length` is its Content-Length, when it declared one. */
export function bodyTooLarge(length: string | undefined, limits: BodyLimits): ApiError {
  return new ApiError(
    413,
    'MESSAGE_TOO_LARGE',
    `request body${length === undefined ? '' : ` of ${length} bytes`} is over the limit of ${limits.maxBodyBytes} bytes (MAX_BODY_BYTES); a message may be at most ${limits.maxMessageBytes} bytes (MAX_MESSAGE_BYTES); split the batch or shorten the message`,
  );
}

/**
 * Whether every string of a JSON text in these bytes is written verbatim: ASCII with no backslash,
 * so no string holds an escape. (Raw quotes and control characters cannot be in a JSON string.)
 * Such a string is its own JSON once quoted, takes one UTF-8 byte per character and is
 * well-formed: what the append endpoint would otherwise check message by message.
 */
export function isVerbatim(bytes: Buffer): boolean {
  return isAscii(bytes) && !bytes.includes(BACKSLASH);
}

const BACKSLASH = 0x5c;

/**
 * Reads a request's body and calls `done` once with its JSON value (undefined when blank) and
 * whether its strings are verbatim (isVerbatim), or with the error to answer: 413 over
 * MAX_BODY_BYTES (a declared length is refused before anything is read; a chunked body once it
 * passes the limit), 400 when it is not JSON. Nothing is called for a request whose client goes
 * away before its body ends.
 */
export function readJsonBody(
  request: IncomingMessage,
  limits: BodyLimits,
  done: (error: ApiError | undefined, body: unknown, verbatim: boolean) => void,
): void {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
    done(bodyTooLarge(declared, limits), undefined, false);
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received <= limits.maxBodyBytes) {
      chunks.push(chunk);
      return;
    }
    // Whatever else arrives is dropped: the answer closes the connection.
    request.removeListener('data', onData);
    request.removeListener('end', onEnd);
    request.resume();
    chunks.length = 0;
    done(bodyTooLarge(declared, limits), undefined, false);
  };
  const onEnd = (): void => {
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
    let body: unknown;
    try {
      body = parseJsonBody(bytes.toString('utf8'));
    } catch (error) {
      done(error as ApiError, undefined, false);
      return;
    }
    done(undefined, body, isVerbatim(bytes));
  };
  request.on('data', onData);
  request.on('end', onEnd);
}
