/**
 * A short real-process chaos run with a deterministic schedule: every loopback fault kind happens
 * at least once (kill -9 and restart of a secondary and of the master, SIGSTOP/SIGCONT of both,
 * partition, injected 500s and delays through /admin/faults, lost and delayed replies through the
 * fault proxy); the history checker must find no violation and the nodes must converge. No
 * assertion on speed: every wait is generous and bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CURRENT_MASTER_FAULTS,
  FAILOVER_FAULTS,
  FAULT_KINDS,
  NETNS_FAULTS,
  formatSummary,
  runChaos,
} from './chaos.js';

test(
  'chaos (loopback, seed 42, every fault kind): no violation, convergence',
  { timeout: 150_000 },
  async (t) => {
    const kinds = FAULT_KINDS.filter(
      (kind) => !NETNS_FAULTS.includes(kind) && !CURRENT_MASTER_FAULTS.includes(kind),
    );
    const result = await runChaos({
      durationMs: 16_000,
      seed: 42,
      clients: 6,
      netns: 'off',
      schedule: 'round-robin',
      faults: kinds,
      maxConcurrentFaults: 2,
      holdMs: [400, 900],
      gapMs: [100, 300],
      settleTimeoutMs: 60_000,
    });
    const summary = formatSummary(result);
    for (const line of summary.split('\n')) t.diagnostic(line);
    const failure = `${summary}\n${result.diagnostics}`;
    assert.deepEqual(result.violations, [], failure);
    assert.ok(result.converged, failure);
    assert.deepEqual(result.nemesisErrors, [], failure);
    for (const kind of kinds)
      assert.ok(result.faults[kind] >= 1, `${kind} never happened\n${failure}`);
    assert.ok(result.operations.ok > 0, `no append was acknowledged\n${failure}`);
    assert.ok(result.observations > 0, failure);
  },
);

test(
  'chaos with failover (seed 14): kill -9, SIGSTOP and partition of the current master, clients on every node; F1–F5 hold, convergence',
  { timeout: 150_000 },
  async (t) => {
    const result = await runChaos({
      durationMs: 12_000,
      seed: 14,
      clients: 6,
      netns: 'off',
      failover: true,
      schedule: 'round-robin',
      faults: FAILOVER_FAULTS,
      maxConcurrentFaults: 1,
      holdMs: [1500, 3500],
      gapMs: [300, 800],
      settleTimeoutMs: 60_000,
    });
    const summary = formatSummary(result);
    for (const line of summary.split('\n')) t.diagnostic(line);
    const failure = `${summary}\n${result.diagnostics}`;
    assert.deepEqual(result.violations, [], failure);
    assert.ok(result.converged, failure);
    assert.deepEqual(result.nemesisErrors, [], failure);
    for (const kind of CURRENT_MASTER_FAULTS)
      assert.ok(result.faults[kind] >= 1, `${kind} never happened\n${failure}`);
    assert.ok(result.history.failover !== undefined, failure);
    assert.ok(result.operations.ok > 0, `no append was acknowledged\n${failure}`);
  },
);
