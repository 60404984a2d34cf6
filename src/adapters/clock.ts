/**
 * Time, at the edge. The core only ever sees numbers passed to it; the composition root reads
 * them from here. `nowMs` is monotonic (performance.now), so a wall-clock step never makes a
 * secondary look silent or a deadline pass early.
 */
export interface Clock {
  nowMs(): number;
  /**
   * Runs `fn` after `delayMs`; returns a function that cancels it. A delay of 0 (or less) runs
   * it as soon as the current work is done, after pending I/O callbacks: the way to coalesce
   * work arriving in one turn.
   */
  schedule(delayMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  nowMs: () => performance.now(),
  schedule(delayMs, fn) {
    if (delayMs <= 0) {
      const immediate = setImmediate(fn);
      return () => {
        clearImmediate(immediate);
      };
    }
    const timer = setTimeout(fn, delayMs);
    // Timers never keep a stopping process alive; servers and sockets do.
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};
