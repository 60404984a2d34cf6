import type { Entry } from '../core/entry.js';

/**
 * An entry whose message is still the UTF-8 bytes it arrived or was stored as: a slice of a
 * replication frame on a secondary, of the memory store's chunk on a master. The string is made
 * only when `message` is first read; the frame encoder and the stores copy the bytes instead
 * (`packedRunEnd`), so a catch-up's entries go from the master's store to the secondary's
 * without ever being decoded and encoded again.
 *
 * The bytes must never change: every buffer a PackedEntry points into is written once (a frame is
 * a fresh buffer; the memory store never rewrites a chunk, not even after a truncation). It is
 * made from bytes known to be valid UTF-8 (checked on arrival, or written from a string), so its
 * message is well-formed.
 */
export class PackedEntry implements Entry {
  #message: string | undefined;

  constructor(
    readonly id: number,
    readonly epoch: number,
    readonly bytes: Buffer,
    readonly byteOffset: number,
    readonly byteLength: number,
  ) {}

  get message(): string {
    this.#message ??= this.bytes.toString(
      'utf8',
      this.byteOffset,
      this.byteOffset + this.byteLength,
    );
    return this.#message;
  }

  /** What `JSON.stringify` shows: the entry, as a plain one would show (not the bytes). */
  toJSON(): Entry {
    return { id: this.id, epoch: this.epoch, message: this.message };
  }
}

/**
 * Where a run of packed entries whose bytes lie one after the other in the same buffer ends: the
 * index after the last entry of the run that starts at `start` (an entry of `entries`, packed),
 * within `maxBytes` of message bytes (the first entry always counts). One copy moves the run.
 */
export function packedRunEnd(entries: readonly Entry[], start: number, maxBytes: number): number {
  const first = entries[start] as PackedEntry;
  let end = first.byteOffset + first.byteLength;
  let next = start + 1;
  for (; next < entries.length; next++) {
    const entry = entries[next];
    if (!(entry instanceof PackedEntry) || entry.bytes !== first.bytes) break;
    if (entry.byteOffset !== end || end + entry.byteLength - first.byteOffset > maxBytes) break;
    end += entry.byteLength;
  }
  return next;
}

/**
 * Most characters of messages joined into one string to be written at once: a longer string
 * lands in V8's large-object space, on fresh pages (a page fault per 4 KiB on this VM).
 */
export const JOIN_MAX_CHARS = 64 * 1024;

/**
 * Where the run of entries that are not packed, from `start`, ends (the index after it): its
 * messages hold at most JOIN_MAX_CHARS characters together (the first one always counts).
 */
export function plainRunEnd(entries: readonly Entry[], start: number): number {
  let chars = entries[start]!.message.length;
  let end = start + 1;
  for (; end < entries.length && !(entries[end] instanceof PackedEntry); end++) {
    chars += entries[end]!.message.length;
    if (chars > JOIN_MAX_CHARS) break;
  }
  return end;
}

/** The messages of `entries[start .. end - 1]`, joined: one string to write at once. */
export function joinedMessages(entries: readonly Entry[], start: number, end: number): string {
  let text = '';
  for (let index = start; index < end; index++) text += entries[index]!.message;
  return text;
}

/**
 * A run of entries an encoder writes alike: packed entries whose bytes lie one after the other
 * (`packedRunEnd`), or plain ones joined into one `text` (`plainRunEnd`), `ascii` when that text
 * is all ASCII: each of its messages then takes as many bytes as it has characters, and the text
 * is written with one `latin1` copy.
 */
export type EntryRun =
  | { readonly kind: 'packed'; readonly start: number; readonly end: number }
  | {
      readonly kind: 'text';
      readonly start: number;
      readonly end: number;
      readonly text: string;
      readonly ascii: boolean;
    };

/**
 * `entries` cut into runs, and each entry's message length in UTF-8 bytes written into
 * `byteLengths`: a client's batch is measured by one `Buffer.byteLength` of its joined text,
 * not one per message.
 */
export function entryRuns(entries: readonly Entry[], byteLengths: number[]): EntryRun[] {
  const runs: EntryRun[] = [];
  for (let start = 0; start < entries.length;) {
    if (entries[start] instanceof PackedEntry) {
      const end = packedRunEnd(entries, start, Number.POSITIVE_INFINITY);
      for (let index = start; index < end; index++) {
        byteLengths[index] = (entries[index] as PackedEntry).byteLength;
      }
      runs.push({ kind: 'packed', start, end });
      start = end;
      continue;
    }
    const end = plainRunEnd(entries, start);
    const text = joinedMessages(entries, start, end);
    const ascii = Buffer.byteLength(text, 'utf8') === text.length;
    for (let index = start; index < end; index++) {
      const message = entries[index]!.message;
      byteLengths[index] = ascii ? message.length : Buffer.byteLength(message, 'utf8');
    }
    runs.push({ kind: 'text', start, end, text, ascii });
    start = end;
  }
  return runs;
}

/** The bytes of the packed entries `entries[start .. end - 1]`, one run of `packedRunEnd`. */
export function packedRunBytes(entries: readonly Entry[], start: number, end: number): Buffer {
  const first = entries[start] as PackedEntry;
  const last = entries[end - 1] as PackedEntry;
  return first.bytes.subarray(first.byteOffset, last.byteOffset + last.byteLength);
}

/**
 * Copies the bytes of the packed entries `entries[start .. end - 1]` (one run of `packedRunEnd`)
 * into `target` at `offset`; returns how many.
 */
export function copyPackedRun(
  entries: readonly Entry[],
  start: number,
  end: number,
  target: Buffer,
  offset: number,
): number {
  const first = entries[start] as PackedEntry;
  const last = entries[end - 1] as PackedEntry;
  return copyBytes(
    first.bytes,
    first.byteOffset,
    last.byteOffset + last.byteLength,
    target,
    offset,
  );
}

/**
 * Copies `source[from .. to - 1]` into `target` at `offset` through a plain Uint8Array view:
 * `Buffer#copy` and `Buffer#subarray` make a Buffer view, which costs as much as copying a short
 * message (100 bytes: 74 ns this way, 144-159 ns those ways, Node 20).
 */
function copyBytes(
  source: Buffer,
  from: number,
  to: number,
  target: Buffer,
  offset: number,
): number {
  target.set(new Uint8Array(source.buffer, source.byteOffset + from, to - from), offset);
  return to - from;
}

/**
 * The entries of `run`, with every run of packed entries that uses less than half of the buffer it
 * lies in copied into a buffer of its own: what an entry held for long (pending behind a gap on a
 * secondary) should be, so that a few entries do not keep a whole frame (up to MAX_BATCH_BYTES)
 * alive. What they keep alive stays within about twice their bytes.
 */
export function compactPackedRuns(run: readonly Entry[]): readonly Entry[] {
  let compacted: Entry[] | undefined;
  for (let start = 0; start < run.length;) {
    const entry = run[start]!;
    if (!(entry instanceof PackedEntry)) {
      start += 1;
      continue;
    }
    const end = packedRunEnd(run, start, Number.POSITIVE_INFINITY);
    const span = packedRunBytes(run, start, end);
    if (2 * span.length < entry.bytes.buffer.byteLength) {
      compacted ??= [...run];
      const copy = Buffer.from(span);
      for (let index = start; index < end; index++) {
        const packed = run[index] as PackedEntry;
        const offset = packed.byteOffset - entry.byteOffset;
        compacted[index] = new PackedEntry(
          packed.id,
          packed.epoch,
          copy,
          offset,
          packed.byteLength,
        );
      }
    }
    start = end;
  }
  return compacted ?? run;
}
