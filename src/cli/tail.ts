/**
 * Reading a node's log from a point on, as `rlog tail` and the shell's `tail` do: where to start
 * (after an id, or the last N entries), what the node holds now (read page by page, up to the id
 * it had when asked, so a busy log cannot keep the read going), and following it through the
 * client's `follow()`, which reconnects by itself.
 */
import type { Entry, Reconnect, ReplicatedLogClient } from '../client/index.js';

/** Where a tail starts: after an id, else before the last `lines` entries, else at the start. */
export interface TailStart {
  readonly after?: number;
  readonly lines?: number;
}

/** The id a tail starts after: `after` as given, the node's last id minus `lines`, else 0. */
export async function startAfter(
  node: ReplicatedLogClient,
  start: TailStart,
  signal?: AbortSignal,
): Promise<number> {
  if (start.after !== undefined) return start.after;
  if (start.lines === undefined) return 0;
  const health = await node.health(signal === undefined ? {} : { signal });
  return Math.max(0, health.log.lastId - start.lines);
}

/**
 * What the node holds after `after` now, page by page (each page as large as the node serves):
 * up to the last id its /health gave when this began, or until a page comes back empty.
 */
export async function* pagesAfter(
  node: ReplicatedLogClient,
  after: number,
  signal?: AbortSignal,
): AsyncGenerator<Entry[], void, undefined> {
  const options = signal === undefined ? {} : { signal };
  const { lastId } = (await node.health(options)).log;
  for (let since = after; since < lastId;) {
    const page = await node.read({ ...options, since });
    const last = page.at(-1);
    if (last === undefined) return;
    const wanted = page.filter((entry) => entry.id <= lastId);
    yield wanted;
    since = last.id;
  }
}

/** The entries after `after` the node holds now, at most the last `max` of them. */
export async function lastEntries(
  node: ReplicatedLogClient,
  after: number,
  max: number,
  signal?: AbortSignal,
): Promise<Entry[]> {
  const kept: Entry[] = [];
  for await (const page of pagesAfter(node, after, signal)) {
    kept.push(...page);
    kept.splice(0, Math.max(0, kept.length - max));
  }
  return kept;
}

export interface FollowSink {
  /** Takes each entry in order; a promise holds the stream back until it resolves. */
  readonly entry: (entry: Entry) => void | Promise<void>;
  readonly reconnect?: (reconnect: Reconnect) => void;
}

/**
 * Follows the node's log after `after` until `signal` fires (then resolves) or following fails
 * (then throws the client's ReplicatedLogError): a gap, a refusal, the node gone for good.
 */
export async function followAfter(
  node: ReplicatedLogClient,
  after: number,
  signal: AbortSignal,
  sink: FollowSink,
): Promise<void> {
  const entries = node.follow({
    since: after,
    signal,
    ...(sink.reconnect === undefined ? {} : { onReconnect: sink.reconnect }),
  });
  try {
    for await (const entry of entries) await sink.entry(entry);
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
}
