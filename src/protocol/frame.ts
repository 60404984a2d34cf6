import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Entry } from '../core/entry.js';
import type { FailoverStamp } from '../core/replica-log.js';
import { parseChecked } from './checked-json.js';
import { batchOf, stampJson, type DecodedBatch } from './codec.js';
import { decodeMessages } from './message-bytes.js';
import { ReplicateFrameHead } from './messages.js';

/**
 * The replication frame: how the master sends a batch to `POST /internal/replicate`, with this
 * content type. The same batch as the JSON body (codec.ts), with the messages as raw UTF-8 bytes
 * instead of JSON strings:
 *
 *     [head length: uint32, big-endian] [head: JSON, ReplicateFrameHead] [message bytes ...]
 *
 * `lengths[i]` in the head is the byte length of entry `fromId + i`'s message; the messages follow
 * the head one after the other, nothing between or after them. Nothing in a message is escaped
 * or parsed: the master copies each message's bytes once into the frame, and the secondary
 * decodes ASCII messages 64 KiB at a time (message-bytes.ts). JSON cost about 1 µs per 100-byte
 * entry on each end (escaping, strings of a whole batch, `JSON.parse`), most of a catch-up's
 * time.
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
  const lengths = new Array<number>(count);
  let messageBytes = 0;
  for (let index = 0; index < count; index++) {
    const entry = entries[index]!;
    epochs[index] = entry.epoch;
    const bytes = Buffer.byteLength(entry.message, 'utf8');
    lengths[index] = bytes;
    messageBytes += bytes;
  }
  // An empty batch (a probe) still names where it would start; any id >= 1 does.
  const fromId = entries[0]?.id ?? 1;
  const head = `{"logId":${JSON.stringify(logId)},"epoch":${epoch},"fromId":${fromId},"epochs":[${epochs.join(',')}],"lengths":[${lengths.join(',')}]${stampJson(failover)}}`;
  const headBytes = Buffer.byteLength(head, 'utf8');
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + headBytes + messageBytes);
  frame.writeUInt32BE(headBytes, 0);
  let offset = PREFIX_BYTES + frame.write(head, PREFIX_BYTES, 'utf8');
  for (let index = 0; index < count; index++) {
    offset += frame.write(entries[index]!.message, offset, lengths[index]!, 'utf8');
  }
  return frame;
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
  const messages = readMessages(frame.subarray(messagesAt), head);
  return typeof messages === 'string' ? { ok: false, error: messages } : batchOf(head, messages);
}

/** The messages the head's lengths cut `bytes` into, or why they do not. */
function readMessages(bytes: Buffer, head: ReplicateFrameHead): string[] | string {
  let total = 0;
  for (const length of head.lengths) total += length;
  if (total !== bytes.length) {
    return `frame has ${bytes.length} message bytes after its head, but its lengths add up to ${total}`;
  }
  const decoded = decodeMessages(bytes, head.lengths);
  return 'messages' in decoded
    ? decoded.messages
    : `message of entry ${head.fromId + decoded.invalidIndex} is not valid UTF-8`;
}
