import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry } from '../core/entry.js';
import { entriesJson } from '../protocol/entry-json.js';
import { EntriesJsonStream, READ_CHUNK_ENTRIES } from './read-routes.js';

/** A log of `count` entries, counting how often it is read. */
function fakeLog(count: number): { read(sinceId: number, limit: number): Entry[]; reads: number } {
  const all: Entry[] = Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    epoch: 1,
    message: `m"${index + 1}\u00e9`,
  }));
  const log = {
    reads: 0,
    read(sinceId: number, limit: number): Entry[] {
      log.reads += 1;
      return all.slice(sinceId, sinceId + limit);
    },
  };
  return log;
}

async function collect(stream: EntriesJsonStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

void describe('EntriesJsonStream', () => {
  for (const [since, upTo] of [
    [0, 0],
    [0, 1],
    [0, READ_CHUNK_ENTRIES],
    [0, READ_CHUNK_ENTRIES + 1],
    [5, 2 * READ_CHUNK_ENTRIES + 7],
  ] as const) {
    void it(`streams ids ${since + 1}..${upTo} exactly as entriesJson would`, async () => {
      const log = fakeLog(3 * READ_CHUNK_ENTRIES);
      const text = await collect(new EntriesJsonStream(log, since, upTo));
      assert.equal(text, entriesJson(log.read(since, upTo - since)));
      const parsed = JSON.parse(text) as { id: number }[];
      assert.equal(parsed.length, upTo - since);
      assert.equal(parsed[0]?.id, upTo > since ? since + 1 : undefined);
    });
  }

  void it('ends a valid array where the log ends if it holds less than asked', async () => {
    const text = await collect(new EntriesJsonStream(fakeLog(1500), 0, 4000));
    assert.equal((JSON.parse(text) as unknown[]).length, 1500);
  });

  void it('reads one chunk per event-loop turn, so other work runs in between', async () => {
    const log = fakeLog(10 * READ_CHUNK_ENTRIES);
    const stream = new EntriesJsonStream(log, 0, 10 * READ_CHUNK_ENTRIES);
    let turns = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    await collect(stream);
    done = true;
    assert.ok(log.reads >= 10, `${log.reads} reads`);
    assert.ok(turns >= 10, `only ${turns} event-loop turns passed while streaming 10 chunks`);
  });

  void it('ends with an error, never a short array that looks whole, when a read fails', async () => {
    const log = fakeLog(3 * READ_CHUNK_ENTRIES);
    let reads = 0;
    const failing = {
      read(sinceId: number, limit: number): Entry[] {
        reads += 1;
        if (reads === 2) throw new Error('EIO: i/o error, read');
        return log.read(sinceId, limit);
      },
    };
    await assert.rejects(collect(new EntriesJsonStream(failing, 0, 3 * READ_CHUNK_ENTRIES)), /EIO/);
  });

  void it('stops reading once destroyed', async () => {
    const log = fakeLog(10 * READ_CHUNK_ENTRIES);
    const stream = new EntriesJsonStream(log, 0, 10 * READ_CHUNK_ENTRIES);
    stream.once('data', () => stream.destroy());
    await new Promise((resolve) => stream.once('close', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(log.reads <= 2, `${log.reads} reads after destroy`);
  });
});
