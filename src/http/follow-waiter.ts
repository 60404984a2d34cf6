import type { Clock } from '../adapters/clock.js';
import type { VisibleListener } from '../node/visible-entries.js';

/** What following needs of a node, master or secondary. */
export interface VisibleLog {
  /** The last id a read may show now (the master's stored log, a secondary's gap-free prefix). */
  lastVisibleId(): number;
  /** Calls `listener` each time new entries become visible; returns the unsubscribe. */
  onVisible(listener: VisibleListener): () => void;
}

/**
 * Why a wait ended: an entry after `sinceId` is visible, the time is up, or it was ended from
 * outside (the client went away, the node is closing).
 */
export type WaitEnd = 'visible' | 'timeout' | 'ended';

export interface Waiting {
  readonly done: Promise<WaitEnd>;
  /** Ends the wait now, as `ended`; nothing once it has ended. */
  readonly end: () => void;
}

/**
 * Waits, on `clock`, up to `waitMs` for the log to show an entry after `sinceId`: the long poll
 * of `GET /logs?since=&waitMs=`. Resolves at once when there is one already.
 */
export function waitForEntries(
  log: VisibleLog,
  clock: Clock,
  sinceId: number,
  waitMs: number,
): Waiting {
  if (log.lastVisibleId() > sinceId) {
    return { done: Promise.resolve('visible'), end: () => undefined };
  }
  let finish: (how: WaitEnd) => void = () => undefined;
  const done = new Promise<WaitEnd>((resolve) => {
    let unsubscribe = (): void => undefined;
    let cancelTimer = (): void => undefined;
    let ended = false;
    finish = (how) => {
      if (ended) return;
      ended = true;
      unsubscribe();
      cancelTimer();
      resolve(how);
    };
    unsubscribe = log.onVisible((lastVisibleId) => {
      if (lastVisibleId > sinceId) finish('visible');
    });
    cancelTimer = clock.schedule(waitMs, () => {
      finish('timeout');
    });
  });
  return {
    done,
    end: () => {
      finish('ended');
    },
  };
}
