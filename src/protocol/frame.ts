import { isAscii, isUtf8 } from 'node:buffer';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { assert } from '../core/assert.js';
import type { Entry } from '../core/entry.js';
import type { FailoverStamp } from '../core/replica-log.js';
import { parseChecked } from './checked-json.js';
import { batchOf, stampJson, type DecodedBatch } from './codec.js';
import { ReplicateFrameHead } from './messages.js';
import { PackedEntry, copyPackedRun, entryRuns, type EntryRun } from './packed-entry.js';

/**
 * The replication frame: how the master sends a batch to `POST /internal/replicate`, with this
 * content type. The same batch as the JSON body (codec.ts), with the messages as raw UTF-8 bytes
 * instead of JSON strings:
 *
 *     [head length: uint32, big-endian] [head: JSON, ReplicateFrameHead] [message bytes ...]
 *
 * `lengths[i]` in the head is the byte length of entry `fromId + i`'s message; the messages follow
 * the head one after the other, nothing between or after them. Nothing in a message is escaped
 * or parsed, and on the way from the master's memory store to the secondary's nothing is decoded
 * either: the master copies the stored bytes into the frame a run at a time, the secondary checks
 * they are UTF-8 and hands them on as bytes (PackedEntry), and its store copies them. JSON cost
 * about 1 µs per 100-byte entry on each end (escaping, strings of a whole batch, `JSON.parse`);
 * decoding and re-encoding the frame's messages about 0.5 µs on each end, with the garbage of a
 * string per message.
 */
export const REPLICATE_FRAME_TYPE = 'application/vnd.replicated-log.frame';

/** Bytes of the head-length prefix. */
const PREFIX_BYTES = 4;

/** The frame of one batch, ready for the socket. */
export function encodeReplicateFrame(
  logId: string,
  epoch: number,
  entries: readonly Entry[],
  failover?: FailoverStamp,
): Buffer {
  const count = entries.length;
  const epochs = new Array<number>(count);
  for (let index = 0; index < count; index++) epochs[index] = entries[index]!.epoch;
  const lengths = new Array<number>(count);
  const runs = entryRuns(entries, lengths);
  let messageBytes = 0;
  for (const length of lengths) messageBytes += length;
  // An empty batch (a probe) still names where it would start; any id >= 1 does.
  const fromId = entries[0]?.id ?? 1;
  const head = `{"logId":${JSON.stringify(logId)},"epoch":${epoch},"fromId":${fromId},"epochs":[${epochs.join(',')}],"lengths":[${lengths.join(',')}]${stampJson(failover)}}`;
  const headBytes = Buffer.byteLength(head, 'utf8');
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + headBytes + messageBytes);
  frame.writeUInt32BE(headBytes, 0);
  let offset = PREFIX_BYTES + frame.write(head, PREFIX_BYTES, 'utf8');
  for (const run of runs) {
    // Bytes read from a store: runs of them copied whole, never decoded.
    if (run.kind === 'packed') offset += copyPackedRun(entries, run.start, run.end, frame, offset);
    else offset += writeMessages(frame, offset, entries, run, lengths);
  }
  return frame;
}

/**
 * Writes the joined messages of a plain run at `offset`, all in one call: a hundred calls for a
 * hundred short messages cost twice as much as joining them first. Every message is well-formed
 * (refused at the boundary otherwise), so the UTF-8 of the joined text is the UTF-8 of each
 * message in turn (no surrogate pair forms across two of them), as long as `lengths` say: a frame
 * whose lengths do not match its bytes would be read as other messages.
 */
function writeMessages(
  frame: Buffer,
  offset: number,
  entries: readonly Entry[],
  run: Extract<EntryRun, { kind: 'text' }>,
  lengths: readonly number[],
): number {
  const { text } = run;
  let bytes = 0;
  for (let index = run.start; index < run.end; index++) bytes += lengths[index]!;
  const written = frame.write(text, offset, run.ascii ? 'latin1' : 'utf8');
  assert(
    written === bytes,
    `messages of entries ${entries[run.start]!.id}..${entries[run.end - 1]!.id} took ${written} bytes in a frame, not the ${bytes} their lengths say`,
  );
  return written;
}

let headCheck: TypeCheck<typeof ReplicateFrameHead> | undefined;

/**
 * The batch a frame stands for, or why it is not one: a head that is cut, not JSON or not of the
 * schema, lengths that do not match the epochs or the bytes that follow, a message that is not
 * UTF-8 (UTF-8 cannot encode a lone surrogate, so every decoded message is well-formed).
 */
export function decodeReplicateFrame(frame: Buffer): DecodedBatch {
  if (frame.length < PREFIX_BYTES) {
    return { ok: false, error: `frame of ${frame.length} bytes is shorter than its head length` };
  }
  const headBytes = frame.readUInt32BE(0);
  const messagesAt = PREFIX_BYTES + headBytes;
  if (messagesAt > frame.length) {
    return {
      ok: false,
      error: `frame head of ${headBytes} bytes runs past the frame's ${frame.length} bytes`,
    };
  }
  headCheck ??= TypeCompiler.Compile(ReplicateFrameHead);
  const read = parseChecked(
    frame.toString('utf8', PREFIX_BYTES, messagesAt),
    headCheck,
    'frame head',
  );
  if (!read.ok) return read;
  const head = read.value;
  const count = head.lengths.length;
  if (head.epochs.length !== count) {
    return {
      ok: false,
      error: `replication frame has ${count} lengths but ${head.epochs.length} epochs`,
    };
  }
  const entries = readEntries(frame, messagesAt, head);
  return typeof entries === 'string' ? { ok: false, error: entries } : batchOf(head, entries);
}

/**
 * The entries the head's lengths cut the bytes from `messagesAt` into, or why they do not. Each
 * is a PackedEntry over the frame: nothing is decoded (a store copies the bytes), only checked to
 * be UTF-8, all at once when the bytes are ASCII (the common case), else message by message.
 */
function readEntries(
  frame: Buffer,
  messagesAt: number,
  head: ReplicateFrameHead,
): Entry[] | string {
  const { fromId, epochs, lengths } = head;
  let total = 0;
  for (const length of lengths) total += length;
  if (total !== frame.length - messagesAt) {
    return `frame has ${frame.length - messagesAt} message bytes after its head, but its lengths add up to ${total}`;
  }
  const ascii = isAscii(frame.subarray(messagesAt));
  const entries = new Array<Entry>(lengths.length);
  let at = messagesAt;
  for (let index = 0; index < lengths.length; index++) {
    const length = lengths[index]!;
    if (!ascii && !isUtf8(frame.subarray(at, at + length))) {
      return `message of entry ${fromId + index} is not valid UTF-8`;
    }
    entries[index] = new PackedEntry(fromId + index, epochs[index]!, frame, at, length);
    at += length;
  }
  return entries;
}
