import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import type { Entry } from '../../core/entry.js';
import { InvariantError } from '../../core/assert.js';
import { PackedEntry } from '../../protocol/packed-entry.js';
import { isWellFormed } from '../../protocol/well-formed.js';
import {
  decodeRecord,
  encodeBatch,
  HEADER_BYTES,
  MAX_RECORD_BYTES,
  RECORD_TYPE_BATCH,
  type DecodeResult,
} from './record-codec.js';

const ENTRIES: Entry[] = [
  { id: 41, epoch: 3, message: 'hello' },
  { id: 42, epoch: 3, message: '' },
  { id: 43, epoch: 3, message: 'héllo 😀 日本' },
];
/** Payload offsets: type 0, firstId 1..6, count 7..10, epoch 11..14, keyLength 15..16, key 17.. */
const FIXED = 17;

/** Rewrites the checksum after a deliberate change to the payload, so only the change is seen. */
function reseal(record: Buffer): Buffer {
  record.writeUInt32LE(crc32(record.subarray(HEADER_BYTES)), 4);
  return record;
}

function messagesOf(record: Buffer, result: DecodeResult, at = 0): string[] {
  assert.equal(result.kind, 'record');
  return result.batch.entryOffsets.map((offset, index) => {
    const start = at + offset + 4;
    return record.toString('utf8', start, start + result.batch.messageLengths[index]!);
  });
}

function corruptReason(result: DecodeResult): string {
  assert.equal(result.kind, 'corrupt', JSON.stringify(result));
  return result.reason;
}

void describe('record codec', () => {
  void it('round-trips a batch with a key, at any offset of a buffer', () => {
    const { record, entryOffsets, messageLengths } = encodeBatch(ENTRIES, 'key-1');
    const result = decodeRecord(record, 0);
    assert.deepEqual(result, {
      kind: 'record',
      recordBytes: record.length,
      batch: {
        firstId: 41,
        count: 3,
        epoch: 3,
        idempotencyKey: 'key-1',
        entryOffsets,
        messageLengths,
      },
    });
    assert.deepEqual(messagesOf(record, result), ['hello', '', 'héllo 😀 日本']);
    assert.deepEqual(messageLengths, [5, 0, Buffer.byteLength('héllo 😀 日本')]);
    assert.equal(record.readUInt32LE(0), record.length - HEADER_BYTES);
    assert.equal(record.readUInt8(HEADER_BYTES), RECORD_TYPE_BATCH);

    const second = encodeBatch([{ id: 44, epoch: 3, message: 'next' }], undefined).record;
    const both = Buffer.concat([Buffer.from('junk'), record, second]);
    const first = decodeRecord(both, 4);
    assert.equal(first.kind, 'record');
    assert.deepEqual(messagesOf(both, first, 4), ['hello', '', 'héllo 😀 日本']);
    const next = decodeRecord(both, 4 + record.length);
    assert.equal(next.kind, 'record');
    assert.equal(next.batch.idempotencyKey, undefined);
    assert.equal(next.batch.firstId, 44);
    assert.equal(next.recordBytes, second.length);
  });

  void it('writes text, ASCII or not, in runs past the join limit, as each message after its length', () => {
    // The reference: the layout written out message by message, built here without the codec.
    const reference = (entries: readonly Entry[]): Buffer => {
      const head = Buffer.alloc(HEADER_BYTES + FIXED);
      head.writeUInt8(RECORD_TYPE_BATCH, HEADER_BYTES);
      head.writeUIntLE(entries[0]!.id, HEADER_BYTES + 1, 6);
      head.writeUInt32LE(entries.length, HEADER_BYTES + 7);
      head.writeUInt32LE(entries[0]!.epoch, HEADER_BYTES + 11);
      const parts = entries.flatMap((entry) => {
        const bytes = Buffer.from(entry.message, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      });
      const record = Buffer.concat([head, ...parts]);
      record.writeUInt32LE(record.length - HEADER_BYTES, 0);
      return reseal(record);
    };
    const message = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 8 }).filter(isWellFormed),
      // Long enough that a few of them pass the join limit (JOIN_MAX_CHARS) and start a new run.
      fc.constantFrom('a'.repeat(40_000), 'é'.repeat(30_000)),
    );
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 30 }), (messages) => {
        const entries = messages.map((text, index) => ({ id: 3 + index, epoch: 5, message: text }));
        const encoded = encodeBatch(entries, undefined);
        assert.deepEqual(encoded.record, reference(entries));
        const decoded = decodeRecord(encoded.record, 0);
        assert.deepEqual(messagesOf(encoded.record, decoded), messages);
        assert.deepEqual(
          encoded.messageLengths,
          messages.map((text) => Buffer.byteLength(text, 'utf8')),
        );
      }),
      { numRuns: 300 },
    );
  });

  void it('writes packed entries (bytes from a frame) as it writes the same messages as text', () => {
    const bytes = Buffer.from(`xx${ENTRIES.map((entry) => entry.message).join('')}`, 'utf8');
    let at = 2;
    const packed = ENTRIES.map((entry) => {
      const length = Buffer.byteLength(entry.message, 'utf8');
      at += length;
      return new PackedEntry(entry.id, entry.epoch, bytes, at - length, length);
    });
    const mixed = [packed[0]!, ENTRIES[1]!, packed[2]!];
    const plain = encodeBatch(ENTRIES, 'key-1');
    for (const entries of [packed, mixed]) {
      const encoded = encodeBatch(entries, 'key-1');
      assert.deepEqual(encoded.record, plain.record);
      assert.deepEqual(encoded.entryOffsets, plain.entryOffsets);
      assert.deepEqual(encoded.messageLengths, plain.messageLengths);
    }
  });

  void it('writes any mix of text, packed runs and lone packed entries as it writes text', () => {
    // Each message drawn with how it comes: 0 text, 1 packed after the one before (a run), 2
    // packed in a buffer of its own.
    const drawn = fc.array(
      fc.tuple(
        fc.string({ unit: 'binary', maxLength: 20 }).filter(isWellFormed),
        fc.constantFrom(0, 1, 2),
      ),
      { minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(drawn, (messages) => {
        const text = messages.map(([message], index) => ({ id: 7 + index, epoch: 2, message }));
        const frame = Buffer.from(`..${messages.map(([message]) => message).join('')}`, 'utf8');
        let at = 2;
        const mixed = text.map((entry, index): Entry => {
          const length = Buffer.byteLength(entry.message, 'utf8');
          at += length;
          const how = messages[index]![1];
          if (how === 0) return entry;
          if (how === 1) return new PackedEntry(entry.id, 2, frame, at - length, length);
          return new PackedEntry(entry.id, 2, Buffer.from(`.${entry.message}`), 1, length);
        });
        const expected = encodeBatch(text, undefined);
        const encoded = encodeBatch(mixed, undefined);
        assert.deepEqual(encoded.record, expected.record);
        assert.deepEqual(encoded.entryOffsets, expected.entryOffsets);
      }),
      { numRuns: 500 },
    );
  });

  void it('round-trips large ids, epochs and a 64 KiB message', () => {
    const message = '😀'.repeat(16 * 1024);
    const id = 2 ** 48 - 1;
    const { record } = encodeBatch([{ id, epoch: 0xffffffff, message }], 'k'.repeat(128));
    const result = decodeRecord(record, 0);
    assert.equal(result.kind, 'record');
    assert.equal(result.batch.firstId, id);
    assert.equal(result.batch.epoch, 0xffffffff);
    assert.equal(result.batch.idempotencyKey, 'k'.repeat(128));
    assert.deepEqual(messagesOf(record, result), [message]);
  });

  void it('refuses to encode an empty, non-consecutive or mixed-epoch batch', () => {
    assert.throws(() => encodeBatch([], undefined), InvariantError);
    assert.throws(
      () =>
        encodeBatch(
          [
            { id: 1, epoch: 1, message: 'a' },
            { id: 3, epoch: 1, message: 'b' },
          ],
          undefined,
        ),
      (error: unknown) =>
        error instanceof InvariantError &&
        /entry 3 of epoch 1 at 1 after entry 1/.test(error.message),
    );
    assert.throws(
      () =>
        encodeBatch(
          [
            { id: 1, epoch: 1, message: 'a' },
            { id: 2, epoch: 2, message: 'b' },
          ],
          undefined,
        ),
      (error: unknown) =>
        error instanceof InvariantError &&
        /entry 2 of epoch 2 at 1 after entry 1 of epoch 1/.test(error.message),
    );
    assert.throws(() => encodeBatch(ENTRIES, 'k'.repeat(0x10000)), InvariantError);
  });

  void it('reports a record cut short as incomplete, with the bytes it needs', () => {
    const { record } = encodeBatch(ENTRIES, 'key-1');
    assert.deepEqual(decodeRecord(Buffer.alloc(0), 0), { kind: 'incomplete', needBytes: 8 });
    assert.deepEqual(decodeRecord(record.subarray(0, 7), 0), { kind: 'incomplete', needBytes: 8 });
    for (const cut of [8, 10, HEADER_BYTES + FIXED, record.length - 1]) {
      assert.deepEqual(
        decodeRecord(record.subarray(0, cut), 0),
        { kind: 'incomplete', needBytes: record.length },
        `cut at ${cut}`,
      );
    }
    assert.deepEqual(decodeRecord(record, record.length), { kind: 'incomplete', needBytes: 8 });
  });

  void it('reports an impossible length as corrupt, with no record size', () => {
    const { record } = encodeBatch(ENTRIES, undefined);
    for (const length of [0, FIXED - 1, MAX_RECORD_BYTES + 1, 0xffffffff]) {
      const bad = Buffer.from(record);
      bad.writeUInt32LE(length, 0);
      const result = decodeRecord(bad, 0);
      assert.deepEqual(result, {
        kind: 'corrupt',
        reason: `impossible record length ${length}`,
        recordBytes: undefined,
      });
    }
    // Trailing zeroes (a file extended but never written) read as length 0.
    assert.equal(decodeRecord(Buffer.alloc(64), 0).kind, 'corrupt');
  });

  void it('catches a flipped byte anywhere in the payload or the checksum', () => {
    const { record } = encodeBatch(ENTRIES, 'key-1');
    for (let at = 4; at < record.length; at++) {
      const bad = Buffer.from(record);
      bad[at] = bad[at]! ^ 0x01;
      const result = decodeRecord(bad, 0);
      assert.deepEqual(
        result,
        { kind: 'corrupt', reason: 'checksum mismatch', recordBytes: record.length },
        `byte ${at} flipped`,
      );
    }
  });

  void it('catches structural damage behind a valid checksum', () => {
    const { record } = encodeBatch(ENTRIES, 'key-1');
    const payload = (change: (bad: Buffer) => void): DecodeResult => {
      const bad = Buffer.from(record);
      change(bad);
      return decodeRecord(reseal(bad), 0);
    };
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt8(2, HEADER_BYTES))),
      'unknown record type 2',
    );
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt8(0, HEADER_BYTES))),
      'unknown record type 0',
    );
    assert.equal(
      corruptReason(payload((bad) => bad.writeUIntLE(0, HEADER_BYTES + 1, 6))),
      'malformed batch header',
      'firstId 0',
    );
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt32LE(0, HEADER_BYTES + 7))),
      'malformed batch header',
      'count 0',
    );
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt16LE(0xffff, HEADER_BYTES + 15))),
      'malformed batch header',
      'key longer than the record',
    );
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt32LE(4, HEADER_BYTES + 7))),
      'batch shorter than its count',
    );
    const firstMessageLength = HEADER_BYTES + FIXED + 'key-1'.length;
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt32LE(10_000, firstMessageLength))),
      'message runs past its record',
    );
    assert.equal(
      corruptReason(payload((bad) => bad.writeUInt32LE(2, HEADER_BYTES + 7))),
      'trailing bytes in record',
      'count 2 of 3 leaves the third message as trailing bytes',
    );
    assert.deepEqual(
      payload((bad) => bad.writeUInt8(2, HEADER_BYTES)),
      { kind: 'corrupt', reason: 'unknown record type 2', recordBytes: record.length },
      'a structural error still tells the record size',
    );
  });

  void it('reports trailing bytes inside a record whose length was grown', () => {
    const { record } = encodeBatch(ENTRIES, undefined);
    const grown = Buffer.concat([record, Buffer.from([0xaa, 0xbb])]);
    grown.writeUInt32LE(grown.length - HEADER_BYTES, 0);
    const result = decodeRecord(reseal(grown), 0);
    assert.deepEqual(result, {
      kind: 'corrupt',
      reason: 'trailing bytes in record',
      recordBytes: grown.length,
    });
  });
});
