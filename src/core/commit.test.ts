import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from './assert.js';
import { commitIdOf, type Acknowledgement } from './commit.js';

const ack = (epoch: number, ackedId: number): Acknowledgement => ({ epoch, ackedId });

interface CommitCase {
  readonly name: string;
  readonly epoch: number;
  readonly ownLastId: number;
  readonly acks: readonly Acknowledgement[];
  readonly previous: number;
  readonly commitId: number;
}

const CASES: readonly CommitCase[] = [
  {
    name: 'three nodes: the second highest of master and acks',
    epoch: 2,
    ownLastId: 10,
    acks: [ack(2, 7), ack(2, 4)],
    previous: 0,
    commitId: 7,
  },
  {
    name: 'Figure 8: copies acknowledged in an older epoch count for nothing',
    epoch: 3,
    ownLastId: 10,
    acks: [ack(2, 10), ack(2, 10)],
    previous: 0,
    commitId: 0,
  },
  {
    name: 'one acknowledgement of this epoch commits the whole prefix, older entries included',
    epoch: 3,
    ownLastId: 10,
    acks: [ack(3, 10), ack(2, 10)],
    previous: 0,
    commitId: 10,
  },
  {
    name: 'never goes down',
    epoch: 3,
    ownLastId: 10,
    acks: [ack(3, 2), ack(3, 1)],
    previous: 5,
    commitId: 5,
  },
  {
    name: 'five nodes: the third highest',
    epoch: 1,
    ownLastId: 9,
    acks: [ack(1, 9), ack(1, 3), ack(1, 6), ack(1, 0)],
    previous: 0,
    commitId: 6,
  },
  {
    name: 'a single node commits its own log',
    epoch: 1,
    ownLastId: 4,
    acks: [],
    previous: 0,
    commitId: 4,
  },
];

void describe('commitIdOf', () => {
  for (const c of CASES) {
    void it(c.name, () => {
      assert.equal(
        commitIdOf(c.epoch, c.ownLastId, c.acks, c.acks.length + 1, c.previous),
        c.commitId,
      );
    });
  }

  void it('refuses impossible acknowledgements as invariants', () => {
    // From a later epoch (the master should have stepped down), beyond the master's log, or a
    // missing node.
    assert.throws(() => commitIdOf(2, 5, [ack(3, 1), ack(2, 1)], 3, 0), InvariantError);
    assert.throws(() => commitIdOf(2, 5, [ack(2, 6), ack(2, 1)], 3, 0), InvariantError);
    assert.throws(() => commitIdOf(2, 5, [ack(2, 1)], 3, 0), InvariantError);
    assert.throws(() => commitIdOf(2, 5, [ack(2, 1), ack(2, 1)], 3, 6), InvariantError);
  });
});
