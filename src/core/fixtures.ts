/**
 * Helpers shared by the core's unit tests. Pure like the core: the PRNG is seeded, so every test
 * that uses it replays exactly.
 */
import type { Entry } from './entry.js';
import { Prng } from './prng.js';

/** Numbers in [0, 1) from the project's one seeded PRNG (`Prng`, src/core/prng.ts). */
export function seededRandom(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.float();
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
