import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../adapters/clock.js';
import type { LogStore } from '../adapters/log-store.js';
import { MemoryLogStore } from '../adapters/memory-log-store.js';
import { loadNodeConfig, type SecondaryConfig } from '../config/config.js';
import type { Entry } from '../core/entry.js';
import { decodeReplicateFrame, encodeReplicateFrame } from '../protocol/frame.js';
import { PackedEntry } from '../protocol/packed-entry.js';
import { SecondaryNode } from './secondary-node.js';

const LOG = 'log-S';

/** The memory store, recording every batch it is asked to append. */
function recordingStore(): { store: LogStore; appended: Entry[][] } {
  const store = new MemoryLogStore();
  const appended: Entry[][] = [];
  const append = store.append.bind(store);
  store.append = (entries) => {
    appended.push([...entries]);
    return append(entries);
  };
  return { store, appended };
}

/** Entries fromId.. as the secondary gets them: decoded from a frame, views of its bytes. */
function framed(fromId: number, messages: readonly string[]): readonly Entry[] {
  const entries = messages.map((message, index) => ({ id: fromId + index, epoch: 1, message }));
  const decoded = decodeReplicateFrame(encodeReplicateFrame(LOG, 1, entries));
  assert.ok(decoded.ok);
  return decoded.batch.entries;
}

void describe('SecondaryNode', () => {
  void it('holds an entry pending behind a gap in a buffer of its own, not in its frame', async () => {
    const { config } = loadNodeConfig('secondary', [], { MASTER_URL: 'http://127.0.0.1:1' });
    const { store, appended } = recordingStore();
    const node = new SecondaryNode({
      config: config as SecondaryConfig,
      store,
      clock: systemClock,
      random: Math.random,
      newId: () => 'secondary-test',
      logger: pino({ level: 'silent' }),
    });
    await node.start();
    // 3 arrives before 1..2, in a frame that also carries a 64 KiB message (4, not sent on).
    const frame = framed(3, ['three', 'x'.repeat(64 * 1024)]);
    const frameBuffer = (frame[0] as PackedEntry).bytes.buffer;
    const early = await node.replicate({ logId: LOG, epoch: 1, entries: [frame[0]!] });
    assert.equal(early.kind, 'replied');
    assert.equal(appended.length, 0, 'nothing stored past the gap');
    const filled = await node.replicate({ logId: LOG, epoch: 1, entries: framed(1, ['1', '2']) });
    assert.equal(filled.kind, 'replied');
    const three = appended.flat().find((entry) => entry.id === 3);
    assert.ok(three instanceof PackedEntry, 'stored as bytes');
    assert.equal(three.message, 'three');
    assert.notEqual(three.bytes.buffer, frameBuffer, 'the 64 KiB frame was not kept for it');
    assert.deepEqual(
      store.read(1, 10).map(({ id, message }) => [id, message]),
      [
        [1, '1'],
        [2, '2'],
        [3, 'three'],
      ],
    );
  });
});
