import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantError } from '../core/assert.js';
import type { Entry } from '../core/entry.js';
import type { FailoverStamp } from '../core/replica-log.js';
import { decodeReplicateFrame, encodeReplicateFrame } from './frame.js';
import { decodeMessages } from './message-bytes.js';
import { compactPackedRuns, JOIN_MAX_CHARS, PackedEntry, plainRunEnd } from './packed-entry.js';

const KiB = 1024;

/** Entries `fromId ..` with these messages, epochs 1, 2, 1, 2, ... */
function entriesOf(messages: readonly string[], fromId = 1): Entry[] {
  return messages.map((message, index) => ({
    id: fromId + index,
    epoch: 1 + (index % 2),
    message,
  }));
}

/** Entries as plain objects (a PackedEntry's message read), for deepEqual. */
function plain(entries: readonly Entry[]): Entry[] {
  return entries.map(({ id, epoch, message }) => ({ id, epoch, message }));
}

/** Entries `fromId ..` packed one after the other in one fresh buffer, from `at` on. */
function packedOf(messages: readonly string[], fromId = 1, at = 0): PackedEntry[] {
  const buffer = Buffer.alloc(at + Buffer.byteLength(messages.join('')), 0x2a);
  const entries: PackedEntry[] = [];
  for (const [index, message] of messages.entries()) {
    const length = buffer.write(message, at, 'utf8');
    entries.push(new PackedEntry(fromId + index, 1 + (index % 2), buffer, at, length));
    at += length;
  }
  return entries;
}

/** Encoded and decoded: the decoded entries, plain, after checking they are packed. */
function roundTrip(entries: readonly Entry[], failover?: FailoverStamp): Entry[] {
  const decoded = decodeReplicateFrame(encodeReplicateFrame('log-"L"', 3, entries, failover));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  assert.equal(decoded.batch.logId, 'log-"L"');
  assert.equal(decoded.batch.epoch, 3);
  assert.deepEqual(decoded.batch.failover, failover);
  for (const entry of decoded.batch.entries) assert.ok(entry instanceof PackedEntry);
  return plain(decoded.batch.entries);
}

/** A frame made by hand: the head as given, then the bytes. */
function frameOf(head: string, bytes: Buffer = Buffer.alloc(0)): Buffer {
  const headBytes = Buffer.from(head, 'utf8');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(headBytes.length, 0);
  return Buffer.concat([prefix, headBytes, bytes]);
}

function errorOf(frame: Buffer): string {
  const decoded = decodeReplicateFrame(frame);
  assert.ok(!decoded.ok, 'refused');
  return decoded.error;
}

void describe('replication frame', () => {
  void it('carries ids, epochs and messages of every kind exactly', () => {
    const entries = entriesOf(
      [
        'plain',
        '',
        'quote " backslash \\ newline \n tab \t',
        'ünïcødé ✓ 🚀 \u2028 \u0000',
        'x'.repeat(100),
      ],
      41,
    );
    assert.deepEqual(roundTrip(entries), entries);
  });

  void it('carries an empty batch (a probe), starting at id 1', () => {
    assert.deepEqual(roundTrip([]), []);
  });

  void it('carries batches longer than one decoding run, and a message longer than a run', () => {
    const many = entriesOf(
      Array.from({ length: 2000 }, (_, index) => `message ${index} `.padEnd(100, 'x')),
    );
    assert.deepEqual(roundTrip(many), many);
    const large = entriesOf(['a', 'b'.repeat(200 * KiB), 'c', 'd'.repeat(64 * KiB), 'e']);
    assert.deepEqual(roundTrip(large), large);
    const mixed = entriesOf(['é'.repeat(70 * KiB), 'plain', '🚀']);
    assert.deepEqual(roundTrip(mixed), mixed);
  });

  void it('copies packed entries as bytes, a run at a time, mixed with plain ones', () => {
    const messages = ['é🚀', 'plain', '', 'x'.repeat(300)];
    const packed = packedOf(messages, 1, 5);
    assert.deepEqual(roundTrip(packed), entriesOf(messages));
    // Runs broken by a plain entry, by another buffer and by bytes that are not adjacent.
    const other = packedOf(['from another buffer', 'b'], 5);
    const apart = packedOf(['p', 'gap', 'q'], 7).filter((entry) => entry.message !== 'gap');
    const mixed: Entry[] = [
      ...packed,
      ...other,
      new PackedEntry(7, 1, apart[0]!.bytes, apart[0]!.byteOffset, apart[0]!.byteLength),
      new PackedEntry(8, 2, apart[1]!.bytes, apart[1]!.byteOffset, apart[1]!.byteLength),
      { id: 9, epoch: 1, message: 'plain ✓' },
      ...packedOf(['after'], 10),
    ];
    assert.deepEqual(roundTrip(mixed), plain(mixed));
    assert.deepEqual(
      plain(mixed).map((entry) => entry.message),
      [...messages, 'from another buffer', 'b', 'p', 'q', 'plain ✓', 'after'],
    );
  });

  void it('carries any well-formed messages, plain and packed in any mix', () => {
    // ASCII as often as not: a run of plain ASCII messages is measured and written as one text.
    const message = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    );
    const entry = fc.tuple(message, fc.boolean());
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), (drawn) => {
        const entries = drawn.map(([text, packed], index) =>
          packed ? packedOf([text], 1 + index)[0]! : { id: 1 + index, epoch: 1, message: text },
        );
        assert.deepEqual(
          roundTrip(entries).map((decoded) => decoded.message),
          drawn.map(([text]) => text),
        );
      }),
    );
  });

  void it('stops on messages whose bytes would not match their lengths (lone surrogates)', () => {
    // Refused at the boundary: joined, the two halves would become one four-byte character.
    const halves = entriesOf(['a\uD83D', '\uDE80b']);
    assert.throws(
      () => encodeReplicateFrame('L', 1, halves),
      (error: unknown) =>
        error instanceof InvariantError &&
        /entries 1\.\.2 took 6 bytes in a frame, not the 8 their lengths say/.test(error.message),
    );
  });

  void it('decodes into entries over the frame, made into strings only when read', () => {
    const frame = encodeReplicateFrame('L', 1, entriesOf(['abc', 'é']));
    const decoded = decodeReplicateFrame(frame);
    assert.ok(decoded.ok);
    const [first, second] = decoded.batch.entries;
    assert.ok(first instanceof PackedEntry && second instanceof PackedEntry);
    assert.equal(first.bytes, frame);
    assert.equal(frame.toString('utf8', first.byteOffset, first.byteOffset + 3), 'abc');
    assert.equal(second.byteLength, 2);
    assert.equal(second.message, 'é');
    assert.equal(JSON.stringify(second), '{"id":2,"epoch":2,"message":"é"}');
  });

  void it('carries the failover stamp, with and without url and keys', () => {
    const entries = entriesOf(['a', 'b "c"'], 7);
    const stamps: FailoverStamp[] = [
      { from: 'sub1', commitId: 6, startId: 5 },
      { from: 'sub"2', commitId: 0, startId: 0, url: 'http://sub2:8002' },
      { from: 'master', commitId: 8, startId: 1, keys: [['k "1"', 7, 2]] },
    ];
    for (const stamp of stamps) assert.deepEqual(roundTrip(entries, stamp), entries);
  });

  void it('refuses a frame cut before or inside its head', () => {
    assert.match(errorOf(Buffer.alloc(3)), /frame of 3 bytes is shorter than its head length/);
    const whole = encodeReplicateFrame('L', 1, entriesOf(['a']));
    assert.match(errorOf(whole.subarray(0, 10)), /frame head of \d+ bytes runs past/);
  });

  void it('refuses a head that is not JSON or not of the schema, naming the field', () => {
    assert.equal(errorOf(frameOf('{')), 'frame head is not valid JSON');
    assert.match(
      errorOf(frameOf('{"logId":"L","epoch":0,"fromId":1,"epochs":[],"lengths":[]}')),
      /^frame head\/epoch: /,
    );
    assert.match(
      errorOf(frameOf('{"logId":"L","epoch":1,"fromId":1,"epochs":[1],"lengths":[-1]}')),
      /^frame head\/lengths\/0: /,
    );
    assert.match(errorOf(frameOf('[]')), /^frame head: /);
  });

  void it('refuses lengths that differ from the epochs or from the bytes after the head', () => {
    const head = (lengths: string): string =>
      `{"logId":"L","epoch":1,"fromId":1,"epochs":[1,1],"lengths":[${lengths}]}`;
    assert.match(errorOf(frameOf(head('1'), Buffer.from('a'))), /1 lengths but 2 epochs/);
    assert.match(
      errorOf(frameOf(head('1,1'), Buffer.from('abc'))),
      /3 message bytes after its head, but its lengths add up to 2/,
    );
    assert.match(
      errorOf(frameOf(head('1,2'), Buffer.from('ab'))),
      /2 message bytes after its head, but its lengths add up to 3/,
    );
  });

  void it('refuses a message that is not UTF-8, naming its entry (lone surrogates included)', () => {
    const head = `{"logId":"L","epoch":1,"fromId":5,"epochs":[1,1],"lengths":[1,3]}`;
    // 0xED 0xA0 0x80 would be U+D800, a lone surrogate: not UTF-8.
    for (const bad of [
      [0xed, 0xa0, 0x80],
      [0xc3, 0x28, 0x41],
      [0x80, 0x41, 0x41],
    ]) {
      const bytes = Buffer.from([0x61, ...bad]);
      assert.equal(errorOf(frameOf(head, bytes)), 'message of entry 6 is not valid UTF-8');
    }
    // Valid UTF-8 as a whole ('é'), but the lengths cut the character in two.
    const split = `{"logId":"L","epoch":1,"fromId":5,"epochs":[1,1],"lengths":[1,1]}`;
    assert.equal(
      errorOf(frameOf(split, Buffer.from('é'))),
      'message of entry 5 is not valid UTF-8',
    );
  });

  void it('refuses ids that would run past the largest safe integer', () => {
    const head = `{"logId":"L","epoch":1,"fromId":${Number.MAX_SAFE_INTEGER},"epochs":[1,1],"lengths":[1,1]}`;
    assert.match(errorOf(frameOf(head, Buffer.from('ab'))), /past the largest safe integer/);
  });
});

void describe('plainRunEnd', () => {
  void it('ends a run of plain entries at a packed one, or where its characters pass the limit', () => {
    const plainOf = (...lengths: number[]): Entry[] =>
      entriesOf(lengths.map((length) => 'x'.repeat(length)));
    const half = JOIN_MAX_CHARS / 2;
    const cases: [string, Entry[], number, number][] = [
      ['one entry', plainOf(5), 0, 1],
      ['all of a short batch', plainOf(5, 0, 7), 0, 3],
      ['from the middle', plainOf(5, 0, 7), 1, 3],
      ['up to a packed entry', [...plainOf(1, 2), ...packedOf(['p'], 3), ...plainOf(4)], 0, 2],
      ['exactly the limit', plainOf(half, half, 1), 0, 2],
      ['one past the limit', plainOf(half, half + 1), 0, 1],
      ['a first message over the limit alone', plainOf(JOIN_MAX_CHARS + 1, 1), 0, 1],
    ];
    for (const [what, entries, start, end] of cases) {
      assert.equal(plainRunEnd(entries, start), end, what);
    }
  });
});

void describe('decodeMessages', () => {
  void it('cuts ASCII bytes at the lengths, across runs, with empty messages', () => {
    const messages = ['', 'a', 'x'.repeat(64 * KiB), '', 'y'.repeat(64 * KiB - 1), 'z', ''];
    const decoded = decodeMessages(
      Buffer.from(messages.join(''), 'latin1'),
      messages.map((message) => message.length),
    );
    assert.deepEqual(decoded, { messages });
  });

  void it('decodes UTF-8 message by message, and names the first invalid one', () => {
    const messages = ['é', '🚀 ok', 'plain'];
    const lengths = messages.map((message) => Buffer.byteLength(message));
    assert.deepEqual(decodeMessages(Buffer.from(messages.join('')), lengths), { messages });
    const bytes = Buffer.concat([Buffer.from('é'), Buffer.from([0xff]), Buffer.from('ok')]);
    assert.deepEqual(decodeMessages(bytes, [2, 1, 2]), { invalidIndex: 1 });
  });

  void it('gives nothing for no lengths', () => {
    assert.deepEqual(decodeMessages(Buffer.alloc(0), []), { messages: [] });
  });
});

void describe('compactPackedRuns', () => {
  void it('copies a run that uses less than half its buffer into one of its own', () => {
    const frame = packedOf(['a'.repeat(100), 'b', 'c', 'd'.repeat(300)], 7);
    const run = [frame[1]!, frame[2]!];
    const held = compactPackedRuns(run);
    assert.notEqual(held, run);
    assert.deepEqual(plain(held), plain(run));
    for (const entry of held) {
      assert.ok(entry instanceof PackedEntry);
      assert.notEqual(entry.bytes.buffer, frame[0]!.bytes.buffer);
    }
    const [first, second] = held;
    assert.ok(first instanceof PackedEntry && second instanceof PackedEntry);
    assert.equal(first.bytes, second.bytes, 'one buffer for the run');
    assert.equal(first.bytes.length, 2);
  });

  void it('keeps a run that fills most of its buffer, and plain entries, as they are', () => {
    const frame = packedOf(['x'.repeat(50), 'y'.repeat(50), 'z']);
    assert.equal(compactPackedRuns(frame), frame);
    const plainOnly = [{ id: 1, epoch: 1, message: 'p' }];
    assert.equal(compactPackedRuns(plainOnly), plainOnly);
  });

  void it('copies each small run of a mixed batch on its own', () => {
    const left = packedOf(['l1', 'l2', 'L'.repeat(500)], 1);
    const right = packedOf(['R'.repeat(500), 'r4'], 3);
    const run = [left[0]!, left[1]!, right[1]!, { id: 5, epoch: 1, message: 'plain' }];
    const held = compactPackedRuns(run);
    assert.deepEqual(plain(held), plain(run));
    const [l1, l2, r4, p5] = held;
    assert.ok(l1 instanceof PackedEntry && l2 instanceof PackedEntry && r4 instanceof PackedEntry);
    assert.equal(l1.bytes, l2.bytes);
    assert.notEqual(l1.bytes, r4.bytes);
    assert.equal(p5, run[3]);
  });
});
