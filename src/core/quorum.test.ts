import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import { hasQuorum, majorityOf, quorumView } from './quorum.js';

void describe('majorityOf', () => {
  const table: [size: number, majority: number][] = [
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
    [100, 51],
  ];
  for (const [size, majority] of table) {
    void it(`a cluster of ${size} needs ${majority}`, () => {
      assert.equal(majorityOf(size), majority);
    });
  }

  for (const size of [0, -1, 1.5, Number.NaN]) {
    void it(`rejects cluster size ${size}`, () => {
      assert.throws(() => majorityOf(size), InvariantError);
    });
  }
});

void describe('quorumView / hasQuorum', () => {
  const table: [size: number, healthy: number, required: number, quorum: boolean][] = [
    [1, 1, 1, true],
    [2, 1, 2, false],
    [2, 2, 2, true],
    [3, 1, 2, false],
    [3, 2, 2, true],
    [3, 3, 2, true],
    [4, 2, 3, false],
    [4, 3, 3, true],
    [5, 2, 3, false],
    [5, 3, 3, true],
  ];
  for (const [size, healthy, required, quorum] of table) {
    void it(`${healthy} of ${size} healthy -> required ${required}, quorum ${quorum}`, () => {
      const view = quorumView(size, healthy);
      assert.deepEqual(view, { size, required, healthy });
      assert.equal(hasQuorum(view), quorum);
    });
  }

  for (const [size, healthy] of [
    [3, 0],
    [3, 4],
    [1, 2],
  ] as const) {
    void it(`rejects ${healthy} healthy of ${size}`, () => {
      assert.throws(() => quorumView(size, healthy), InvariantError);
    });
  }
});
