import type { Clock } from '../adapters/clock.js';

interface Timer {
  readonly dueMs: number;
  /** Order of scheduling: timers due at the same time run in the order they were set. */
  readonly seq: number;
  readonly fn: () => void;
}

/** Timers one `advance` may run before it gives up on a timer that keeps rescheduling itself. */
const MAX_TIMERS_PER_ADVANCE = 10_000;

/** Lets every promise callback already queued (and those they queue in turn) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock for tests that moves only when told to: `advance(ms)` runs the timers that fall due, in
 * time order, and lets the promise callbacks each one starts settle before the next, so that code
 * which awaits between its timers behaves as it would in real time, only exactly and at once.
 */
export class ManualClock implements Clock {
  #nowMs: number;
  #seq = 0;
  /** Sorted by due time, then by scheduling order. */
  readonly #timers: Timer[] = [];

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  /** Timers set and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const timer: Timer = { dueMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, fn };
    const at = this.#timers.findIndex((other) => other.dueMs > timer.dueMs);
    this.#timers.splice(at === -1 ? this.#timers.length : at, 0, timer);
    return () => {
      const index = this.#timers.indexOf(timer);
      if (index !== -1) this.#timers.splice(index, 1);
    };
  }

  /**
   * Moves time `ms` forward, running each timer due by then (those set meanwhile too) at its due
   * time, oldest first, with pending promise callbacks settled before and after each.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`a clock only moves forward: advance(${ms}); pass ms >= 0`);
    const targetMs = this.#nowMs + ms;
    for (let ran = 0; ; ran++) {
      await settle();
      const next = this.#timers[0];
      if (next === undefined || next.dueMs > targetMs) break;
      if (ran >= MAX_TIMERS_PER_ADVANCE) {
        throw new Error(
          `advance(${ms}) ran ${ran} timers (limit ${MAX_TIMERS_PER_ADVANCE}); a timer keeps rescheduling itself without delay`,
        );
      }
      this.#timers.shift();
      this.#nowMs = next.dueMs;
      next.fn();
    }
    this.#nowMs = targetMs;
  }
}
