import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailoverChecker } from './failover-checker.js';

/** The checker over 3 nodes, failing by throwing the guarantee and the details. */
function checker(): FailoverChecker {
  return new FailoverChecker(3, (guarantee, details) => {
    throw new Error(`${guarantee}: ${details}`);
  });
}

/** [case, masters elected as [node, epoch], lease checked as [node, epoch, endsAtMs, nowMs], fails]. */
const LEASE_CASES: [
  string,
  readonly (readonly [string, number])[],
  readonly [string, number, number, number],
  boolean,
][] = [
  ['the only master, lease held', [['n1', 1]], ['n1', 1, 900, 500], false],
  [
    'a newer master, the old lease ended before now',
    [
      ['n1', 1],
      ['n2', 2],
    ],
    ['n1', 1, 500, 600],
    false,
  ],
  [
    'a newer master, the old lease ends exactly now',
    [
      ['n1', 1],
      ['n2', 2],
    ],
    ['n1', 1, 600, 600],
    false,
  ],
  [
    'a newer master, the old lease still held',
    [
      ['n1', 1],
      ['n2', 2],
    ],
    ['n1', 1, 601, 600],
    true,
  ],
  [
    'a newer master two epochs on, lease held',
    [
      ['n1', 1],
      ['n3', 3],
    ],
    ['n1', 1, 900, 600],
    true,
  ],
  [
    'the newest master holds its own lease',
    [
      ['n1', 1],
      ['n2', 2],
    ],
    ['n2', 2, 900, 600],
    false,
  ],
  [
    'no lease yet (-Infinity), newer master',
    [
      ['n1', 1],
      ['n2', 2],
    ],
    ['n1', 1, -Infinity, 600],
    false,
  ],
];

void describe('FailoverChecker.checkLeaseHeld: no lease outlives a newer election', () => {
  for (const [name, masters, [node, epoch, leaseEndsAtMs, nowMs], fails] of LEASE_CASES) {
    void it(`${name}: ${fails ? 'fails' : 'passes'}`, () => {
      const subject = checker();
      for (const [master, masterEpoch] of masters) subject.masterElected(master, masterEpoch);
      const check = (): void => {
        subject.checkLeaseHeld(node, epoch, leaseEndsAtMs, nowMs);
      };
      if (fails) assert.throws(check, /G1 .*holds its lease until .* was elected master of epoch/);
      else check();
    });
  }
});

void describe('FailoverChecker.answered: other copies count only under the lease', () => {
  void it('fails an answer with 2 acks from a master deposed by a newer election', () => {
    const subject = checker();
    subject.masterElected('n1', 1);
    subject.masterElected('n2', 2);
    assert.throws(() => {
      subject.answered('n1', 5, 2, 3, 5);
    }, /n1, master of epoch 1, answered an append up to id 5 with 2 acks after n2 was elected/);
  });

  void it('passes an answer with 1 ack (its own copy) from the deposed master', () => {
    const subject = checker();
    subject.masterElected('n1', 1);
    subject.masterElected('n2', 2);
    subject.answered('n1', 5, 1, 1, 5);
  });
});
