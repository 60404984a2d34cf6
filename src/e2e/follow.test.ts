/**
 * Following the log on real processes: the long poll (`?waitMs=`) on every node, read-your-write
 * on a secondary, the event stream (`/logs/stream`) through a burst of appends, a reader that
 * reconnects in the middle of a burst with Last-Event-ID, a reader that stops reading, the
 * followers' limit, and streams ended by a node that stops.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StreamReader } from './follow-reader.js';
import {
  annotated,
  Cluster,
  pool,
  request,
  waitFor,
  type ErrorBody,
  type LogEntry,
  type NodeProcess,
} from './harness.js';

const BURST = 2000;
const CLIENTS = 16;

/** `count` appends of `w=1` by CLIENTS concurrent clients; resolves when all are answered. */
async function burst(cluster: Cluster, prefix: string, count = BURST): Promise<void> {
  await pool(count, CLIENTS, async (index) => {
    const answer = await cluster.append({ message: `${prefix}-${index}`, w: 1 });
    assert.equal(answer.status, 201, answer.text);
  });
}

async function lastId(node: NodeProcess): Promise<number> {
  const answer = await request<{ log: { lastId: number } }>(`${node.url}/health`);
  return answer.body.log.lastId;
}

/** One sample of `name` (without labels) from a node's /metrics. */
async function metric(node: NodeProcess, name: string): Promise<number | undefined> {
  const text = (await request<string>(`${node.url}/metrics`)).text;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The entries a stream delivered, parsed, checked to carry the id of their event. */
function delivered(reader: StreamReader): LogEntry[] {
  return reader.events.map((event) => {
    const entry = JSON.parse(event.data) as LogEntry;
    assert.equal(String(entry.id), event.id, 'an event carries its entry id');
    return entry;
  });
}

describe('following the log (master + 2 secondaries)', () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await Cluster.start({
      secondaries: 2,
      env: { STREAM_KEEP_ALIVE_MS: '2000' },
      secondaryEnv: { FAULT_INJECTION: 'true' },
    });
  });

  after(async () => {
    await (cluster as Cluster | undefined)?.stop();
  });

  test('a long poll answers at the first new entry on every node, and [] when time is up', async () => {
    await annotated(cluster, async () => {
      const since = await lastId(cluster.master);
      const polls = cluster.nodes.map((node) =>
        request<LogEntry[]>(`${node.url}/logs?since=${since}&waitMs=20000`, {
          timeoutMs: 25_000,
        }),
      );
      assert.equal((await cluster.append({ message: 'wake up', w: 3 })).status, 201);
      for (const [index, poll] of polls.entries()) {
        const answer = await poll;
        assert.equal(answer.status, 200, cluster.nodes[index]!.name);
        assert.deepEqual(answer.body, [{ id: since + 1, message: 'wake up' }]);
      }
      const quiet = await request<LogEntry[]>(
        `${cluster.secondaries[0]!.url}/logs?since=${since + 1}&waitMs=300`,
      );
      assert.equal(quiet.status, 200);
      assert.deepEqual(quiet.body, []);
    });
  });

  test('read-your-write on a secondary that is behind: since=<id - 1>&waitMs', async () => {
    await annotated(cluster, async () => {
      await cluster.setFaults('sub1', { delayMs: 500 });
      try {
        const append = await cluster.append({ message: 'mine', w: 1 });
        assert.equal(append.status, 201);
        const id = append.body.log.id;
        const answer = await request<LogEntry[]>(
          `${cluster.node('sub1').url}/messages?since=${id - 1}&waitMs=20000`,
          { timeoutMs: 25_000 },
        );
        assert.deepEqual(answer.body, [{ id, message: 'mine' }]);
      } finally {
        await cluster.setFaults('sub1', { delayMs: 0 });
      }
    });
  });

  test('a stream on every node delivers every entry of a burst, once and in order', async () => {
    await annotated(cluster, async () => {
      const since = await lastId(cluster.master);
      const readers = await Promise.all(
        cluster.nodes.map((node) => StreamReader.open(`${node.url}/logs/stream?since=${since}`)),
      );
      try {
        await burst(cluster, 'burst');
        const expected = (await cluster.converged(since + BURST)).slice(since);
        for (const [index, reader] of readers.entries()) {
          const name = cluster.nodes[index]!.name;
          assert.equal(reader.status, 200, name);
          await waitFor(() => reader.events.length >= BURST, 20_000, `${name}: ${BURST} events`);
          assert.deepEqual(delivered(reader), expected, `${name}: the log, exactly`);
        }
      } finally {
        for (const reader of readers) reader.close();
      }
    });
  });

  test('a reader that reconnects with Last-Event-ID in a burst sees every entry exactly once', async (t) => {
    await annotated(cluster, async () => {
      // The burst goes in waves, and the reader reconnects once per wave, counted: how often it
      // reconnects, and that it does so while entries arrive, depend on the waves, not on how fast
      // this process reads compared with how fast the appends go.
      const waves = 10;
      const perWave = BURST / waves;
      const since = await lastId(cluster.master);
      const url = `${cluster.node('sub2').url}/logs/stream?since=${since}`;
      const seen: LogEntry[] = [];
      const resumedFrom: number[] = [];
      let reconnectsInWave = 0;
      let reader = await StreamReader.open(url);
      try {
        for (let wave = 0; wave < waves; wave++) {
          assert.equal(reader.status, 200);
          const waveAnswered = { done: false };
          const appending = burst(cluster, `resume-${wave}`, perWave).finally(() => {
            waveAnswered.done = true;
          });
          // Cut the connection once the reader holds some of this wave: it resumes past the
          // entries of this wave it has, while the rest of the wave is still being appended
          // (usually) or waits on sub2 to be sent (otherwise).
          const before = wave * perWave;
          await waitFor(
            () => seen.length + reader.events.length > before,
            20_000,
            `an entry of wave ${wave + 1} of ${waves} on the stream`,
          );
          reader.close();
          await reader.ended;
          seen.push(...delivered(reader));
          const last = seen.at(-1)!;
          resumedFrom.push(last.id);
          if (!waveAnswered.done) reconnectsInWave += 1;
          reader = await StreamReader.open(url, { 'last-event-id': String(last.id) });
          await appending;
        }
        assert.equal(reader.status, 200);
        await waitFor(
          () => seen.length + reader.events.length >= BURST,
          20_000,
          `${BURST} entries after the last reconnect`,
        );
        reader.close();
        await reader.ended;
        seen.push(...delivered(reader));
      } finally {
        reader.close();
      }
      const expected = (await cluster.converged(since + BURST)).slice(since);
      t.diagnostic(
        `${reconnectsInWave} of ${waves} reconnects while their wave was being appended`,
      );
      assert.equal(resumedFrom.length, waves, 'one reconnect per wave');
      for (const [wave, id] of resumedFrom.entries()) {
        assert.ok(
          id > since + wave * perWave,
          `reconnect ${wave + 1} resumed from ${id}, inside wave ${wave + 1} or later`,
        );
      }
      assert.deepEqual(seen, expected, 'every entry once, in order');
    });
  });

  test('a node that stops ends its streams cleanly', async () => {
    await annotated(cluster, async () => {
      const sub2 = cluster.node('sub2');
      const reader = await StreamReader.open(`${sub2.url}/logs/stream`);
      await waitFor(() => reader.events.length > 0, 5000, 'the first events');
      await sub2.stop(10_000);
      await reader.ended;
      assert.equal(sub2.lastExit?.signal, null, `sub2 exited by itself: ${sub2.exitText ?? ''}`);
    });
  });
});

describe('following with small limits (master + 2 secondaries)', () => {
  let cluster: Cluster;
  const MAX_FOLLOWERS = 3;

  before(async () => {
    cluster = await Cluster.start({
      secondaries: 2,
      env: {
        MAX_FOLLOWERS: String(MAX_FOLLOWERS),
        MAX_STREAM_BUFFER_BYTES: '16384',
        STREAM_KEEP_ALIVE_MS: '200',
      },
    });
  });

  after(async () => {
    await (cluster as Cluster | undefined)?.stop();
  });

  test('a reader that stops reading is disconnected, and the node holds nothing for it', async (t) => {
    await annotated(cluster, async () => {
      const master = cluster.master;
      const counter = 'rlog_follow_slow_readers_disconnected_total';
      assert.equal(await metric(master, counter), 0);
      const reader = await StreamReader.open(`${master.url}/logs/stream`);
      assert.equal(reader.status, 200);
      reader.pause();
      const rssBefore = (await metric(master, 'process_resident_memory_bytes')) ?? 0;
      // 16 MiB of entries: more than the kernel's socket buffers on both sides can hold.
      const message = 'x'.repeat(4096);
      await pool(32, 2, async () => {
        const answer = await cluster.append({ messages: Array(128).fill(message), w: 1 });
        assert.equal(answer.status, 201, answer.text);
      });
      await waitFor(async () => (await metric(master, counter)) === 1, 30_000, 'a disconnection');
      await waitFor(
        async () => (await metric(master, 'rlog_follow_streams')) === 0,
        5000,
        'the stream to be counted out',
      );
      const rssAfter = (await metric(master, 'process_resident_memory_bytes')) ?? 0;
      t.diagnostic(
        `master RSS ${rssBefore >> 20} MiB before, ${rssAfter >> 20} MiB after 16 MiB appended`,
      );
      reader.response.resume();
      await reader.ended;
      assert.ok(
        reader.events.length < 32 * 128,
        `got ${reader.events.length}: cut off before the end`,
      );
      const lines = master.events('follow-slow-reader');
      assert.equal(lines.length, 1, 'the node says why');
    });
  });

  test('beyond MAX_FOLLOWERS, a stream or a waiting read gets 503 OVERLOADED with Retry-After', async () => {
    await annotated(cluster, async () => {
      const node = cluster.secondaries[0]!;
      const since = (await cluster.converged(1, 30_000)).length;
      const streams = await Promise.all(
        Array.from({ length: MAX_FOLLOWERS - 1 }, () =>
          StreamReader.open(`${node.url}/logs/stream`),
        ),
      );
      const poll = request<LogEntry[]>(`${node.url}/logs?since=${since}&waitMs=20000`, {
        timeoutMs: 25_000,
      });
      try {
        await waitFor(
          async () => (await metric(node, 'rlog_follow_waiting_reads')) === 1,
          5000,
          'the read to wait',
        );
        for (const path of ['/logs/stream', `/logs?since=${since}&waitMs=1000`]) {
          const refused = await request<ErrorBody>(`${node.url}${path}`);
          assert.equal(refused.status, 503, path);
          assert.equal(refused.body.error.code, 'OVERLOADED');
          assert.match(refused.body.error.message, /MAX_FOLLOWERS/);
          assert.equal(refused.headers.get('retry-after'), '1');
        }
        assert.equal((await cluster.append({ message: 'go', w: 3 })).status, 201);
        assert.equal((await poll).body[0]?.message, 'go');
      } finally {
        for (const stream of streams) stream.close();
      }
    });
  });
});
