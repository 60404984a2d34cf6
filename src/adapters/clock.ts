/**
 * Time, at the edge. The core only ever sees numbers passed to it; the composition root reads
 * them from here. `nowMs` is monotonic (performance.now), so a wall-clock step never makes a
 * secondary look silent or a deadline pass early.
 */
export interface Clock {
  nowMs(): number;
  /** Runs `fn` after `delayMs`; returns a function that cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  nowMs: () => performance.now(),
  schedule(delayMs, fn) {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    // Timers never keep a stopping process alive; servers and sockets do.
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};
