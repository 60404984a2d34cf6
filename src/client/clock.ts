/**
 * Time as the client's input: what it reads the time from and how it waits. Tests give their own
 * (a sleep that records the pause and returns at once), so no test waits for real seconds.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds on a clock that never goes back (only differences are used). */
  now(): number;
  /** Resolves after `ms`; rejects when `signal` fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, signal === undefined ? {} : { signal }),
};
