import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory } from './check-history.js';
import type { AppendOperation, GuaranteeName, History, LogObservation } from './history.js';

type Entries = LogObservation['entries'];

function ok(
  message: string,
  id: number,
  invokedAt: number,
  completedAt: number,
  extra: Partial<AppendOperation> = {},
): AppendOperation {
  return {
    messages: [message],
    idempotencyKey: undefined,
    invokedAt,
    completedAt,
    outcome: { kind: 'ok', ids: [id], w: 2, acks: 2 },
    ...extra,
  };
}

function log(...messages: string[]): Entries {
  return messages.map((message, index) => ({ id: index + 1, message }));
}

function observe(
  node: string,
  at: number,
  entries: Entries,
  extra: Partial<LogObservation> = {},
): LogObservation {
  return { node, at, entries, ...extra };
}

/** A clean run: three appends, three nodes, converged. */
function clean(): History {
  return {
    master: 'master',
    nodes: ['master', 'sub1', 'sub2'],
    healed: true,
    appends: [ok('a', 1, 0, 10), ok('b', 2, 11, 20), ok('c', 3, 21, 30)],
    observations: [
      observe('sub1', 15, log('a')),
      observe('master', 40, log('a', 'b', 'c')),
      observe('sub1', 41, log('a', 'b', 'c')),
      observe('sub2', 42, log('a', 'b', 'c')),
    ],
  };
}

function guarantees(history: History): GuaranteeName[] {
  return [...new Set(checkHistory(history).map((violation) => violation.guarantee))].sort();
}

void describe('checkHistory', () => {
  void it('finds nothing wrong in a clean history', () => {
    assert.deepEqual(checkHistory(clean()), []);
  });

  const cases: { name: string; history: () => History; expected: GuaranteeName[] }[] = [
    {
      name: 'an acknowledged entry missing from the master',
      history: () => ({
        ...clean(),
        healed: false,
        observations: [observe('master', 40, log('a', 'b'))],
      }),
      expected: ['no-lost-acknowledgements'],
    },
    {
      name: 'two nodes showing different messages at one id',
      history: () => {
        const base = clean();
        return {
          ...base,
          healed: false,
          observations: [...base.observations.slice(0, 2), observe('sub2', 42, log('a', 'c'))],
        };
      },
      expected: ['agreement', 'no-duplicates'],
    },
    {
      name: 'a secondary showing an entry after a gap',
      history: () => ({
        ...clean(),
        healed: false,
        observations: [
          observe('master', 40, log('a', 'b', 'c')),
          observe('sub1', 41, [
            { id: 1, message: 'a' },
            { id: 3, message: 'c' },
          ]),
        ],
      }),
      expected: ['gap-free-prefix'],
    },
    {
      name: 'an entry shown twice on one node',
      history: () => ({
        ...clean(),
        healed: false,
        observations: [
          observe('master', 40, log('a', 'b', 'c')),
          observe('sub1', 41, log('a', 'a')),
        ],
      }),
      expected: ['agreement', 'no-duplicates'],
    },
    {
      name: 'one idempotency key answered with two ids',
      history: () => ({
        ...clean(),
        healed: false,
        appends: [
          ok('a', 1, 0, 10, { idempotencyKey: 'k' }),
          ok('b', 2, 11, 20, { idempotencyKey: 'k' }),
          ok('c', 3, 21, 30),
        ],
        observations: [observe('master', 40, log('a', 'b', 'c'))],
      }),
      expected: ['no-duplicates'],
    },
    {
      name: 'an entry nobody sent',
      history: () => ({
        ...clean(),
        healed: false,
        observations: [observe('master', 40, log('a', 'b', 'c', 'ghost'))],
      }),
      expected: ['no-phantoms'],
    },
    {
      name: 'an entry whose append was refused',
      history: () => {
        const base = clean();
        return {
          ...base,
          healed: false,
          appends: [
            ...base.appends,
            {
              messages: ['r'],
              idempotencyKey: undefined,
              invokedAt: 31,
              completedAt: 32,
              outcome: { kind: 'refused', code: 'READ_ONLY' },
            },
          ],
          observations: [observe('master', 40, log('a', 'b', 'c', 'r'))],
        };
      },
      expected: ['no-phantoms'],
    },
    {
      name: 'a later append given a lower id',
      history: () => ({
        ...clean(),
        healed: false,
        appends: [ok('a', 2, 0, 10), ok('b', 1, 11, 20)],
        observations: [observe('master', 40, log('b', 'a'))],
      }),
      expected: ['order-respects-time'],
    },
    {
      name: 'a node whose log shrinks',
      history: () => ({
        ...clean(),
        healed: false,
        observations: [
          observe('master', 40, log('a', 'b', 'c')),
          observe('master', 50, log('a', 'b')),
        ],
      }),
      expected: ['monotonic-reads', 'no-lost-acknowledgements'],
    },
    {
      name: 'a success with fewer holders than w',
      history: () => ({
        ...clean(),
        healed: false,
        appends: [ok('a', 1, 0, 10, { outcome: { kind: 'ok', ids: [1], w: 3, acks: 2 } })],
        observations: [observe('master', 40, log('a'))],
      }),
      expected: ['honest-write-concern'],
    },
    {
      name: 'a node that never caught up after healing',
      history: () => {
        const base = clean();
        return {
          ...base,
          observations: [...base.observations.slice(0, 3), observe('sub2', 42, log('a'))],
        };
      },
      expected: ['convergence', 'no-lost-acknowledgements'],
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

  void it('allows a shorter log after a restart of a node that keeps its log in memory', () => {
    const history: History = {
      ...clean(),
      healed: false,
      appends: [ok('a', 1, 0, 10)],
      observations: [
        observe('master', 20, log('a')),
        observe('sub1', 21, log('a')),
        observe('sub1', 30, log(), { afterVolatileRestart: true }),
      ],
    };
    assert.deepEqual(checkHistory(history), []);
  });

  void it('accepts unknown outcomes either way, and places them by what nodes showed', () => {
    const history: History = {
      ...clean(),
      healed: false,
      appends: [
        ok('a', 1, 0, 10),
        {
          messages: ['u'],
          idempotencyKey: 'k',
          invokedAt: 11,
          completedAt: 50,
          outcome: { kind: 'unknown' },
        },
        {
          messages: ['v'],
          idempotencyKey: 'k2',
          invokedAt: 12,
          completedAt: 50,
          outcome: { kind: 'unknown' },
        },
      ],
      observations: [observe('master', 60, log('a', 'u'))],
    };
    assert.deepEqual(checkHistory(history), []);
    // ... but an unknown append placed before an acknowledged one it was sent after is caught.
    const reordered: History = { ...history, observations: [observe('master', 60, log('u', 'a'))] };
    assert.deepEqual(guarantees(reordered), [
      'agreement',
      'no-lost-acknowledgements',
      'order-respects-time',
    ]);
  });

  void it('requires entries answered as stored (504) to be kept only with storedMustBeKept', () => {
    const stored: AppendOperation = {
      messages: ['s'],
      idempotencyKey: 'ks',
      invokedAt: 31,
      completedAt: 35,
      outcome: { kind: 'stored', ids: [4], w: 3, acks: 1 },
    };
    const base = clean();
    // Every node converged on a log without the stored entry: it was lost.
    const lost: History = {
      ...base,
      appends: [...base.appends, stored],
      observations: [
        observe('master', 40, log('a', 'b', 'c')),
        observe('sub1', 41, log('a', 'b', 'c')),
        observe('sub2', 42, log('a', 'b', 'c')),
      ],
    };
    assert.deepEqual(checkHistory(lost), []);
    const violations = checkHistory({ ...lost, storedMustBeKept: true });
    assert.deepEqual(
      violations.map((violation) => violation.guarantee),
      Array<GuaranteeName>(4).fill('no-lost-acknowledgements'),
      JSON.stringify(violations, null, 1),
    );
    const first = violations[0]!;
    assert.deepEqual(first.operations, [3]);
    assert.match(
      first.message,
      /append 3 was answered as stored \(504\) at id 4 \("s"\), but the master last showed nothing there/,
    );
    // Kept everywhere: nothing to report, with or without the option.
    const kept: History = {
      ...lost,
      observations: ['master', 'sub1', 'sub2'].map((node, index) =>
        observe(node, 40 + index, log('a', 'b', 'c', 's')),
      ),
    };
    assert.deepEqual(checkHistory(kept), []);
    assert.deepEqual(checkHistory({ ...kept, storedMustBeKept: true }), []);
  });

  void it('names the operations involved', () => {
    const history: History = {
      ...clean(),
      healed: false,
      appends: [ok('a', 2, 0, 10), ok('b', 1, 11, 20)],
      observations: [observe('master', 40, log('b', 'a'))],
    };
    const violations = checkHistory(history);
    assert.equal(violations.length, 1);
    const violation = violations[0]!;
    assert.deepEqual(violation.operations, [0, 1]);
    assert.match(
      violation.message,
      /append 0 was acknowledged \(id 2\) before append 1 was sent, yet append 1 got id 1/,
    );
  });
});
