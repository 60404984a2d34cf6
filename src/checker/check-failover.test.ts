import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory } from './check-history.js';
import type {
  AppendOperation,
  FailoverRecord,
  GuaranteeName,
  History,
  LogObservation,
} from './history.js';

type Entries = LogObservation['entries'];

function acked(message: string, id: number, at: number, w: number): AppendOperation {
  return {
    messages: [message],
    idempotencyKey: `key-${message}`,
    invokedAt: at,
    completedAt: at + 5,
    outcome: { kind: 'ok', ids: [id], w, acks: w },
  };
}

function log(...messages: string[]): Entries {
  return messages.map((message, index) => ({ id: index + 1, message }));
}

const NODES = ['master', 'sub1', 'sub2'] as const;

function finalLogs(entries: Entries): Record<string, Entries> {
  return Object.fromEntries(NODES.map((node) => [node, entries]));
}

/**
 * A clean failover run: `a` and `b` acknowledged by a majority on `master`; `m` acknowledged with
 * w=1 at id 3 just before `master` was killed, then rolled back when it rejoined; `c`, sent after
 * that, took id 3 on the new master sub1. Every node ends with a, b, c.
 */
function clean(): History {
  const failover: FailoverRecord = {
    clusterSize: 3,
    finalLogs: finalLogs(log('a', 'b', 'c')),
    rolledBack: [{ node: 'master', id: 3, message: 'm' }],
  };
  return {
    master: 'sub1',
    nodes: [...NODES],
    healed: true,
    appends: [
      acked('a', 1, 0, 2),
      acked('b', 2, 10, 2),
      acked('m', 3, 20, 1),
      acked('c', 3, 40, 2),
    ],
    observations: [
      { node: 'master', at: 15, entries: log('a', 'b') },
      { node: 'master', at: 50, entries: log('a'), afterRestart: true },
      ...NODES.map((node, i) => ({ node, at: 60 + i, entries: log('a', 'b', 'c') })),
    ],
    failover,
  };
}

function withFailover(history: History, change: Partial<FailoverRecord>): History {
  return { ...history, failover: { ...history.failover!, ...change } };
}

function guarantees(history: History): GuaranteeName[] {
  return [...new Set(checkHistory(history).map((violation) => violation.guarantee))].sort();
}

void describe('checkHistory with failover (F1–F5)', () => {
  void it('finds nothing wrong in a clean failover run with a minority entry rolled back', () => {
    assert.deepEqual(checkHistory(clean()), []);
  });

  const cases: { name: string; history: () => History; expected: GuaranteeName[] }[] = [
    {
      name: 'F1: a majority-acknowledged entry missing from one node at the end',
      history: () => ({
        ...withFailover(clean(), {
          finalLogs: { ...finalLogs(log('a', 'b', 'c')), sub2: log('a', 'c') },
        }),
        healed: false,
      }),
      expected: ['dense-agreeing-logs', 'majority-writes-survive'],
    },
    {
      name: 'F1: a majority-acknowledged entry rolled back everywhere, even if listed',
      history: () => {
        const base = clean();
        return withFailover(
          { ...base, healed: false, observations: base.observations.slice(0, 2) },
          {
            finalLogs: finalLogs(log('a', 'c')),
            rolledBack: [
              { node: 'master', id: 2, message: 'b' },
              { node: 'master', id: 3, message: 'm' },
            ],
          },
        );
      },
      expected: ['agreement', 'majority-writes-survive', 'reads-never-undone'],
    },
    {
      name: 'F3: a minority-acknowledged entry gone and listed at no rollbacks',
      history: () => withFailover(clean(), { rolledBack: [] }),
      expected: ['minority-losses-in-the-open'],
    },
    {
      name: 'F3: a 504 (stored) entry gone and listed at no rollbacks',
      history: () => {
        const base = clean();
        const stored: AppendOperation = {
          ...acked('s', 4, 45, 3),
          outcome: { kind: 'stored', ids: [4], w: 3, acks: 1 },
        };
        return { ...base, appends: [...base.appends, stored] };
      },
      expected: ['minority-losses-in-the-open'],
    },
    {
      name: 'F4: a read showed an entry that is not there at the end',
      history: () => {
        const base = clean();
        return {
          ...base,
          observations: [{ node: 'master', at: 25, entries: log('a', 'b', 'm') }],
          healed: false,
        };
      },
      // The read also places `m` at id 3, which `c` was given after `m` was acknowledged.
      expected: ['agreement', 'order-respects-time', 'reads-never-undone'],
    },
    {
      name: 'F5: a final log with a gap',
      history: () => ({
        ...withFailover(clean(), {
          finalLogs: {
            ...finalLogs(log('a', 'b', 'c')),
            sub2: [
              { id: 1, message: 'a' },
              { id: 3, message: 'c' },
            ],
          },
        }),
        healed: false,
      }),
      expected: ['dense-agreeing-logs', 'majority-writes-survive'],
    },
    {
      name: 'F5: two final logs that diverge (neither a prefix of the other)',
      history: () => ({
        ...withFailover(clean(), {
          finalLogs: { ...finalLogs(log('a', 'b', 'c')), sub2: log('a', 'b', 'm') },
        }),
        healed: false,
      }),
      expected: ['dense-agreeing-logs', 'majority-writes-survive'],
    },
    {
      name: 'F5: a shorter final log after healing',
      history: () =>
        withFailover(clean(), {
          finalLogs: { ...finalLogs(log('a', 'b', 'c')), sub2: log('a', 'b') },
        }),
      expected: ['dense-agreeing-logs', 'majority-writes-survive'],
    },
    {
      name: 'one idempotency key stored twice in the final logs',
      history: () => {
        const base = clean();
        const entries = log('a', 'b', 'c', 'b');
        return {
          ...withFailover(base, { finalLogs: finalLogs(entries) }),
          observations: NODES.map((node, i) => ({ node, at: 60 + i, entries })),
        };
      },
      expected: ['no-duplicates'],
    },
    {
      name: 'a surviving entry at another id than its answer gave',
      history: () => {
        const base = clean();
        const entries = log('a', 'b', 'm', 'c');
        return {
          ...withFailover(base, { finalLogs: finalLogs(entries), rolledBack: [] }),
          observations: NODES.map((node, i) => ({ node, at: 60 + i, entries })),
        };
      },
      expected: [
        'agreement',
        'majority-writes-survive',
        'no-lost-acknowledgements',
        'order-respects-time',
      ],
    },
  ];
  for (const { name, history, expected } of cases) {
    void it(`names the guarantee broken by ${name}`, () => {
      assert.deepEqual(
        guarantees(history()),
        expected,
        JSON.stringify(checkHistory(history()), null, 1),
      );
    });
  }

  void it('without the failover record, the same rolled-back entry is a lost acknowledgement', () => {
    const { master, nodes, healed, appends, observations } = clean();
    const fixedMaster: History = { master, nodes, healed, appends, observations };
    assert.deepEqual(guarantees(fixedMaster), [
      'agreement',
      'no-lost-acknowledgements',
      'order-respects-time',
    ]);
  });

  void it('names the append, its w and id when a majority write is lost', () => {
    const history = withFailover(clean(), {
      finalLogs: { ...finalLogs(log('a', 'b', 'c')), sub2: log('a', 'x', 'c') },
    });
    const lost = checkHistory({ ...history, healed: false }).filter(
      (violation) => violation.guarantee === 'majority-writes-survive',
    );
    assert.equal(lost.length, 1);
    assert.deepEqual(lost[0]!.operations, [1]);
    assert.match(
      lost[0]!.message,
      /append 1 was acknowledged with w=2 of 3 at id 2 \("b"\), but sub2's final log has "x" there/,
    );
  });
});
