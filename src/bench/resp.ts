/**
 * Just enough of RESP (Redis's wire protocol, version 2) for the bench's Redis anchor: commands
 * encoded as arrays of bulk strings, and a parser of replies that arrive in chunks of any size.
 * Our own rather than an npm client: the anchor must cost the generator about what the HTTP
 * servers' requests cost it (http-wire.ts), and a full client (ioredis, node-redis) adds a
 * command queue, reply transformers and reconnection logic per request; here a request is one
 * write of bytes encoded once, and its answer two replies parsed in place.
 */

import { StreamParser } from './stream-parser.js';

/** An error reply (`-ERR ...`), kept as a value: it answers the request, it is not thrown. */
export class RespError {
  constructor(readonly message: string) {}
}

export type RespValue = string | number | null | RespError | readonly RespValue[];

const CRLF = '\r\n';

/** One command as RESP bytes: `*<n>` then `$<length>` and the bytes of each argument. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}${CRLF}`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}${CRLF}${arg}${CRLF}`);
  return Buffer.from(parts.join(''));
}

/** Past this, a reply is not what the bench expects: the parser refuses it rather than buffer it. */
const MAX_BULK_BYTES = 64 * 1024 * 1024;

interface Parsed {
  readonly value: RespValue;
  /** Offset just past the value. */
  readonly end: number;
}

/**
 * Feed it the socket's chunks; it returns every reply completed by each chunk, in order, and keeps
 * the bytes of an incomplete one for the next. Throws on bytes that are not RESP.
 */
export class RespParser extends StreamParser<RespValue> {
  constructor() {
    super(parseValue);
  }
}

/** The value starting at `offset`, or undefined when its bytes have not all arrived. */
function parseValue(buffer: Buffer, offset: number): Parsed | undefined {
  if (offset >= buffer.length) return undefined;
  const lineEnd = buffer.indexOf(CRLF, offset + 1);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('latin1', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: integer(line), end: next };
    case '$':
      return parseBulk(buffer, integer(line), next);
    case '*':
      return parseArray(buffer, integer(line), next);
    default:
      throw new Error(`not a RESP reply: type byte ${JSON.stringify(type)} at offset ${offset}`);
  }
}

function parseBulk(buffer: Buffer, length: number, start: number): Parsed | undefined {
  if (length === -1) return { value: null, end: start };
  if (length < 0 || length > MAX_BULK_BYTES)
    throw new Error(`RESP bulk string of ${length} bytes; at most ${MAX_BULK_BYTES} are expected`);
  if (buffer.length < start + length + 2) return undefined;
  return { value: buffer.toString('utf8', start, start + length), end: start + length + 2 };
}

function parseArray(buffer: Buffer, count: number, start: number): Parsed | undefined {
  if (count === -1) return { value: null, end: start };
  if (count < 0) throw new Error(`RESP array of ${count} elements`);
  const items: RespValue[] = [];
  let offset = start;
  for (let index = 0; index < count; index++) {
    const item = parseValue(buffer, offset);
    if (item === undefined) return undefined;
    items.push(item.value);
    offset = item.end;
  }
  return { value: items, end: offset };
}

function integer(text: string): number {
  if (!/^-?[0-9]+$/.test(text)) throw new Error(`not a RESP integer: ${JSON.stringify(text)}`);
  return Number(text);
}
