/**
 * Where `rlog cluster` finds the master of a failover cluster, for its greeting and for the line
 * it prints at each change (an election after the master was killed, stopped or cut off): through
 * the typed client's findMaster(), asking every node's /health.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicatedLogClient } from '../client/index.js';

/** The master as the cluster's greeting and status lines name it. */
export interface MasterNow {
  readonly name: string;
  readonly url: string;
  readonly epoch: number;
}

/** How often the status loop asks where the master is. */
const WATCH_INTERVAL_MS = 1000;
/** One question's bound: a node that is paused must not hold the loop. */
const ASK_TIMEOUT_MS = 1000;

/** A client that looks for the master at every one of `urls`. */
export function clusterClient(urls: readonly string[]): ReplicatedLogClient {
  const [first = '', ...rest] = urls;
  return new ReplicatedLogClient({ url: first, nodes: rest, readTimeoutMs: ASK_TIMEOUT_MS });
}

/** The master now; undefined when no node says it is (an election, or none answers). */
export async function masterNow(
  client: ReplicatedLogClient,
  signal?: AbortSignal,
): Promise<MasterNow | undefined> {
  try {
    const { url, health } = await client.findMaster({
      retry: { maxAttempts: 1 },
      ...(signal === undefined ? {} : { signal }),
    });
    return { name: health.node, url, epoch: health.epoch ?? 0 };
  } catch {
    return undefined;
  }
}

/** Waits (bounded by `timeoutMs`) until a master is found; undefined if none by then. */
export async function waitForMaster(
  client: ReplicatedLogClient,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<MasterNow | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted && Date.now() < deadline) {
    const found = await masterNow(client, signal);
    if (found !== undefined) return found;
    await sleep(WATCH_INTERVAL_MS / 4, undefined, { signal }).catch(() => undefined);
  }
  return undefined;
}

/**
 * Until `signal` fires: asks where the master is every WATCH_INTERVAL_MS and calls `changed` with
 * each new answer (a new master or epoch, or undefined once none is found).
 */
export async function watchMaster(
  client: ReplicatedLogClient,
  from: MasterNow | undefined,
  signal: AbortSignal,
  changed: (master: MasterNow | undefined) => void,
): Promise<void> {
  let last = from;
  // A function, not the property: the compiler cannot see the signal fire during an await.
  const stopped = (): boolean => signal.aborted;
  while (!stopped()) {
    await sleep(WATCH_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
    if (stopped()) return;
    const now = await masterNow(client, signal);
    if (stopped()) return;
    if (now?.name !== last?.name || now?.epoch !== last?.epoch) changed(now);
    last = now;
  }
}

/** The status line of a change of master. */
export function masterChangeText(master: MasterNow | undefined): string {
  return master === undefined
    ? 'cluster: no master now (an election, or no majority of the nodes is up)'
    : `cluster: the master is now ${master.name} ${master.url} (epoch ${master.epoch})`;
}
