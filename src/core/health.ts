import { assert } from './assert.js';

export type HealthState = 'Healthy' | 'Suspected' | 'Unhealthy';

export const HEALTH_STATES: readonly HealthState[] = ['Healthy', 'Suspected', 'Unhealthy'];

export interface HealthPolicy {
  /** How often a secondary is probed; a probe unanswered after this long counts as missed. */
  readonly heartbeatIntervalMs: number;
  /** Consecutive missed probes after which a Healthy secondary becomes Suspected. */
  readonly suspectAfterMisses: number;
  /** Consecutive missed probes after which a secondary becomes Unhealthy. */
  readonly unhealthyAfterMisses: number;
}

export interface HealthTransition {
  readonly from: HealthState;
  readonly to: HealthState;
  readonly missedProbes: number;
}

/**
 * Failure detector for one secondary, driven only by the inputs it is given (probe sent, probe
 * answered, probe failed, time passed). Any answer from the secondary, a probe or a replication
 * reply, is proof of life and makes it Healthy at once; misses accumulate only from probes, so the
 * time to become Unhealthy is bounded by `unhealthyAfterMisses` probe intervals.
 */
export class HealthDetector {
  #state: HealthState = 'Healthy';
  #missedProbes = 0;
  #probeSentAtMs: number | undefined;
  /** Number of the probe in flight, so that a late failure of an older probe is not counted twice. */
  #probeNo = 0;
  #nextProbeAtMs: number;
  #lastContactAtMs: number | undefined;

  constructor(
    private readonly policy: HealthPolicy,
    nowMs: number,
  ) {
    assert(policy.heartbeatIntervalMs > 0, 'heartbeatIntervalMs must be > 0');
    assert(
      policy.suspectAfterMisses >= 1 && policy.unhealthyAfterMisses > policy.suspectAfterMisses,
      'health policy needs 1 <= suspectAfterMisses < unhealthyAfterMisses',
    );
    this.#nextProbeAtMs = nowMs;
  }

  get state(): HealthState {
    return this.#state;
  }

  get missedProbes(): number {
    return this.#missedProbes;
  }

  get lastContactAtMs(): number | undefined {
    return this.#lastContactAtMs;
  }

  get probeInFlight(): boolean {
    return this.#probeSentAtMs !== undefined;
  }

  /** The next time at which `tick` or `probeDue` may change something. */
  nextWakeupMs(): number {
    return this.#probeSentAtMs === undefined
      ? this.#nextProbeAtMs
      : this.#probeSentAtMs + this.policy.heartbeatIntervalMs;
  }

  probeDue(nowMs: number): boolean {
    return this.#probeSentAtMs === undefined && nowMs >= this.#nextProbeAtMs;
  }

  /**
   * Records a probe sent now and returns its number, to pass back with its outcome. The number
   * may come from the caller (the master numbers probes and batches together); it only grows.
   */
  probeSent(nowMs: number, probeNo = this.#probeNo + 1): number {
    assert(this.#probeSentAtMs === undefined, 'a probe is already in flight');
    assert(probeNo > this.#probeNo, `probe number ${probeNo} after ${this.#probeNo}`);
    this.#probeSentAtMs = nowMs;
    this.#nextProbeAtMs = nowMs + this.policy.heartbeatIntervalMs;
    this.#probeNo = probeNo;
    return probeNo;
  }

  /** A probe was answered, or any other reply proves the secondary is alive. */
  contact(nowMs: number, probeNo?: number): HealthTransition | undefined {
    if (probeNo === this.#probeNo) this.#probeSentAtMs = undefined;
    this.#lastContactAtMs = nowMs;
    this.#missedProbes = 0;
    return this.#moveTo('Healthy');
  }

  /** The probe in flight failed (connection refused, error status, timeout). */
  probeFailed(probeNo: number): HealthTransition | undefined {
    if (this.#probeSentAtMs === undefined || probeNo !== this.#probeNo) return undefined;
    this.#probeSentAtMs = undefined;
    return this.#miss();
  }

  /** Counts a probe unanswered for a whole interval as missed. */
  tick(nowMs: number): HealthTransition | undefined {
    if (this.#probeSentAtMs === undefined) return undefined;
    if (nowMs < this.#probeSentAtMs + this.policy.heartbeatIntervalMs) return undefined;
    this.#probeSentAtMs = undefined;
    return this.#miss();
  }

  #miss(): HealthTransition | undefined {
    this.#missedProbes += 1;
    if (this.#missedProbes >= this.policy.unhealthyAfterMisses) return this.#moveTo('Unhealthy');
    if (this.#missedProbes >= this.policy.suspectAfterMisses) return this.#moveTo('Suspected');
    return undefined;
  }

  #moveTo(to: HealthState): HealthTransition | undefined {
    const from = this.#state;
    if (from === to) return undefined;
    this.#state = to;
    return { from, to, missedProbes: this.#missedProbes };
  }
}
