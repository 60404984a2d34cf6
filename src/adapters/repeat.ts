import type { Clock } from './clock.js';

/**
 * Runs `fn` every `intervalMs` on `clock` (the first time one interval from now) until the
 * returned function is called; setInterval for an injected clock.
 */
export function repeatEvery(clock: Clock, intervalMs: number, fn: () => void): () => void {
  let stopped = false;
  let cancel = (): void => undefined;
  const tick = (): void => {
    if (stopped) return;
    cancel = clock.schedule(intervalMs, () => {
      tick();
      fn();
    });
  };
  tick();
  return () => {
    stopped = true;
    cancel();
  };
}
