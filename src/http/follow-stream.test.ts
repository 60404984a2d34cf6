import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../testing/manual-clock.js';
import { FakeLog, FakeReader } from './follow-fixtures.js';
import { KEEP_ALIVE_COMMENT, STREAM_PREAMBLE } from './follow-sse.js';
import {
  END_GRACE_MS,
  LogEventStream,
  STREAM_CHUNK_BYTES,
  STREAM_CHUNK_ENTRIES,
  type StreamLimits,
} from './follow-stream.js';

const KEEP_ALIVE_MS = 1000;
const KiB = 1024;

function ids(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** A stream of `log` after `startAfterId`, to a reader that may be paused before it starts. */
function open(
  log: FakeLog,
  startAfterId = 0,
  options: { limits?: Partial<StreamLimits>; paused?: boolean } = {},
) {
  const clock = new ManualClock();
  const reader = new FakeReader();
  if (options.paused === true) reader.pause();
  const slowReaders: number[] = [];
  let closed = 0;
  const stream = new LogEventStream(
    log,
    reader.sink,
    clock,
    { keepAliveMs: KEEP_ALIVE_MS, maxBufferBytes: 64 * KiB, ...options.limits },
    {
      slowReader: ({ nextId }) => {
        slowReaders.push(nextId);
      },
      closed: () => {
        closed += 1;
      },
    },
    startAfterId,
  );
  stream.start();
  return { clock, reader, stream, slowReaders, closedCount: () => closed };
}

void describe('LogEventStream', () => {
  void it('sends every entry after the start id, oldest first, then each new one', async () => {
    const log = new FakeLog();
    log.append(5);
    const { clock, reader } = open(log, 2);
    await clock.advance(0);
    assert.ok(reader.text.startsWith(STREAM_PREAMBLE));
    assert.deepEqual(reader.ids(), [3, 4, 5]);
    log.append(2, (id) => `line\n"${id}"`);
    await clock.advance(0);
    assert.deepEqual(reader.ids(), ids(3, 7));
    assert.deepEqual(reader.data().at(-1), { id: 7, message: 'line\n"7"' });
    assert.match(reader.text, /\nid: 7\ndata: \{"id":7,"message":"line\\n\\"7\\""\}\n\n$/);
  });

  void it('waits for entries past the end of the log (a reader ahead of this node)', async () => {
    const log = new FakeLog();
    log.append(2);
    const { clock, reader } = open(log, 4);
    await clock.advance(0);
    log.append(3);
    await clock.advance(0);
    assert.deepEqual(reader.ids(), [5]);
  });

  void it('reads a backlog from the store in bounded chunks, one per turn', async () => {
    const log = new FakeLog();
    log.append(2 * STREAM_CHUNK_ENTRIES + 500);
    const { clock, reader } = open(log, 0, { limits: { maxBufferBytes: 64 * 1024 * KiB } });
    await clock.advance(0);
    assert.deepEqual(reader.ids(), ids(1, 2 * STREAM_CHUNK_ENTRIES + 500));
    assert.equal(log.reads, 3);

    const big = new FakeLog();
    big.append(5, () => 'x'.repeat(100 * KiB));
    const second = open(big, 0, { limits: { maxBufferBytes: 64 * 1024 * KiB } });
    await second.clock.advance(0);
    assert.deepEqual(second.reader.ids(), ids(1, 5));
    assert.equal(big.reads, Math.ceil(5 / Math.floor(STREAM_CHUNK_BYTES / (100 * KiB))));
  });

  void it('sends a keep-alive comment on a quiet stream only', async () => {
    const log = new FakeLog();
    const { clock, reader } = open(log);
    const comments = (): number => reader.text.split(KEEP_ALIVE_COMMENT).length - 1;
    await clock.advance(KEEP_ALIVE_MS - 1);
    assert.equal(comments(), 0);
    await clock.advance(1);
    assert.equal(comments(), 1);
    await clock.advance(KEEP_ALIVE_MS / 2);
    log.append(1);
    await clock.advance(KEEP_ALIVE_MS / 2);
    assert.equal(comments(), 1, 'an event was sent in that interval');
    await clock.advance(KEEP_ALIVE_MS);
    assert.equal(comments(), 2);
  });

  void it('holds at most its buffer limit and one chunk for a paused reader, then resumes exactly', async () => {
    const log = new FakeLog();
    const count = 3000;
    const { clock, reader, stream, slowReaders } = open(log, 0, { paused: true });
    log.append(count, (id) => `${id}:${'y'.repeat(KiB)}`);
    await clock.advance(0);
    const bound = 64 * KiB + STREAM_CHUNK_BYTES + STREAM_CHUNK_ENTRIES * 64;
    assert.ok(reader.sink.writableLength <= bound, `${reader.sink.writableLength} > ${bound}`);
    assert.ok(stream.nextId < count / 2, `it stopped reading the log (next ${stream.nextId})`);
    reader.resume();
    await clock.advance(0);
    assert.deepEqual(reader.ids(), ids(1, count));
    assert.deepEqual(slowReaders, []);
  });

  void it('disconnects a reader that takes nothing for a keep-alive interval while full', async () => {
    const log = new FakeLog();
    const { clock, reader, slowReaders, closedCount } = open(log, 0, { paused: true });
    log.append(2000, () => 'z'.repeat(KiB));
    await clock.advance(0);
    for (let interval = 0; interval < 5; interval++) {
      reader.takeOne();
      await clock.advance(KEEP_ALIVE_MS);
      assert.deepEqual(slowReaders, [], `a reader that reads a little is kept (${interval})`);
    }
    await clock.advance(KEEP_ALIVE_MS);
    assert.equal(slowReaders.length, 1);
    assert.ok(reader.sink.destroyed);
    assert.equal(closedCount(), 1);
    assert.equal(log.listenerCount, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  void it('ends cleanly when asked (the node closes) and stops following', async () => {
    const log = new FakeLog();
    log.append(2);
    const { clock, reader, stream, closedCount } = open(log);
    await clock.advance(0);
    stream.end();
    await clock.advance(0);
    assert.ok(reader.sink.writableFinished);
    assert.equal(closedCount(), 1);
    assert.equal(log.listenerCount, 0);
    log.append(1);
    await clock.advance(END_GRACE_MS);
    assert.deepEqual(reader.ids(), [1, 2]);
    assert.equal(clock.pendingTimers, 0);
  });

  void it('lets go of everything when the reader goes away', async () => {
    const log = new FakeLog();
    const { clock, reader, closedCount } = open(log);
    reader.sink.destroy();
    await clock.advance(0);
    assert.equal(closedCount(), 1);
    assert.equal(log.listenerCount, 0);
    assert.equal(clock.pendingTimers, 0);
  });
});
