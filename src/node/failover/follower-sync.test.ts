import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerAnswer, PeerTransport } from '../../adapters/replication-transport.js';
import { MemoryLogStore } from '../../adapters/memory-log-store.js';
import { InvariantError } from '../../core/assert.js';
import type { Entry } from '../../core/entry.js';
import { epochEnd } from '../../core/epoch-end.js';
import type { PeerConfig } from '../../core/master-core.js';
import type { EpochEndAnswerBody, EpochEndRequestBody } from '../../protocol/messages.js';
import { SharedStore } from '../shared-store.js';
import { masterEpochEnd, syncWithMaster, type SyncRequest } from './follower-sync.js';
import type { Rollback } from './rollbacks.js';

const MASTER: PeerConfig = { name: 'n2', url: 'http://127.0.0.1:1' };
const NOW_MS = 1_700_000_000_000;
const TIMEOUT_MS = 250;

/** A master that answers epoch-end questions from its log (epochs of ids 1..n), or fails. */
class FakeMaster implements PeerTransport {
  readonly asked: { body: EpochEndRequestBody; timeoutMs: number }[] = [];

  constructor(
    private readonly epochs: readonly number[],
    private readonly failure?: string,
  ) {}

  epochEnd(
    peer: PeerConfig,
    body: EpochEndRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<EpochEndAnswerBody>> {
    assert.equal(peer, MASTER);
    this.asked.push({ body, timeoutMs });
    if (this.failure !== undefined) return Promise.resolve({ ok: false, error: this.failure });
    const answer = epochEnd(body.lastEpoch, this.epochs.length, (id) => this.epochs[id - 1]!);
    return Promise.resolve({ ok: true, body: answer });
  }

  replicate(): never {
    throw new Error('not used by syncWithMaster');
  }
  heartbeat(): never {
    throw new Error('not used by syncWithMaster');
  }
  vote(): never {
    throw new Error('not used by syncWithMaster');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A follower's store of log `logId` with one entry per epoch given, keyed `k<id>` one by one. */
async function followerStore(epochs: readonly number[], logId = 'L'): Promise<SharedStore> {
  const store = new SharedStore(new MemoryLogStore(), 100);
  await store.open();
  if (epochs.length > 0) await store.setIdentity({ logId, epoch: epochs.at(-1)! });
  for (const [index, epoch] of epochs.entries()) {
    const id = index + 1;
    await store.append([{ id, epoch, message: `m${id}` }], `k${id}`);
  }
  return store;
}

function epochsOf(store: SharedStore): number[] {
  return store.read(1, store.lastId()).map((entry) => entry.epoch);
}

/** What report saw, and what the store still held when it ran. */
interface Reported {
  readonly rollback: Rollback;
  readonly heldWhenReported: readonly Entry[];
}

function request(
  store: SharedStore,
  reported: Reported[],
  overrides: Partial<SyncRequest> = {},
): SyncRequest {
  return {
    master: MASTER,
    logId: 'L',
    epoch: 7,
    commitId: 0,
    timeoutMs: TIMEOUT_MS,
    current: () => true,
    nowMs: () => NOW_MS,
    report: (rollback) => {
      reported.push({ rollback, heldWhenReported: store.read(1, store.lastId()) });
      return Promise.resolve();
    },
    ...overrides,
  };
}

interface SyncCase {
  readonly name: string;
  readonly follower: readonly number[];
  readonly master: readonly number[];
  /** The follower's epochs afterwards. */
  readonly after: readonly number[];
  /** `[fromId, toId]` of each truncation, in order. */
  readonly cuts: readonly (readonly [number, number])[];
  /** The `lastEpoch` of each question asked. */
  readonly questions: readonly number[];
}

const CASES: readonly SyncCase[] = [
  {
    name: 'a log that is already a prefix keeps everything',
    follower: [1, 1, 2],
    master: [1, 1, 2, 2, 3],
    after: [1, 1, 2],
    cuts: [],
    questions: [2],
  },
  {
    name: 'a log equal to the master keeps everything',
    follower: [1, 2, 2],
    master: [1, 2, 2],
    after: [1, 2, 2],
    cuts: [],
    questions: [2],
  },
  {
    name: 'a log longer than the master in the same epoch loses its tail',
    follower: [1, 2, 2, 2],
    master: [1, 2, 3],
    after: [1, 2],
    cuts: [[3, 4]],
    questions: [2, 2],
  },
  {
    name: 'a divergent tail is cut in one round',
    follower: [1, 1, 2, 2],
    master: [1, 1, 3],
    after: [1, 1],
    cuts: [[3, 4]],
    questions: [2, 1],
  },
  {
    name: "KIP-279: the master's lower epoch is used to cut the follower's own end of it",
    follower: [1, 3, 3],
    master: [1, 2, 2, 4],
    after: [1],
    cuts: [[2, 3]],
    questions: [3, 1],
  },
  {
    name: 'a log that diverges twice converges in two cuts',
    follower: [1, 2, 2, 4],
    master: [1, 3, 3, 3, 3],
    after: [1],
    cuts: [
      [4, 4],
      [2, 3],
    ],
    questions: [4, 2, 1],
  },
  {
    name: 'a log sharing nothing with the master is emptied',
    follower: [2, 2],
    master: [1, 3],
    after: [],
    cuts: [[1, 2]],
    questions: [2],
  },
  {
    name: 'an empty log asks nothing',
    follower: [],
    master: [1, 2],
    after: [],
    cuts: [],
    questions: [],
  },
];

void describe('syncWithMaster', () => {
  for (const testCase of CASES) {
    void it(testCase.name, async () => {
      const store = await followerStore(testCase.follower);
      const master = new FakeMaster(testCase.master);
      const reported: Reported[] = [];
      const result = await syncWithMaster(store, master, request(store, reported));
      assert.deepEqual(result, { kind: 'synced' });
      assert.deepEqual(epochsOf(store), testCase.after);
      assert.deepEqual(
        reported.map(({ rollback }) => [rollback.fromId, rollback.toId]),
        testCase.cuts,
      );
      assert.deepEqual(
        master.asked.map(({ body }) => body),
        testCase.questions.map((lastEpoch) => ({ logId: 'L', epoch: 7, lastEpoch })),
      );
      for (const { timeoutMs } of master.asked) assert.equal(timeoutMs, TIMEOUT_MS);
    });
  }

  void it('reports each truncation before it, with exactly the entries removed and their keys', async () => {
    const store = await followerStore([1, 2, 2, 4]);
    const reported: Reported[] = [];
    const before = store.read(1, 4);
    await syncWithMaster(store, new FakeMaster([1, 3, 3, 3, 3]), request(store, reported));
    assert.deepEqual(
      reported.map(({ rollback }) => rollback),
      [
        {
          atMs: NOW_MS,
          epoch: 7,
          master: 'n2',
          fromId: 4,
          toId: 4,
          entries: before.slice(3, 4),
          keys: [['k4', 4, 1]],
        },
        {
          atMs: NOW_MS,
          epoch: 7,
          master: 'n2',
          fromId: 2,
          toId: 3,
          entries: before.slice(1, 3),
          keys: [
            ['k2', 2, 1],
            ['k3', 3, 1],
          ],
        },
      ],
    );
    // The store still held the entries reported when report ran: it reports before it cuts.
    assert.deepEqual(
      reported.map(({ heldWhenReported }) => heldWhenReported),
      [before, before.slice(0, 3)],
    );
    assert.deepEqual(store.keysStartingIn(1, 4), [['k1', 1, 1]], 'the keys cut are forgotten');
  });

  void it('reports a batch appended with one key as one keyed range', async () => {
    const store = new SharedStore(new MemoryLogStore(), 100);
    await store.open();
    await store.setIdentity({ logId: 'L', epoch: 2 });
    await store.append([{ id: 1, epoch: 1, message: 'a' }], 'first');
    const batch = [2, 3, 4].map((id) => ({ id, epoch: 2, message: `m${id}` }));
    await store.append(batch, 'batch');
    const reported: Reported[] = [];
    await syncWithMaster(store, new FakeMaster([1, 3]), request(store, reported));
    assert.deepEqual(
      reported.map(({ rollback }) => [rollback.entries, rollback.keys]),
      [[batch, [['batch', 2, 3]]]],
    );
  });

  void it('waits for the report to be durable before it cuts', async () => {
    const store = await followerStore([1, 2]);
    let finishReport: () => void = () => undefined;
    const reportDone = new Promise<void>((resolve) => (finishReport = resolve));
    let reportStarted = false;
    const sync = syncWithMaster(
      store,
      new FakeMaster([1, 3]),
      request(store, [], {
        report: () => {
          reportStarted = true;
          return reportDone;
        },
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(reportStarted);
    assert.equal(store.lastId(), 2, 'nothing cut while the report is being written');
    finishReport();
    assert.deepEqual(await sync, { kind: 'synced' });
    assert.equal(store.lastId(), 1);
  });

  void it('refuses to join a master of another log, cutting nothing and asking nothing', async () => {
    const store = await followerStore([1, 2], 'other-log');
    const master = new FakeMaster([1, 3]);
    const reported: Reported[] = [];
    const result = await syncWithMaster(store, master, request(store, reported));
    assert.ok(result.kind === 'failed');
    assert.match(result.reason, /holds entries of log other-log.*leads log L.*empty DATA_DIR/);
    assert.deepEqual(epochsOf(store), [1, 2]);
    assert.deepEqual(reported, []);
    assert.deepEqual(master.asked, []);
  });

  void it('joins a master of another log when it holds no entries', async () => {
    const store = new SharedStore(new MemoryLogStore(), 10);
    await store.open();
    await store.setIdentity({ logId: 'other-log', epoch: 1 });
    const result = await syncWithMaster(store, new FakeMaster([1]), request(store, []));
    assert.deepEqual(result, { kind: 'synced' });
  });

  void it('fails on a transport failure, cutting nothing', async () => {
    const store = await followerStore([1, 2]);
    const reported: Reported[] = [];
    const result = await syncWithMaster(
      store,
      new FakeMaster([1, 3], 'HTTP 503 SYNCING: busy'),
      request(store, reported),
    );
    assert.deepEqual(result, { kind: 'failed', reason: 'HTTP 503 SYNCING: busy' });
    assert.deepEqual(epochsOf(store), [1, 2]);
    assert.deepEqual(reported, []);
  });

  const movedOn: { name: string; currentAnswers: number; after: number[]; cuts: number }[] = [
    { name: 'before the first answer is used', currentAnswers: 0, after: [1, 2, 2, 4], cuts: 0 },
    { name: 'after the first cut', currentAnswers: 1, after: [1, 2, 2], cuts: 1 },
  ];
  for (const { name, currentAnswers, after, cuts } of movedOn) {
    void it(`stops once the node moved on ${name}`, async () => {
      const store = await followerStore([1, 2, 2, 4]);
      const reported: Reported[] = [];
      let asked = 0;
      const current = (): boolean => {
        asked += 1;
        return asked <= currentAnswers;
      };
      const result = await syncWithMaster(
        store,
        new FakeMaster([1, 3, 3, 3, 3]),
        request(store, reported, { current }),
      );
      assert.deepEqual(result, { kind: 'failed', reason: 'the node moved on' });
      assert.deepEqual(epochsOf(store), after);
      assert.equal(reported.length, cuts);
    });
  }

  const belowCommit: { name: string; commitId: number; follower: number[]; master: number[] }[] = [
    { name: 'the whole committed log', commitId: 2, follower: [2, 2], master: [1, 3] },
    { name: 'part of it', commitId: 3, follower: [1, 2, 2], master: [1, 1, 1] },
  ];
  for (const { name, commitId, follower, master } of belowCommit) {
    void it(`throws an InvariantError, removing and reporting nothing, for a cut below the commit point (${name})`, async () => {
      const store = await followerStore(follower);
      const reported: Reported[] = [];
      await assert.rejects(
        syncWithMaster(store, new FakeMaster(master), request(store, reported, { commitId })),
        (error: unknown) =>
          error instanceof InvariantError && /below the commit point/.test(error.message),
      );
      assert.deepEqual(epochsOf(store), follower);
      assert.deepEqual(reported, []);
    });
  }

  void it('cuts down to the commit point itself', async () => {
    const store = await followerStore([1, 2, 2]);
    const result = await syncWithMaster(
      store,
      new FakeMaster([1, 3]),
      request(store, [], { commitId: 1 }),
    );
    assert.deepEqual(result, { kind: 'synced' });
    assert.deepEqual(epochsOf(store), [1]);
  });

  void it('throws an InvariantError when the master answers an epoch above the one asked', async () => {
    const store = await followerStore([1, 2]);
    const liar = new FakeMaster([1, 3]);
    liar.epochEnd = () => Promise.resolve({ ok: true, body: { epoch: 3, endId: 2 } });
    await assert.rejects(
      syncWithMaster(store, liar, request(store, [])),
      (error: unknown) => error instanceof InvariantError && /answered epoch 3/.test(error.message),
    );
    assert.deepEqual(epochsOf(store), [1, 2]);
  });
});

void describe('masterEpochEnd', () => {
  void it("answers from the master's own log (KIP-279: the epoch found may be lower)", async () => {
    const store = await followerStore([1, 2, 2, 4]);
    const cases: { lastEpoch: number; want: { epoch: number; endId: number } }[] = [
      { lastEpoch: 0, want: { epoch: 0, endId: 0 } },
      { lastEpoch: 1, want: { epoch: 1, endId: 1 } },
      { lastEpoch: 2, want: { epoch: 2, endId: 3 } },
      { lastEpoch: 3, want: { epoch: 2, endId: 3 } },
      { lastEpoch: 4, want: { epoch: 4, endId: 4 } },
      { lastEpoch: 9, want: { epoch: 4, endId: 4 } },
    ];
    for (const { lastEpoch, want } of cases) {
      const written = { epoch: 4, lastId: 4 };
      assert.deepEqual(masterEpochEnd(store, lastEpoch, written), want, `lastEpoch ${lastEpoch}`);
    }
  });

  void it('ends its own epoch at what it has written, durable or not yet', async () => {
    const store = await followerStore([1, 2, 2, 4]);
    // Entries 5..7 of epoch 4 are written, their fsync still to come: a follower may hold them.
    const written = { epoch: 4, lastId: 7 };
    const cases: { lastEpoch: number; want: { epoch: number; endId: number } }[] = [
      { lastEpoch: 2, want: { epoch: 2, endId: 3 } },
      { lastEpoch: 3, want: { epoch: 2, endId: 3 } },
      { lastEpoch: 4, want: { epoch: 4, endId: 7 } },
      { lastEpoch: 9, want: { epoch: 4, endId: 7 } },
    ];
    for (const { lastEpoch, want } of cases) {
      assert.deepEqual(masterEpochEnd(store, lastEpoch, written), want, `lastEpoch ${lastEpoch}`);
    }
  });
});
