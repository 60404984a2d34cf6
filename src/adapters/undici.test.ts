import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpReplicationTransport } from './http-replication-transport.js';
import { undici, undiciIfLoaded } from './undici.js';

// Each test file runs in a process of its own: nothing has loaded undici through here yet.
void describe('undici, loaded on first use', () => {
  void it('answers a request of a transport closed while undici loaded, and makes no pool', async () => {
    assert.equal(undiciIfLoaded(), undefined, 'undici is not loaded before the first request');
    const transport = new HttpReplicationTransport({
      connectionsPerPeer: 1,
      clusterToken: undefined,
    });
    // Nothing listens there: a pool made after the close would answer with a connection error.
    const peer = { name: 'sub1', url: 'http://127.0.0.1:9' };
    const answer = transport.heartbeat(peer, { logId: 'L', epoch: 1, lastId: 0 }, 1000);
    await transport.close();
    assert.deepEqual(await answer, { ok: false, error: 'the transport is closed' });
  });

  void it('loads undici once: the same module every time, and at hand once loaded', async () => {
    const first = await undici();
    assert.equal(await undici(), first);
    assert.equal(undiciIfLoaded(), first);
    assert.equal(typeof first.Pool, 'function');
  });
});
