/**
 * The failover round in `npm test` (issue 14): three failover nodes as real processes under a
 * load of w="majority" (and some w=1) appends; three times the master of the moment is killed -9,
 * another node must become master and acknowledge appends, the killed node is restarted and must
 * rejoin as a secondary and converge. The history checker judges the whole run (F1–F5). No
 * assertion on speed: each wait is bounded (20 s) only so that a stuck cluster fails the test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFailoverRounds } from './failover-round.js';

test(
  'failover: 3 kills -9 of the current master under load; new master each round; checker finds nothing',
  { timeout: 120_000 },
  async (t) => {
    const result = await runFailoverRounds({ kills: 3, acksBeforeKill: 10, seed: 14 });
    const summary = [
      ...result.rounds.map(
        (round) =>
          `round ${round.round}: killed ${round.killed} (epoch ${round.epochBefore}), new master ${round.newMaster} (epoch ${round.epochAfter}), ${round.killed} back as ${round.rejoinedAs}`,
      ),
      `figures: ${JSON.stringify(result.figures)}`,
      ...result.violations.map((violation) => `[${violation.guarantee}] ${violation.message}`),
    ].join('\n');
    for (const line of summary.split('\n')) t.diagnostic(line);
    const failure = `${summary}\n${result.diagnostics}`;
    assert.deepEqual(result.violations, [], failure);
    assert.equal(result.rounds.length, 3, failure);
    for (const round of result.rounds) {
      assert.notEqual(round.newMaster, round.killed, failure);
      assert.ok(round.epochAfter > round.epochBefore, failure);
      assert.equal(round.rejoinedAs, 'secondary', failure);
    }
    assert.equal(result.figures.majorityLost, 0, failure);
    assert.ok(result.figures.majorityAcknowledged > 0, failure);
  },
);
