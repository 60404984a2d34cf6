/**
 * The fake clock and the event loop of one run: a priority queue of timed events, ties broken by
 * the order they were scheduled, so that a run is a pure function of its seed.
 *
 * An event may belong to a node (its owner). A node's events of one lifetime die with it when it
 * crashes (a killed process takes its timers and unsent answers with it), and wait while it is
 * paused (SIGSTOP: nothing runs, everything queues up).
 */
interface ScheduledEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly owner: string | undefined;
  /** The owner's lifetime the event belongs to; `undefined` runs in whatever lifetime is current. */
  readonly lifetime: number | undefined;
  readonly run: () => void;
}

interface OwnerState {
  lifetime: number;
  paused: boolean;
  deferred: ScheduledEvent[];
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class Scheduler {
  #nowMs = 0;
  #seq = 0;
  #steps = 0;
  readonly #heap: ScheduledEvent[] = [];
  readonly #owners = new Map<string, OwnerState>();

  get nowMs(): number {
    return this.#nowMs;
  }

  /** Events run so far. */
  get steps(): number {
    return this.#steps;
  }

  get pending(): number {
    return this.#heap.length;
  }

  lifetimeOf(owner: string): number {
    return this.#owner(owner).lifetime;
  }

  isPaused(owner: string): boolean {
    return this.#owner(owner).paused;
  }

  /**
   * Runs `run` at `atMs` (never in the past). `lifetime: 'current'` binds the event to the owner's
   * present lifetime; `'any'` delivers it to whichever lifetime is up then (a network message).
   */
  at(
    atMs: number,
    owner: string | undefined,
    run: () => void,
    lifetime: 'current' | 'any' | number = 'current',
  ): void {
    const bound =
      owner === undefined || lifetime === 'any'
        ? undefined
        : lifetime === 'current'
          ? this.#owner(owner).lifetime
          : lifetime;
    this.#push({
      atMs: Math.max(atMs, this.#nowMs),
      seq: this.#seq++,
      owner,
      lifetime: bound,
      run,
    });
  }

  after(
    delayMs: number,
    owner: string | undefined,
    run: () => void,
    lifetime: 'current' | 'any' | number = 'current',
  ): void {
    this.at(this.#nowMs + delayMs, owner, run, lifetime);
  }

  /** Ends the owner's lifetime: its pending events are dropped, as are those it deferred. */
  endLifetime(owner: string): void {
    const state = this.#owner(owner);
    state.lifetime += 1;
    state.deferred = [];
    state.paused = false;
  }

  pause(owner: string): void {
    this.#owner(owner).paused = true;
  }

  /** Everything that queued up while paused runs now, in the order it was due. */
  resume(owner: string): void {
    const state = this.#owner(owner);
    state.paused = false;
    const deferred = state.deferred;
    state.deferred = [];
    for (const event of deferred) this.#push({ ...event, atMs: this.#nowMs, seq: this.#seq++ });
  }

  /** Runs the next event; false when none is left before `untilMs`. The clock ends at `untilMs`. */
  step(untilMs: number): boolean {
    const next = this.#heap[0];
    if (next === undefined || next.atMs > untilMs) {
      this.#nowMs = Math.max(this.#nowMs, untilMs);
      return false;
    }
    this.#pop();
    this.#nowMs = next.atMs;
    if (next.owner !== undefined) {
      const state = this.#owner(next.owner);
      if (next.lifetime !== undefined && next.lifetime !== state.lifetime) return true;
      if (state.paused) {
        state.deferred.push(next);
        return true;
      }
    }
    this.#steps += 1;
    next.run();
    return true;
  }

  #owner(owner: string): OwnerState {
    let state = this.#owners.get(owner);
    if (state === undefined) {
      state = { lifetime: 1, paused: false, deferred: [] };
      this.#owners.set(owner, state);
    }
    return state;
  }

  #push(event: ScheduledEvent): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && before(heap[l]!, heap[smallest]!)) smallest = l;
      if (r < heap.length && before(heap[r]!, heap[smallest]!)) smallest = r;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
