import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailoverObserver, RoleChange } from '../node/failover/failover-node.js';
import type { Rollback } from '../node/failover/rollbacks.js';
import { ManualClock } from '../testing/manual-clock.js';
import { observeFailoverBoth, RoleChangeFeed, type TimedRoleChange } from './role-change-feed.js';

function change(epoch: number): RoleChange {
  return { from: 'follower', to: 'candidate', epoch, master: null, reason: 'election-timeout' };
}

void describe('RoleChangeFeed', () => {
  void it('gives a late listener the kept changes first, then each new one', async () => {
    const clock = new ManualClock();
    const feed = new RoleChangeFeed(clock, 2);
    feed.roleChanged(change(1));
    await clock.advance(5);
    feed.roleChanged(change(2));
    await clock.advance(5);
    feed.roleChanged(change(3));
    const heard: TimedRoleChange[] = [];
    const stop = feed.subscribe((timed) => heard.push(timed));
    await clock.advance(5);
    feed.roleChanged(change(4));
    stop();
    feed.roleChanged(change(5));
    assert.deepEqual(
      heard.map((timed) => [timed.atMs - clock.nowMs(), timed.change.epoch]),
      [
        [-10, 2],
        [-5, 3],
        [0, 4],
      ],
    );
  });
});

void describe('observeFailoverBoth', () => {
  void it('tells both observers of each event, either may lack a method', () => {
    const told: string[] = [];
    const full: FailoverObserver = {
      roleChanged: (roleChange) => told.push(`first role ${roleChange.epoch}`),
      rolledBack: () => told.push('first rollback'),
    };
    const partial: FailoverObserver = {
      roleChanged: (roleChange) => told.push(`second role ${roleChange.epoch}`),
    };
    const both = observeFailoverBoth(full, partial);
    both.roleChanged?.(change(7));
    both.rolledBack?.({} as Rollback);
    assert.deepEqual(told, ['first role 7', 'second role 7', 'first rollback']);
  });
});
