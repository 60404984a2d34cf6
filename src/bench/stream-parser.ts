/**
 * Values framed in a byte stream that arrives in chunks of any size (RESP replies, HTTP answers):
 * each chunk is parsed from the bytes kept of a value not yet whole, and what is left of a value
 * still incomplete is kept for the next chunk. One loop for the bench's two wire protocols.
 */

/** A value that starts at some offset (undefined: bytes that frame nothing of their own), and where it ends. */
export interface Parsed<T> {
  readonly value: T | undefined;
  readonly end: number;
}

/** The value starting at `offset`, or undefined when its bytes have not all arrived; throws on bad bytes. */
export type ParseAt<T> = (buffer: Buffer, offset: number) => Parsed<T> | undefined;

export class StreamParser<T> {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly parseAt: ParseAt<T>) {}

  /** Every value the chunk completes, in order. */
  push(chunk: Buffer): T[] {
    const buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const values: T[] = [];
    let offset = 0;
    for (;;) {
      const parsed = this.parseAt(buffer, offset);
      if (parsed === undefined) break;
      if (parsed.value !== undefined) values.push(parsed.value);
      offset = parsed.end;
    }
    this.#pending = offset === buffer.length ? Buffer.alloc(0) : buffer.subarray(offset);
    return values;
  }

  /** Bytes received that do not make a whole value yet. */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

/**
 * Feeds `bytes` to `parser` cut at every offset in `cuts`; returns every value, and checks that
 * nothing is left pending. For the parsers' tests: the same values however the bytes are cut.
 */
export function parseInPieces<T>(
  parser: StreamParser<T>,
  bytes: Buffer,
  cuts: readonly number[],
): T[] {
  const values: T[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    values.push(...parser.push(bytes.subarray(from, cut)));
    from = cut;
  }
  if (parser.pendingBytes !== 0) throw new Error(`${parser.pendingBytes} bytes left pending`);
  return values;
}
