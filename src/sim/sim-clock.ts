import type { Clock } from '../adapters/clock.js';
import type { Scheduler } from './scheduler.js';

/**
 * A node's clock in the simulation: virtual time, and timers that are events of the node's
 * current lifetime (a crash takes them with it; a pause holds them back). `schedule(0)` runs
 * after the current step, as setImmediate does after the current turn.
 */
export function simClock(scheduler: Scheduler, owner: string): Clock {
  return {
    nowMs: () => scheduler.nowMs,
    schedule(delayMs, fn) {
      let cancelled = false;
      scheduler.after(Math.max(0, delayMs), owner, () => {
        if (!cancelled) fn();
      });
      return () => {
        cancelled = true;
      };
    },
  };
}
