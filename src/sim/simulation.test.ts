import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type SimulationOptions, type SimulationStats } from './simulation.js';
import { SimViolation } from './sim-violation.js';

/** The CI sweep: a fixed range, so that a failure here replays with `SEED=<seed> npm run sim`. */
const SWEEP_FIRST_SEED = 1;
const SWEEP_SEEDS = 300;

void describe('deterministic simulation', () => {
  void it(`keeps guarantees 1–13 over seeds ${SWEEP_FIRST_SEED}..${SWEEP_FIRST_SEED + SWEEP_SEEDS - 1}`, (t) => {
    const started = performance.now();
    const total = {
      steps: 0,
      faults: 0,
      dropped: 0,
      duplicated: 0,
      operations: 0,
    };
    const failures: string[] = [];
    for (let seed = SWEEP_FIRST_SEED; seed < SWEEP_FIRST_SEED + SWEEP_SEEDS; seed++) {
      let stats: SimulationStats;
      try {
        stats = runSimulation({ seed });
      } catch (error) {
        failures.push(`${String(error)}\n  replay: SEED=${seed} npm run sim`);
        continue;
      }
      total.steps += stats.steps;
      total.faults += stats.faults;
      total.dropped += stats.messagesDropped;
      total.duplicated += stats.messagesDuplicated;
      total.operations += stats.operations;
    }
    t.diagnostic(
      `${SWEEP_SEEDS} seeds, ${total.steps} steps checked, ${total.faults} fault events ` +
        `(+ ${total.dropped} messages dropped, ${total.duplicated} duplicated), ` +
        `${total.operations} client operations, ` +
        `${Math.round(performance.now() - started)} ms`,
    );
    assert.deepEqual(failures, []);
  });

  void it('replays a seed exactly', () => {
    const first = runSimulation({ seed: 4242 });
    const second = runSimulation({ seed: 4242 });
    assert.deepEqual(second, first);
    assert.notEqual(runSimulation({ seed: 4243 }).traceHash, first.traceHash);
  });
});

/**
 * Each broken behaviour is swapped in through a test-only option of the simulated drivers (never
 * in production code); the simulation must catch it within a few seeds and seconds.
 */
void describe('deterministic simulation catches a broken core', () => {
  const cases: { name: string; options: Omit<SimulationOptions, 'seed'>; guarantees: RegExp }[] = [
    {
      name: 'a secondary that answers with its new hwm before the store write completed',
      options: { secondaryBug: 'reply-before-store' },
      guarantees: /^G1 /,
    },
    {
      name: 'a secondary that counts and shows entries held back behind a gap',
      options: { secondaryBug: 'count-pending-in-hwm' },
      guarantees: /^G(1|4) /,
    },
    {
      name: 'a master that counts its own copy before the fsync',
      options: { masterBug: 'stored-before-durable' },
      guarantees: /^G(1|2) /,
    },
    {
      name: 'a master that acknowledges with one node fewer than w',
      options: { masterBug: 'release-before-w' },
      guarantees: /^G(1|9) /,
    },
  ];
  for (const { name, options, guarantees } of cases) {
    void it(name, (t) => {
      const started = performance.now();
      let caught: SimViolation | undefined;
      let seeds = 0;
      for (let seed = 1; seed <= 50 && caught === undefined; seed++) {
        seeds += 1;
        try {
          runSimulation({ seed, ...options });
        } catch (error) {
          assert.ok(error instanceof SimViolation, String(error));
          caught = error;
        }
      }
      const elapsedMs = performance.now() - started;
      assert.ok(caught !== undefined, `not caught in ${seeds} seeds`);
      t.diagnostic(`caught after ${seeds} seed(s), ${Math.round(elapsedMs)} ms: ${caught.message}`);
      assert.match(caught.guarantee, guarantees);
      assert.ok(elapsedMs < 5000, `took ${Math.round(elapsedMs)} ms`);
    });
  }
});

/**
 * Regression seeds for core bugs the simulator found, both fixed in src/core/replication-progress.ts:
 * - seed 4: a probe revealed a restarted secondary that held more than its previous process was
 *   known to, but waiters it satisfied were not released (G12);
 * - seed 2 with a pending window of 16: entries a secondary dropped beyond its pending window were
 *   never sent again once later batches' replies had moved the master on (G11).
 */
void describe('core bugs found by the simulator', () => {
  void it('seed 4: a waiter is released when a probe reveals a restarted secondary holding its id', () => {
    runSimulation({ seed: 4 });
  });

  void it('seeds 1..40 with pending windows of 4 and 16: replication resumes after dropped entries', () => {
    for (let seed = 1; seed <= 40; seed++) {
      for (const maxPendingEntries of [4, 16]) runSimulation({ seed, maxPendingEntries });
    }
  });
});
