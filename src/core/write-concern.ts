import { assert } from './assert.js';
import { MinHeap } from './min-heap.js';
import { majorityOf } from './quorum.js';

/** What a client asks for: a node count, a majority of the cluster, or every node. */
export type WriteConcern = number | 'majority' | 'all';

/** Resolves a write concern to a node count for a cluster of `clusterSize` nodes. */
export function resolveWriteConcern(w: WriteConcern, clusterSize: number): number {
  if (w === 'all') return clusterSize;
  if (w === 'majority') return majorityOf(clusterSize);
  return w;
}

/**
 * Highest id held by at least `w` nodes, for every w: `heldUpTo[w - 1]`. `held` lists the highest
 * gap-free id each node holds (the master's stored last id and each secondary's matchId). Because
 * every node holds a prefix of the one log, "id is held by >= w nodes" is "id <= w-th largest".
 */
export function heldUpToByW(held: readonly number[]): number[] {
  // An insertion sort, largest first: a cluster has a handful of nodes, and this runs twice per
  // append. `Array.prototype.sort` allocates about 1 KiB per call whatever the length (V8's
  // TimSort state): 1,002 bytes and 184 ns against 74 bytes and 27 ns for three ids, and 13 MB/s
  // of the master's garbage at 64 clients, w=all.
  const sorted = held.slice();
  for (let index = 1; index < sorted.length; index++) {
    const id = sorted[index]!;
    let at = index;
    for (; at > 0 && sorted[at - 1]! < id; at--) sorted[at] = sorted[at - 1]!;
    sorted[at] = id;
  }
  return sorted;
}

export interface Waiter {
  readonly token: number;
  /** The last id of the append (a batch waits for its last entry; prefixes make that enough). */
  readonly lastId: number;
  readonly w: number;
  readonly deadlineMs: number | undefined;
}

/**
 * Appends waiting for their write concern. One queue per w, sorted by id: ids are assigned in
 * arrival order, so new waiters go at the tail and releasing is amortised O(1) per waiter. No waiter ever blocks
 * another: each is released as soon as its own id is held by its own w nodes.
 */
export class WriteConcernWaiters {
  readonly #queues: Waiter[][];
  readonly #heads: number[];
  #deadlines = new MinHeap<Waiter>();
  readonly #done = new Set<number>();
  #size = 0;

  constructor(
    private readonly clusterSize: number,
    private readonly maxWaiters: number,
  ) {
    assert(
      clusterSize >= 1 && maxWaiters >= 1,
      'waiters need clusterSize >= 1 and maxWaiters >= 1',
    );
    this.#queues = Array.from({ length: clusterSize }, () => []);
    this.#heads = Array.from({ length: clusterSize }, () => 0);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a waiter; false when the bounded table is full (the caller answers OVERLOADED). */
  add(waiter: Waiter): boolean {
    assert(
      waiter.w >= 1 && waiter.w <= this.clusterSize,
      `w ${waiter.w} out of 1..${this.clusterSize}`,
    );
    if (this.#size >= this.maxWaiters) return false;
    const index = waiter.w - 1;
    const queue = this.#queues[index]!;
    const tail = queue[queue.length - 1];
    if (tail === undefined || tail.lastId <= waiter.lastId) {
      queue.push(waiter);
    } else {
      // Only an idempotent replay of an older append arrives out of id order: a rare case, so a
      // binary search and a splice keep the queue sorted without slowing the common path.
      let low = this.#heads[index]!;
      let high = queue.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (queue[mid]!.lastId <= waiter.lastId) low = mid + 1;
        else high = mid;
      }
      queue.splice(low, 0, waiter);
    }
    if (waiter.deadlineMs !== undefined) this.#deadlines.push(waiter.deadlineMs, waiter);
    this.#size += 1;
    return true;
  }

  /** Releases every waiter whose id is now held by its w nodes. */
  release(heldUpTo: readonly number[]): Waiter[] {
    const released: Waiter[] = [];
    for (let index = 0; index < this.#queues.length; index++) {
      const queue = this.#queues[index]!;
      const limit = heldUpTo[index] ?? 0;
      let head = this.#heads[index]!;
      while (head < queue.length) {
        const waiter = queue[head]!;
        if (this.#done.has(waiter.token)) {
          this.#done.delete(waiter.token);
        } else if (waiter.lastId <= limit) {
          released.push(waiter);
          this.#markDone(waiter);
          // Keep the token so the deadline heap skips it; it is dropped when popped there.
        } else {
          break;
        }
        head += 1;
      }
      this.#compact(index, head);
    }
    return released;
  }

  /** Removes and returns every waiter whose deadline has passed. */
  expire(nowMs: number): Waiter[] {
    const expired: Waiter[] = [];
    for (;;) {
      const key = this.#deadlines.peekKey();
      if (key === undefined || key > nowMs) break;
      const waiter = this.#deadlines.pop()!;
      if (this.#done.has(waiter.token)) {
        this.#done.delete(waiter.token);
        continue;
      }
      expired.push(waiter);
      this.#markDone(waiter);
    }
    return expired;
  }

  /**
   * Removes and returns every waiter still waiting, with a deadline or without (the master steps
   * down: none of them can be released any more), in queue order.
   */
  takeAll(): Waiter[] {
    const taken: Waiter[] = [];
    for (let index = 0; index < this.#queues.length; index++) {
      const queue = this.#queues[index]!;
      for (let at = this.#heads[index]!; at < queue.length; at++) {
        const waiter = queue[at]!;
        if (!this.#done.has(waiter.token)) taken.push(waiter);
      }
      this.#queues[index] = [];
      this.#heads[index] = 0;
    }
    this.#deadlines = new MinHeap<Waiter>();
    this.#done.clear();
    this.#size = 0;
    return taken;
  }

  nextDeadlineMs(): number | undefined {
    return this.#deadlines.peekKey();
  }

  #markDone(waiter: Waiter): void {
    this.#size -= 1;
    // A waiter lives in its queue and maybe in the deadline heap; it is marked done so that the
    // structure which did not release it drops it lazily. Without a deadline only the queue has it.
    if (waiter.deadlineMs !== undefined) this.#done.add(waiter.token);
  }

  #compact(index: number, head: number): void {
    const queue = this.#queues[index]!;
    if (head > 1024 && head * 2 > queue.length) {
      this.#queues[index] = queue.slice(head);
      this.#heads[index] = 0;
    } else {
      this.#heads[index] = head;
    }
  }
}
