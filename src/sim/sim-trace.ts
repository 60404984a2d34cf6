/** FNV-1a over a run's trace, so that a replay can be compared with its original cheaply. */
export class TraceHash {
  #hash = 0x811c9dc5;

  addNumber(value: number): void {
    this.#hash = Math.imul(this.#hash ^ (value | 0), 0x01000193) >>> 0;
  }

  addString(text: string): void {
    for (let i = 0; i < text.length; i++) this.addNumber(text.charCodeAt(i));
  }

  get hex(): string {
    return this.#hash.toString(16).padStart(8, '0');
  }
}

/**
 * Lets every promise continuation the last step started run to its end: setImmediate fires only
 * once the microtask queue is empty. Nothing else runs meanwhile (the world has no real I/O), so
 * a run stays a function of its seed.
 */
export function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
