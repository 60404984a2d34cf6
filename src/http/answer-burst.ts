import type { Clock } from '../adapters/clock.js';

/**
 * Answers of one turn of the event loop, written together once its work is done
 * (`Clock.schedule(0)`: no time passes). An answer written on its own wakes the client's process
 * for it alone; on a machine whose idle processes are expensive to wake (this project's 2-core
 * VM: ~40 µs in the writer's `write` for a loopback round trip of ~140 µs), a load of many
 * clients then spends more on wake-ups than on the answers. Written together, the first answer of
 * a turn wakes the readers and the rest find them awake. The append endpoint sends w=1's answers
 * through it: they went out one by one, each as its append was stored, between the reads of the
 * next requests (the answers that wait for secondaries are released together by one replication
 * answer already, and a further turn only delays them).
 */
export class AnswerBurst {
  #queued: (() => void)[] = [];

  constructor(private readonly clock: Clock) {}

  /** Writes `answer` with the others of this turn, in the order they came. */
  add(answer: () => void): void {
    this.#queued.push(answer);
    if (this.#queued.length === 1) {
      this.clock.schedule(0, () => {
        this.#write();
      });
    }
  }

  #write(): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const answer of queued) answer();
  }
}
