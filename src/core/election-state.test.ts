import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import {
  ALLOWED_TRANSITIONS,
  INVALID_STATES,
  REFUSED_TRANSITIONS,
} from './election-state-cases.js';
import { checkElectionState, checkTransition, FRESH_ELECTION_STATE } from './election-state.js';

void describe('checkElectionState', () => {
  void it('accepts the fresh state and every state of the allowed transitions', () => {
    checkElectionState(FRESH_ELECTION_STATE, 'fresh');
    for (const [name, before, after] of ALLOWED_TRANSITIONS) {
      checkElectionState(before, `${name} (before)`);
      checkElectionState(after, `${name} (after)`);
    }
  });

  for (const [name, state] of INVALID_STATES) {
    void it(`refuses ${name}, naming where the state came from`, () => {
      assert.throws(
        () => {
          checkElectionState(state, '/data/election.json');
        },
        (error: unknown) =>
          error instanceof InvariantError && error.message.startsWith('/data/election.json: '),
      );
    });
  }
});

void describe('checkTransition', () => {
  for (const [name, before, after] of ALLOWED_TRANSITIONS) {
    void it(`allows ${name}`, () => {
      checkTransition(before, after);
    });
  }

  for (const [name, before, after] of REFUSED_TRANSITIONS) {
    void it(`refuses a save that ${name}`, () => {
      assert.throws(() => {
        checkTransition(before, after);
      }, InvariantError);
    });
  }

  for (const [name, state] of INVALID_STATES) {
    void it(`refuses ${name}, before or after`, () => {
      assert.throws(() => {
        checkTransition(FRESH_ELECTION_STATE, state);
      }, InvariantError);
      assert.throws(() => {
        checkTransition(state, FRESH_ELECTION_STATE);
      }, InvariantError);
    });
  }

  void it('names both votes when a vote would change', () => {
    assert.throws(
      () => {
        checkTransition(
          { epoch: 5, votedFor: 'sub1', acceptedEpoch: 2 },
          { epoch: 5, votedFor: 'sub2', acceptedEpoch: 2 },
        );
      },
      { message: /vote of epoch 5 from "sub1" to "sub2"/ },
    );
  });
});
