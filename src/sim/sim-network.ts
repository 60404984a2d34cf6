import type { Prng } from '../core/prng.js';
import type { Scheduler } from './scheduler.js';

/** The faults of one direction of one link (an ordered pair of nodes). */
export interface LinkFaults {
  /** A cut link loses every message: a partition, one-way when only one direction is cut. */
  readonly cut: boolean;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Each message takes a delay drawn from this range, so messages overtake each other. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const CALM_LINK: LinkFaults = {
  cut: false,
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 10,
};

/** How a request ended for the caller: an answer, or a transport failure. */
export type Delivery<A> =
  | { readonly kind: 'answer'; readonly answer: A }
  | { readonly kind: 'failed'; readonly error: string };

export interface NetworkStats {
  sent: number;
  dropped: number;
  duplicated: number;
}

/**
 * Messages between named nodes, delivered by the scheduler after a per-message delay. Requests
 * and replies are separate messages, so a reply can be lost after the server acted on the request
 * (a secondary stored the batch but the master never hears of it).
 */
export class SimNetwork {
  readonly #links = new Map<string, LinkFaults>();
  /** When each client last received an answer from each server, by `server>client`. */
  readonly #lastAnswerAtMs = new Map<string, number>();
  readonly stats: NetworkStats = { sent: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
  ) {}

  link(from: string, to: string): LinkFaults {
    return this.#links.get(`${from}>${to}`) ?? CALM_LINK;
  }

  setLink(from: string, to: string, change: Partial<LinkFaults>): void {
    this.#links.set(`${from}>${to}`, { ...this.link(from, to), ...change });
  }

  /** When `client` last received an answer (not a refusal, not a timeout) from `server`. */
  lastAnswerAtMs(server: string, client: string): number | undefined {
    return this.#lastAnswerAtMs.get(`${server}>${client}`);
  }

  healAll(): void {
    this.#links.clear();
  }

  /**
   * Sends one message; `deliver` runs on `to` (waiting while it is paused) unless the message is
   * lost. `replyLifetime` binds a reply to the lifetime of the process that asked, so a restarted
   * process never receives answers meant for its predecessor.
   */
  send(from: string, to: string, deliver: () => void, lifetime: 'any' | number = 'any'): void {
    const faults = this.link(from, to);
    this.stats.sent += 1;
    if (faults.cut || this.prng.chance(faults.dropRate)) {
      this.stats.dropped += 1;
      return;
    }
    const copies = this.prng.chance(faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated += 1;
    for (let copy = 0; copy < copies; copy++) {
      const delayMs = this.prng.int(faults.minDelayMs, faults.maxDelayMs);
      this.scheduler.after(delayMs, to, deliver, lifetime);
    }
  }

  /**
   * A request/answer exchange, like one HTTP call: settles exactly once, with the first answer to
   * arrive, or a failure when the server is down (connection refused) or on timeout. `serve` runs
   * on the server when the request arrives; it returns false when no process is listening, and
   * calls `respond` (maybe later, maybe never) with the answer.
   */
  request<A>(
    from: string,
    to: string,
    timeoutMs: number,
    serve: (respond: (answer: A) => void) => boolean,
    settle: (delivery: Delivery<A>) => void,
  ): void {
    let settled = false;
    const finish = (delivery: Delivery<A>): void => {
      if (settled) return;
      settled = true;
      settle(delivery);
    };
    const callerLifetime = this.scheduler.lifetimeOf(from);
    // A request goes over a connection, and a connection reaches one process: the one running
    // when it is sent (or the next to start, if none is). If that process dies first, the request
    // is lost with it and the caller times out; it never reaches a later process. Without this,
    // requests would overtake restarts, which TCP does not allow.
    const serverLifetime = this.scheduler.lifetimeOf(to);
    this.scheduler.after(timeoutMs, from, () => {
      finish({ kind: 'failed', error: 'timeout' });
    });
    this.send(
      from,
      to,
      () => {
        const listening = serve((answer) => {
          this.send(
            to,
            from,
            () => {
              this.#lastAnswerAtMs.set(`${to}>${from}`, this.scheduler.nowMs);
              finish({ kind: 'answer', answer });
            },
            callerLifetime,
          );
        });
        if (!listening) {
          this.send(
            to,
            from,
            () => {
              finish({ kind: 'failed', error: 'ECONNREFUSED' });
            },
            callerLifetime,
          );
        }
      },
      serverLifetime,
    );
  }
}
