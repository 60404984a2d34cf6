import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Entry } from '../core/entry.js';
import type { FailoverStamp } from '../core/replica-log.js';
import { decodeReplicateFrame } from '../protocol/frame.js';
import { HttpReplicationTransport } from './http-replication-transport.js';

/** A secondary that keeps every replication body it gets and answers with a report. */
function recordingSecondary(): { server: Server; bodies: Buffer[] } {
  const bodies: Buffer[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ logId: 'L', incarnation: 'i', hwm: 0, pending: 0 }));
    });
  });
  return { server, bodies };
}

void describe('HttpReplicationTransport', () => {
  const { server, bodies } = recordingSecondary();
  let peer: { name: string; url: string };
  const transport = new HttpReplicationTransport({ connectionsPerPeer: 1, clusterToken: 't' });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    peer = { name: 'sub1', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  });
  after(async () => {
    await transport.close();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });

  /** The failover stamp of each frame the secondary got, from the `first`-th on. */
  function stampsFrom(first: number): (FailoverStamp | undefined)[] {
    return bodies.slice(first).map((body) => {
      const decoded = decodeReplicateFrame(body);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
      return decoded.batch.failover;
    });
  }

  void it('sends one batch (the same entries) to level secondaries with the stamp of each send', async () => {
    const entries: Entry[] = [{ id: 1, epoch: 2, message: 'm' }];
    const stamp: FailoverStamp = { from: 'master', commitId: 0, startId: 0 };
    const first = bodies.length;
    for (const failover of [stamp, stamp, { ...stamp, commitId: 1 }, undefined, stamp]) {
      const answer = await transport.replicate(
        peer,
        { logId: 'L', epoch: 2, entries, ...(failover === undefined ? {} : { failover }) },
        5000,
      );
      assert.ok(answer.ok);
    }
    assert.deepEqual(stampsFrom(first), [
      stamp,
      stamp,
      { ...stamp, commitId: 1 },
      undefined,
      stamp,
    ]);
    assert.deepEqual(bodies[first], bodies[first + 1]);
  });

  void it('sends the log identity and epoch of each send, the same entries or not', async () => {
    const entries: Entry[] = [{ id: 5, epoch: 1, message: 'é' }];
    const first = bodies.length;
    for (const [logId, epoch] of [
      ['L', 1],
      ['L', 3],
      ['M', 3],
    ] as const) {
      await transport.replicate(peer, { logId, epoch, entries }, 5000);
    }
    const heads = bodies.slice(first).map((body) => {
      const decoded = decodeReplicateFrame(body);
      assert.ok(decoded.ok);
      return [decoded.batch.logId, decoded.batch.epoch];
    });
    assert.deepEqual(heads, [
      ['L', 1],
      ['L', 3],
      ['M', 3],
    ]);
  });
});
