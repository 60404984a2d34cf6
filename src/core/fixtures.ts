/**
 * Helpers shared by the core's unit tests. Pure like the core: the PRNG is seeded, so every test
 * that uses it replays exactly.
 */
import type { Entry } from './entry.js';

/** mulberry32: a small, fast, seeded PRNG returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = copy[i]!;
    copy[i] = copy[j]!;
    copy[j] = tmp;
  }
  return copy;
}

export function entry(id: number, message = `m${id}`, epoch = 1): Entry {
  return { id, epoch, message };
}

/** Entries fromId..toId inclusive with the default messages. */
export function entries(fromId: number, toId: number, epoch = 1): Entry[] {
  const out: Entry[] = [];
  for (let id = fromId; id <= toId; id++) out.push(entry(id, `m${id}`, epoch));
  return out;
}
