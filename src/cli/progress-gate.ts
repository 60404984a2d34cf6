import type { ProgressLine } from './texts.js';

/** How often an unchanged progress line is repeated, so a long wait still shows it is alive. */
export const PROGRESS_REPEAT_MS = 5000;

/**
 * Decides which progress lines to print: a line whose news (its key) differs from the last one
 * printed, or the same news again after `repeatMs`. Polling once a second would otherwise print
 * the same words every second, differing only in "last contact ... ago".
 */
export class ProgressGate {
  #lastKey: string | undefined;
  #lastAtMs = 0;

  constructor(private readonly repeatMs = PROGRESS_REPEAT_MS) {}

  offer(line: ProgressLine, nowMs: number): boolean {
    if (line.key === this.#lastKey && nowMs - this.#lastAtMs < this.repeatMs) return false;
    this.#lastKey = line.key;
    this.#lastAtMs = nowMs;
    return true;
  }
}
