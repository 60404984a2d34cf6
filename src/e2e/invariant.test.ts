/**
 * A broken invariant stops the node: a segment file changed under a running node no longer holds
 * what its index says, the next read of it trips the file store's assertion, and the node logs
 * one fatal line and exits with INVARIANT_EXIT_CODE instead of serving what is on the disk.
 */
import assert from 'node:assert/strict';
import { openSync, closeSync, writeSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { INVARIANT_EXIT_CODE } from '../node/fatal.js';
import { lastSegment } from './durability-helpers.js';
import { request, withCluster } from './harness.js';

test('a read that trips an invariant stops the node with exit 70 and one fatal line', async () => {
  await withCluster({ secondaries: 0, dataDirs: true }, async (cluster) => {
    const { master } = cluster;
    for (const message of ['one', 'two', 'three']) {
      const answer = await cluster.append({ message });
      assert.equal(answer.status, 201, answer.text);
    }
    assert.equal((await request(`${master.url}/logs/2`)).status, 200, 'intact, entry 2 reads');

    // Zeros over the whole segment, its size unchanged: the index still points into it.
    const segment = lastSegment(master.dataDir!);
    const fd = openSync(segment, 'r+');
    try {
      writeSync(fd, Buffer.alloc(statSync(segment).size), 0, undefined, 0);
    } finally {
      closeSync(fd);
    }

    const answer = await request(`${master.url}/logs/2`, { timeoutMs: 5000 }).catch(
      (error: unknown) => error,
    );
    assert.ok(
      answer instanceof Error,
      `the request gets no answer, the connection closes; got ${JSON.stringify(answer)}`,
    );
    const exit = await master.waitForExit(10_000);
    assert.deepEqual(exit, { code: INVARIANT_EXIT_CODE, signal: null });

    const fatal = master.events('invariant-broken');
    assert.equal(fatal.length, 1, 'one invariant-broken line');
    const line = fatal[0]!;
    assert.equal(line['level'], 'fatal');
    assert.equal(line['method'], 'GET');
    assert.equal(line['url'], '/logs/2');
    const error = line['err'] as { type: string; message: string; stack: string };
    assert.equal(error.type, 'InvariantError');
    assert.match(error.message, /entry 2 in .*\.seg .* has length 0 on disk, 3 in the index/);
    assert.match(error.stack, /FileLogStore/);
    assert.match(String(line['msg']), /stopping the node \(exit 70\)/);
  });
});
