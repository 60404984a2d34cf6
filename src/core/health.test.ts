import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import { HealthDetector, type HealthPolicy, type HealthTransition } from './health.js';

const POLICY: HealthPolicy = {
  heartbeatIntervalMs: 100,
  suspectAfterMisses: 2,
  unhealthyAfterMisses: 4,
};

/** Sends a probe at `nowMs` and lets it go unanswered until it counts as missed. */
function missOneByTick(detector: HealthDetector, nowMs: number): HealthTransition | undefined {
  detector.probeSent(nowMs);
  assert.equal(detector.tick(nowMs + POLICY.heartbeatIntervalMs - 1), undefined);
  return detector.tick(nowMs + POLICY.heartbeatIntervalMs);
}

void describe('HealthDetector', () => {
  void it('starts Healthy with a probe due at once', () => {
    const detector = new HealthDetector(POLICY, 1000);
    assert.equal(detector.state, 'Healthy');
    assert.equal(detector.missedProbes, 0);
    assert.equal(detector.lastContactAtMs, undefined);
    assert.equal(detector.probeInFlight, false);
    assert.equal(detector.nextWakeupMs(), 1000);
    assert.equal(detector.probeDue(999), false);
    assert.equal(detector.probeDue(1000), true);
  });

  void it('numbers probes, allows one in flight, and schedules the next one an interval later', () => {
    const detector = new HealthDetector(POLICY, 1000);
    assert.equal(detector.probeSent(1000), 1);
    assert.equal(detector.probeInFlight, true);
    assert.equal(detector.probeDue(5000), false, 'never two probes in flight');
    assert.equal(detector.nextWakeupMs(), 1100);
    assert.throws(() => detector.probeSent(1001), InvariantError);
    // Answered after 30 ms: the next probe is still due at 1100, not 1130.
    assert.equal(detector.contact(1030, 1), undefined);
    assert.equal(detector.probeInFlight, false);
    assert.equal(detector.lastContactAtMs, 1030);
    assert.equal(detector.nextWakeupMs(), 1100);
    assert.equal(detector.probeDue(1099), false);
    assert.equal(detector.probeDue(1100), true);
    assert.equal(detector.probeSent(1100), 2);
  });

  const missPaths: { name: string; miss: (d: HealthDetector, nowMs: number) => unknown }[] = [
    { name: 'unanswered for an interval (tick)', miss: missOneByTick },
    {
      name: 'failed (probeFailed)',
      miss: (d, nowMs) => d.probeFailed(d.probeSent(nowMs)),
    },
  ];
  for (const { name, miss } of missPaths) {
    void it(`Healthy -> Suspected after 2, -> Unhealthy after 4 probes ${name}`, () => {
      const detector = new HealthDetector(POLICY, 0);
      const expected: (HealthTransition | undefined)[] = [
        undefined,
        { from: 'Healthy', to: 'Suspected', missedProbes: 2 },
        undefined,
        { from: 'Suspected', to: 'Unhealthy', missedProbes: 4 },
        undefined,
        undefined,
      ];
      const states = ['Healthy', 'Suspected', 'Suspected', 'Unhealthy', 'Unhealthy', 'Unhealthy'];
      expected.forEach((transition, index) => {
        const nowMs = index * POLICY.heartbeatIntervalMs;
        assert.deepEqual(miss(detector, nowMs), transition, `miss ${index + 1}`);
        assert.equal(detector.state, states[index]);
        assert.equal(detector.missedProbes, index + 1);
      });
    });
  }

  const contactFrom: { from: 'Suspected' | 'Unhealthy'; misses: number }[] = [
    { from: 'Suspected', misses: 2 },
    { from: 'Suspected', misses: 3 },
    { from: 'Unhealthy', misses: 4 },
    { from: 'Unhealthy', misses: 9 },
  ];
  for (const { from, misses } of contactFrom) {
    void it(`one contact after ${misses} misses (${from}) makes it Healthy at once`, () => {
      const detector = new HealthDetector(POLICY, 0);
      for (let i = 0; i < misses; i++) missOneByTick(detector, i * 100);
      assert.equal(detector.state, from);
      assert.deepEqual(detector.contact(misses * 100 + 7), {
        from,
        to: 'Healthy',
        missedProbes: 0,
      });
      assert.equal(detector.missedProbes, 0);
      assert.equal(detector.lastContactAtMs, misses * 100 + 7);
      // Misses count again from zero: one more miss is not enough to be Suspected.
      assert.equal(missOneByTick(detector, misses * 100 + 100), undefined);
      assert.equal(detector.state, 'Healthy');
    });
  }

  void it('contact while Healthy resets misses without a transition', () => {
    const detector = new HealthDetector(POLICY, 0);
    missOneByTick(detector, 0);
    assert.equal(detector.missedProbes, 1);
    assert.equal(detector.contact(150), undefined);
    assert.equal(detector.missedProbes, 0);
    assert.equal(detector.state, 'Healthy');
  });

  void it('a contact without a probe number (replication reply) keeps the probe in flight', () => {
    const detector = new HealthDetector(POLICY, 0);
    detector.probeSent(0);
    detector.contact(10);
    assert.equal(detector.probeInFlight, true);
    assert.equal(detector.tick(100), undefined, 'the unanswered probe is a miss but only one');
    assert.equal(detector.missedProbes, 1);
  });

  void it('a late answer to an older probe proves life but does not clear the current probe', () => {
    const detector = new HealthDetector(POLICY, 0);
    const first = detector.probeSent(0);
    detector.tick(100); // first probe missed
    const second = detector.probeSent(100);
    assert.equal(second, first + 1);
    detector.contact(120, first);
    assert.equal(detector.probeInFlight, true, 'probe 2 is still in flight');
    assert.equal(detector.missedProbes, 0);
    detector.contact(130, second);
    assert.equal(detector.probeInFlight, false);
  });

  void it('a late failure of an old probe is not counted again', () => {
    const detector = new HealthDetector(POLICY, 0);
    const first = detector.probeSent(0);
    assert.equal(detector.tick(100), undefined); // miss 1, counted by time
    assert.equal(detector.probeFailed(first), undefined); // the same probe fails late: ignored
    assert.equal(detector.missedProbes, 1);
    const second = detector.probeSent(100);
    assert.equal(detector.probeFailed(first), undefined); // still ignored while probe 2 flies
    assert.equal(detector.missedProbes, 1);
    assert.equal(detector.probeInFlight, true);
    assert.deepEqual(detector.probeFailed(second), {
      from: 'Healthy',
      to: 'Suspected',
      missedProbes: 2,
    });
    assert.equal(detector.probeFailed(second), undefined, 'a second failure report is ignored');
    assert.equal(detector.tick(1000), undefined, 'nothing in flight: time alone is no miss');
    assert.equal(detector.missedProbes, 2);
  });

  void it('a failure reported after a timeout-miss of the same probe is not double counted', () => {
    const detector = new HealthDetector(POLICY, 0);
    const probe = detector.probeSent(0);
    detector.tick(100);
    detector.probeFailed(probe);
    detector.tick(500);
    assert.equal(detector.missedProbes, 1);
  });

  void it('nextWakeupMs follows the probe in flight and the next probe due', () => {
    const detector = new HealthDetector(POLICY, 50);
    assert.equal(detector.nextWakeupMs(), 50);
    detector.probeSent(60);
    assert.equal(detector.nextWakeupMs(), 160);
    detector.tick(160);
    assert.equal(detector.nextWakeupMs(), 160, 'the next probe is due now');
    assert.equal(detector.probeDue(160), true);
    detector.probeSent(170);
    detector.probeFailed(2);
    assert.equal(detector.nextWakeupMs(), 270, 'after a quick failure, wait for the interval');
    assert.equal(detector.probeDue(269), false);
  });

  void it('a silent secondary probed every interval is Suspected at 2 and Unhealthy at 4 intervals', () => {
    const detector = new HealthDetector(POLICY, 0);
    const seen: [number, string][] = [];
    for (let nowMs = 0; nowMs <= 1000; nowMs += 10) {
      const transition = detector.tick(nowMs);
      if (transition !== undefined) seen.push([nowMs, transition.to]);
      if (detector.probeDue(nowMs)) detector.probeSent(nowMs);
    }
    assert.deepEqual(seen, [
      [200, 'Suspected'],
      [400, 'Unhealthy'],
    ]);
  });

  void it('a secondary answering every probe never leaves Healthy', () => {
    const detector = new HealthDetector(POLICY, 0);
    for (let nowMs = 0; nowMs <= 10_000; nowMs += 10) {
      assert.equal(detector.tick(nowMs), undefined);
      if (detector.probeDue(nowMs)) {
        const probe = detector.probeSent(nowMs);
        // answered 99 ms later, just inside the interval
        assert.equal(detector.tick(nowMs + 99), undefined);
        assert.equal(detector.contact(nowMs + 99, probe), undefined);
      }
      assert.equal(detector.state, 'Healthy');
    }
  });

  void it('suspectAfterMisses 1, unhealthyAfterMisses 2', () => {
    const detector = new HealthDetector(
      { heartbeatIntervalMs: 10, suspectAfterMisses: 1, unhealthyAfterMisses: 2 },
      0,
    );
    assert.deepEqual(detector.probeFailed(detector.probeSent(0)), {
      from: 'Healthy',
      to: 'Suspected',
      missedProbes: 1,
    });
    assert.deepEqual(detector.probeFailed(detector.probeSent(10)), {
      from: 'Suspected',
      to: 'Unhealthy',
      missedProbes: 2,
    });
  });

  const badPolicies: { name: string; policy: HealthPolicy }[] = [
    { name: 'interval 0', policy: { ...POLICY, heartbeatIntervalMs: 0 } },
    { name: 'suspect 0', policy: { ...POLICY, suspectAfterMisses: 0 } },
    {
      name: 'unhealthy == suspect',
      policy: { ...POLICY, suspectAfterMisses: 3, unhealthyAfterMisses: 3 },
    },
    {
      name: 'unhealthy < suspect',
      policy: { ...POLICY, suspectAfterMisses: 3, unhealthyAfterMisses: 2 },
    },
  ];
  for (const { name, policy } of badPolicies) {
    void it(`rejects a policy with ${name}`, () => {
      assert.throws(() => new HealthDetector(policy, 0), InvariantError);
    });
  }
});
