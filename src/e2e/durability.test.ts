/**
 * Durable storage (DATA_DIR, FSYNC=always) with real processes: kill -9 of the master and of a
 * secondary under a keyed, retrying load; a torn tail and a corrupt record written on purpose into
 * a segment file; idempotency keys across a restart.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import {
  historyProblems,
  KeyedLoad,
  lastSegment,
  LogReads,
  recordsIn,
  recordsOf,
  segmentFiles,
  type Ack,
} from './durability-helpers.js';
import {
  gapFree,
  isPrefix,
  request,
  sleep,
  waitFor,
  withCluster,
  type BatchBody,
  type Cluster,
  type LogEntry,
  type NodeProcess,
} from './harness.js';

const CLIENTS = 12;

function dataDirOf(node: NodeProcess): string {
  const dir = node.dataDir;
  assert.ok(dir !== undefined, `${node.name} has no DATA_DIR`);
  return dir;
}

function maxId(acks: readonly Ack[]): number {
  return acks.reduce((max, ack) => Math.max(max, ack.id), 0);
}

/** Appends `count` messages one by one (one record each) with w=1; returns them. */
async function appendSequentially(
  cluster: Cluster,
  prefix: string,
  count: number,
): Promise<string[]> {
  const messages: string[] = [];
  for (let index = 1; index <= count; index++) {
    const message = `${prefix}-${index}`;
    const answer = await cluster.append({ message, w: 1 });
    assert.equal(answer.status, 201, answer.text);
    assert.equal(answer.body.log.id, index);
    messages.push(message);
  }
  return messages;
}

function summary(load: KeyedLoad): string {
  const byStatus = new Map<number, number>();
  for (const ack of load.acks) byStatus.set(ack.status, (byStatus.get(ack.status) ?? 0) + 1);
  return `${load.acks.length} answers (${[...byStatus].map(([status, count]) => `${status}: ${count}`).join(', ')}), ${load.unknown.length} unknown, ${load.networkErrors} network errors, ${load.unavailable} 503s`;
}

test('kill -9 of the master under load: no acknowledged append lost, no id reused, keys kept', async (t) => {
  await withCluster({ dataDirs: true }, async (cluster) => {
    const { master } = cluster;
    const load = new KeyedLoad({
      url: master.url,
      clients: CLIENTS,
      prefix: 'mk',
      pickW: (client, index) => ((client + index) % 2) + 1,
      maxPerClient: 2000,
      giveUpAt: performance.now() + 25_000,
    });
    const reads = new LogReads();
    let killAt = 0;
    let restartedAt = 0;
    let snapshot: LogEntry[] = [];
    let afterRestart: LogEntry[] = [];
    try {
      await waitFor(() => load.count >= 150, 10_000, '150 answers before the crash');
      snapshot = await reads.read(cluster, master);
      killAt = performance.now();
      await master.kill();
      await sleep(200);
      await master.start();
      restartedAt = performance.now();
      afterRestart = await reads.read(cluster, master);
      const before = load.acks.filter((ack) => ack.at < killAt).length;
      await waitFor(
        () => load.acks.filter((ack) => ack.at > restartedAt).length >= 150,
        15_000,
        '150 answers after the restart',
      );
      assert.ok(before >= 100, `only ${before} answers before the kill`);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.problems, [], summary(load));

    // Monotonic reads across the restart: what the master showed before, it shows after.
    assert.ok(
      isPrefix(snapshot, afterRestart),
      `the master showed ${snapshot.length} entries before kill -9, ${afterRestart.length} right after the restart, not a prefix`,
    );

    const beforeKill = load.acks.filter((ack) => ack.at < killAt);
    const afterKill = load.acks.filter((ack) => ack.at >= killAt);
    const maxBefore = maxId(beforeKill);
    assert.ok(
      afterRestart.length >= maxBefore,
      `the master restarted with ${afterRestart.length} entries; ${maxBefore} were acknowledged`,
    );
    // No id reuse: an append sent after the restart gets an id above every id acknowledged
    // before the kill. (An answer merely arriving after `killAt` may come from the old master in
    // the moment before SIGKILL lands; the history check below covers those: every answer, 504s
    // included, must be at its id in the final log, so no id went to two messages.)
    const reused = afterKill.filter(
      (ack) => ack.status === 201 && ack.sentAt >= restartedAt && ack.id <= maxBefore,
    );
    assert.deepEqual(
      reused.map((ack) => `${ack.message}@${ack.id}`),
      [],
      `ids given to appends sent after the restart at or below ${maxBefore}`,
    );
    const acrossCrash = load.acks.filter((ack) => ack.sentAt < killAt && ack.at > killAt);
    t.diagnostic(
      `${summary(load)}; ${beforeKill.length} before the kill (max id ${maxBefore}), ${afterRestart.length} entries on restart, ${acrossCrash.length} retried across the crash (${acrossCrash.filter((ack) => ack.status === 200).length} as 200)`,
    );
    assert.ok(acrossCrash.length >= 1, 'no append was retried across the crash');

    // A retried key after the restart answers the original entry, and appends nothing.
    const lengthBeforeReplays = (await reads.read(cluster, master)).length;
    const sample = beforeKill.filter((_, index) => index % 5 === 0).slice(0, 40);
    for (const ack of sample) {
      const answer = await cluster.append(
        { message: ack.message, w: ack.w },
        { headers: { 'idempotency-key': ack.key }, timeoutMs: 10_000 },
      );
      assert.equal(answer.status, 200, `replay of ${ack.key}: ${answer.text}`);
      assert.deepEqual(answer.body.log, { id: ack.id, message: ack.message }, ack.key);
    }
    assert.equal(
      (await reads.read(cluster, master)).length,
      lengthBeforeReplays,
      'a replay appended',
    );

    const log = reads.record(master.name, await cluster.converged(lengthBeforeReplays, 20_000));
    assert.equal(log.length, lengthBeforeReplays);
    for (const sub of cluster.secondaries) {
      assert.deepEqual(await reads.read(cluster, sub), log, `${sub.name} differs from the master`);
    }
    assert.deepEqual(historyProblems(cluster, load, reads), [], summary(load));
    const stored = new Set(log.map((entry) => entry.message));
    const missing = load.acks.filter((ack) => !stored.has(ack.message));
    assert.deepEqual(missing, []);
    assert.ok(gapFree(log));
  });
});

test('kill -9 of a secondary under w=1..3 load: it restarts holding its entries, then converges', async (t) => {
  await withCluster({ dataDirs: true }, async (cluster) => {
    const sub1 = cluster.node('sub1');
    const load = new KeyedLoad({
      url: cluster.master.url,
      clients: CLIENTS,
      prefix: 'sk',
      pickW: (client, index) => ((client + index) % 3) + 1,
      timeoutMs: 5000,
      maxPerClient: 2000,
      giveUpAt: performance.now() + 25_000,
    });
    const reads = new LogReads();
    let killAt = 0;
    let onRestart: LogEntry[] = [];
    let masterOnRestart: LogEntry[] = [];
    try {
      await waitFor(
        () => load.acks.filter((ack) => ack.acks >= 3).length >= 50,
        10_000,
        '50 answers with acks 3 before the crash',
      );
      killAt = performance.now();
      await sub1.kill();
      await sleep(300);
      await sub1.start();
      // Right after the restart, before (or while) the master catches it up.
      onRestart = await reads.read(cluster, sub1);
      masterOnRestart = await reads.read(cluster, cluster.master);
      const restartedAt = performance.now();
      await waitFor(
        () => load.acks.filter((ack) => ack.at > restartedAt && ack.w === 3).length >= 30,
        15_000,
        '30 w=3 answers after the restart',
      );
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.problems, [], summary(load));

    // Every entry acknowledged by all 3 nodes before the kill is on sub1 straight from its disk.
    const heldBySub1 = load.acks.filter((ack) => ack.at < killAt && ack.acks >= 3);
    const required = maxId(heldBySub1);
    t.diagnostic(
      `${summary(load)}; ${heldBySub1.length} acknowledged by 3 nodes before the kill (max id ${required}); sub1 showed ${onRestart.length} right after its restart, master ${masterOnRestart.length}`,
    );
    const started = sub1.events('secondary-started');
    assert.equal(started.length, 2, 'sub1 started twice');
    const openedWith = started[1]!['lastId'];
    assert.ok(
      typeof openedWith === 'number' && openedWith >= required,
      `sub1 reopened its DATA_DIR with entries 1..${String(openedWith)}; ${required} were acknowledged by all 3 nodes before the kill`,
    );
    assert.ok(
      isPrefix(onRestart, masterOnRestart),
      `sub1 right after the restart (${onRestart.length} entries) is not a prefix of the master's log`,
    );
    assert.ok(
      onRestart.length >= required,
      `sub1 right after the restart shows ${onRestart.length} entries; ${required} were acknowledged with acks 3 before the kill`,
    );
    for (const ack of heldBySub1) {
      assert.equal(onRestart[ack.id - 1]?.message, ack.message, `${ack.message}@${ack.id} on sub1`);
    }
    // The master noticed the new incarnation and resumed from what sub1 holds, not from id 1.
    const resumed = await waitFor(
      () =>
        cluster.master.events('peer-restarted').find((event) => event['peer'] === 'sub1') ?? false,
      5000,
      'the master to log peer-restarted for sub1',
    );
    assert.ok(
      typeof resumed['hwm'] === 'number' && resumed['hwm'] >= required && resumed['hwm'] > 0,
      `the master resumed sub1 from ${String(resumed['hwm'])}, expected >= ${required}`,
    );

    const length = (await reads.read(cluster, cluster.master)).length;
    const log = reads.record(cluster.master.name, await cluster.converged(length, 20_000));
    for (const sub of cluster.secondaries) {
      const theirs = await reads.read(cluster, sub);
      assert.deepEqual(theirs, log, `${sub.name} differs from the master`);
    }
    assert.deepEqual(historyProblems(cluster, load, reads), [], summary(load));
    // Honest write concern: every 201/200 carried at least w holders.
    const dishonest = load.acks.filter((ack) => ack.status !== 504 && ack.acks < ack.w);
    assert.deepEqual(dishonest, []);
  });
});

/** Writes `n` entries on a single durable master, kills it (-9); returns the entries. */
async function crashAfter(cluster: Cluster, prefix: string, count: number): Promise<string[]> {
  const messages = await appendSequentially(cluster, prefix, count);
  await cluster.master.kill();
  return messages;
}

async function checkTornTail(tail: (records: Buffer) => Buffer, what: string): Promise<void> {
  await withCluster({ secondaries: 0, dataDirs: true }, async (cluster) => {
    const { master } = cluster;
    const count = 12;
    const messages = await crashAfter(cluster, 'torn', count);
    const segment = lastSegment(dataDirOf(master));
    const original = readFileSync(segment);
    const garbage = tail(original);
    appendFileSync(segment, garbage);

    await master.start();
    const truncated = master.events('torn-tail-truncated');
    assert.equal(truncated.length, 1, `one torn-tail-truncated event for ${what}`);
    const event = truncated[0]!;
    assert.equal(event['level'], 'warn');
    assert.equal(event['file'], segment);
    assert.equal(event['offset'], original.length);
    assert.equal(event['droppedBytes'], garbage.length);
    assert.equal(statSync(segment).size, original.length, 'the file is cut back to whole records');
    assert.deepEqual(readFileSync(segment), original, 'the whole records are untouched');

    const log = await cluster.logs(master);
    assert.deepEqual(
      log,
      messages.map((message, index) => ({ id: index + 1, message })),
    );
    const next = await cluster.append({ message: 'after-torn', w: 1 });
    assert.equal(next.status, 201, next.text);
    assert.equal(next.body.log.id, count + 1);

    // And the repaired file stays good across another crash.
    await master.restart();
    assert.equal((await cluster.logs(master)).length, count + 1);
    assert.equal(master.events('torn-tail-truncated').length, 1, 'nothing more to truncate');
  });
}

test('torn tail: the first half of a record after the last one is truncated at start', async () => {
  await checkTornTail((file) => {
    const records = recordsIn(file);
    const last = records[records.length - 1]!;
    return file.subarray(last.start, last.start + Math.floor(last.bytes / 2));
  }, 'half a record');
});

test('torn tail: zero bytes after the last record (a size extended before its data) are truncated', async () => {
  await checkTornTail(() => Buffer.alloc(4096), 'zeroes');
});

test('torn tail: random bytes after the last record are truncated (nothing valid follows them)', async () => {
  // Fixed "random" bytes: their length field (0x8c7e21f3) is beyond any record.
  await checkTornTail(
    () => Buffer.from('f3217e8c5d09a1b4e6c2f0d87a3b19e45cc0d2f1a7', 'hex'),
    'random bytes',
  );
});

test('a flipped byte inside an early record with valid records after it: the node refuses to start', async () => {
  await withCluster({ secondaries: 0, dataDirs: true }, async (cluster) => {
    const { master } = cluster;
    const dataDir = dataDirOf(master);
    const messages = await crashAfter(cluster, 'flip', 6);
    const segment = lastSegment(dataDir);
    const original = readFileSync(segment);
    const records = recordsOf(segment);
    assert.equal(records.length, 6, 'one record per append');

    for (const target of [0, 2]) {
      const record = records[target]!;
      const damaged = Buffer.from(original);
      // The last byte of the record's payload: part of its last message, covered by the checksum.
      const at = record.start + record.bytes - 1;
      damaged[at] = damaged[at]! ^ 0x5a;
      writeFileSync(segment, damaged);

      // It exits (refuses), rather than hanging until the start's deadline.
      await assert.rejects(master.start(10_000), /exited during start/);
      const exit = master.lastExit;
      assert.ok(
        exit !== undefined && exit.code !== null && exit.code !== 0,
        `exit: ${JSON.stringify(exit)}`,
      );
      const stderr = master.stderr.join('\n');
      assert.ok(stderr.includes(segment), `stderr names ${segment}: ${stderr}`);
      assert.match(stderr, new RegExp(`corrupt at offset ${record.start}\\b`), stderr);
      assert.match(stderr, /cannot start/);
      // Nothing was repaired or truncated: the data is exactly as damaged.
      assert.equal(statSync(segment).size, original.length);
      assert.deepEqual(readFileSync(segment), damaged);
      assert.deepEqual(segmentFiles(dataDir), [segment]);
    }

    // With the byte restored the node starts on all of it.
    writeFileSync(segment, original);
    await master.start();
    assert.deepEqual(
      await cluster.logs(master),
      messages.map((message, index) => ({ id: index + 1, message })),
    );
    assert.equal(master.events('torn-tail-truncated').length, 0);
  });
});

test('idempotency keys survive kill -9 of the master: same key, same id, no new entry', async () => {
  await withCluster({ secondaries: 0, dataDirs: true }, async (cluster) => {
    const { master } = cluster;
    const keyed = (message: string, key: string) =>
      cluster.append({ message, w: 1 }, { headers: { 'idempotency-key': key } });
    const first = await keyed('keyed-one', 'K-one');
    assert.equal(first.status, 201, first.text);
    await appendSequentiallyFrom(cluster, 'plain', 2, 3);
    const batch = await cluster.append<BatchBody>(
      { messages: ['batch-a', 'batch-b', 'batch-c'], w: 1 },
      { headers: { 'idempotency-key': 'K-batch' } },
    );
    assert.equal(batch.status, 201, batch.text);
    const last = await keyed('keyed-last', 'K-last');
    assert.equal(last.status, 201, last.text);
    const before = await cluster.logs(master);
    assert.equal(before.length, 8);

    await master.restart();
    assert.deepEqual(await cluster.logs(master), before, 'the log survives the restart');

    const replay = await keyed('keyed-one', 'K-one');
    assert.equal(replay.status, 200, replay.text);
    assert.deepEqual(replay.body.log, first.body.log);
    const replayLast = await keyed('keyed-last', 'K-last');
    assert.equal(replayLast.status, 200, replayLast.text);
    assert.deepEqual(replayLast.body.log, last.body.log);
    // The key decides, not the body: the first request's entry comes back.
    const other = await keyed('a different message', 'K-one');
    assert.equal(other.status, 200, other.text);
    assert.deepEqual(other.body.log, first.body.log);
    const batchReplay = await cluster.append<BatchBody>(
      { messages: ['batch-a', 'batch-b', 'batch-c'], w: 1 },
      { headers: { 'idempotency-key': 'K-batch' } },
    );
    assert.equal(batchReplay.status, 200, batchReplay.text);
    assert.deepEqual(batchReplay.body.logs, batch.body.logs);
    assert.deepEqual(await cluster.logs(master), before, 'a replay appended');

    const fresh = await keyed('keyed-new', 'K-new');
    assert.equal(fresh.status, 201, fresh.text);
    assert.equal(fresh.body.log.id, before.length + 1);
    // A second crash: keys from both lives are still known.
    await master.restart();
    for (const [key, answer] of [
      ['K-one', first],
      ['K-new', fresh],
    ] as const) {
      const again = await keyed('whatever', key);
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body.log, answer.body.log);
    }
    const final = await request<LogEntry[]>(`${master.url}/logs`);
    assert.equal(final.body.length, before.length + 1);
  });
});

async function appendSequentiallyFrom(
  cluster: Cluster,
  prefix: string,
  firstId: number,
  count: number,
): Promise<void> {
  for (let index = 0; index < count; index++) {
    const answer = await cluster.append({ message: `${prefix}-${index}`, w: 1 });
    assert.equal(answer.status, 201, answer.text);
    assert.equal(answer.body.log.id, firstId + index);
  }
}
