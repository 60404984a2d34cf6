import { isDeepStrictEqual } from 'node:util';
import type { MasterHealth } from '../node/master-node.js';
import type {
  DashboardState,
  FaultInjection,
  SecondaryView,
  TailEntry,
} from './client/dashboard-wire.js';

/**
 * The pure part of the dashboard: how poll results become the state the page shows, and whether
 * a new state differs from the last in a way worth sending. No I/O and no clock here; the hub
 * (dashboard-hub.ts) does the polling.
 */

/** What the master's own health gives the dashboard. */
export type MasterSample = Pick<
  MasterHealth,
  'node' | 'status' | 'quorum' | 'log' | 'waitingAppends' | 'secondaries'
>;

/** What one poll of a secondary gave: its answers, or why it gave none. */
export type SecondarySample =
  | {
      readonly kind: 'reachable';
      readonly lastId: number;
      readonly pending: number;
      readonly tail: readonly TailEntry[];
      readonly faults: FaultInjection;
    }
  | { readonly kind: 'unreachable'; readonly error: string };

/** Which requests of the page need a token: fixed for the master's life. */
export interface TokensNeeded {
  readonly appendsNeedToken: boolean;
  readonly faultsNeedToken: boolean;
}

/** The state before anything was polled but the master's own health. */
export function initialState(
  master: MasterSample,
  tailSize: number,
  tokens: TokensNeeded,
): DashboardState {
  const state: DashboardState = {
    version: 1,
    // Stamped when sent (see DashboardHub.snapshot).
    nowMs: 0,
    tailSize,
    quorum: master.quorum,
    appendsNeedToken: tokens.appendsNeedToken,
    faultsNeedToken: tokens.faultsNeedToken,
    master: {
      name: master.node,
      status: master.status,
      lastId: master.log.lastId,
      waitingAppends: master.waitingAppends,
      tail: [],
    },
    secondaries: master.secondaries.map((peer): SecondaryView => ({
      name: peer.name,
      url: peer.url,
      status: peer.status,
      ackedId: peer.ackedId,
      lag: peer.lag,
      lastContactS: contactSeconds(peer.lastContactMs),
      reach: 'pending',
      reachError: null,
      lastId: null,
      pending: null,
      tail: [],
      faults: { state: 'unknown', reason: 'not asked yet' },
    })),
    timeline: null,
  };
  return state;
}

/**
 * Whole seconds since a contact, so that a secondary heard from every 100 ms does not count as
 * a change at every poll; null stays null (never heard from).
 */
export function contactSeconds(ms: number | null): number | null {
  return ms === null ? null : Math.max(0, Math.floor(ms / 1000));
}

/** An entry as displayed: its message cut to `maxChars`, never inside a surrogate pair. */
export function toTailEntry(entry: { id: number; message: string }, maxChars: number): TailEntry {
  const { id, message } = entry;
  if (message.length <= maxChars) return { id, message };
  let end = maxChars;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { id, message: `${message.slice(0, end)}…`, fullLength: message.length };
}

/**
 * What to read to bring `tail` up to a log whose last id is `lastId`: the entries after the
 * tail's last one, or only the last `tailSize` ones when more are missing. Undefined: up to date.
 */
export function tailRequest(
  tail: readonly TailEntry[],
  lastId: number,
  tailSize: number,
): { readonly sinceId: number; readonly limit: number } | undefined {
  const known = tail.at(-1)?.id ?? 0;
  if (lastId <= known) return undefined;
  return { sinceId: Math.max(known, lastId - tailSize), limit: tailSize };
}

/**
 * The tail to keep before new entries are read. A log is only ever extended, so a tail stays
 * valid unless the node now serves a different log (it restarted, or the log's identity changed)
 * or holds fewer entries than the tail shows (it restarted empty).
 */
export function keptTail(
  tail: readonly TailEntry[],
  sameLog: boolean,
  lastId: number,
): readonly TailEntry[] {
  if (!sameLog) return [];
  return (tail.at(-1)?.id ?? 0) > lastId ? [] : tail;
}

/**
 * `tail` extended with freshly read consecutive entries, keeping the last `tailSize`. Entries it
 * already has are skipped; when the read starts after a gap (the tail fell too far behind),
 * the read replaces the tail.
 */
export function mergeTail(
  tail: readonly TailEntry[],
  fetched: readonly TailEntry[],
  tailSize: number,
): readonly TailEntry[] {
  const known = tail.at(-1)?.id ?? 0;
  const fresh = fetched.filter((entry) => entry.id > known);
  const first = fresh[0];
  if (first === undefined) return tail;
  const joined = first.id === known + 1 ? [...tail, ...fresh] : fresh;
  return joined.length > tailSize ? joined.slice(-tailSize) : joined;
}

/**
 * Whether to ask a secondary for its fault settings at this poll. Settings that are on can change
 * at any time; "off" only changes with a restart (a new incarnation); an unknown answer (no
 * answer, or a refused token) is asked again after `recheckMs`.
 */
export function shouldAskFaults(
  known: FaultInjection,
  sameIncarnation: boolean,
  sinceAskedMs: number,
  recheckMs: number,
): boolean {
  if (!sameIncarnation || known.state === 'on') return true;
  if (known.state === 'off') return false;
  return sinceAskedMs >= recheckMs;
}

/** The state with the master's health and tail; each secondary's master-side fields follow. */
export function withMaster(
  state: DashboardState,
  master: MasterSample,
  tail: readonly TailEntry[],
): DashboardState {
  return {
    ...state,
    quorum: master.quorum,
    master: {
      name: master.node,
      status: master.status,
      lastId: master.log.lastId,
      waitingAppends: master.waitingAppends,
      tail,
    },
    secondaries: state.secondaries.map((view) => {
      const peer = master.secondaries.find((candidate) => candidate.name === view.name);
      if (peer === undefined) return view;
      return {
        ...view,
        status: peer.status,
        ackedId: peer.ackedId,
        lag: peer.lag,
        lastContactS: contactSeconds(peer.lastContactMs),
      };
    }),
  };
}

/**
 * The state with one secondary's poll. An unreachable secondary keeps what it last showed
 * (its log, its fault settings), marked as unreachable with the reason.
 */
export function withSecondary(
  state: DashboardState,
  name: string,
  sample: SecondarySample,
): DashboardState {
  return {
    ...state,
    secondaries: state.secondaries.map((view): SecondaryView => {
      if (view.name !== name) return view;
      if (sample.kind === 'unreachable') {
        return { ...view, reach: 'unreachable', reachError: sample.error };
      }
      return {
        ...view,
        reach: 'reachable',
        reachError: null,
        lastId: sample.lastId,
        pending: sample.pending,
        tail: sample.tail,
        faults: sample.faults,
      };
    }),
  };
}

/** The state with one secondary's fault settings as just set through the master. */
export function withFaults(
  state: DashboardState,
  name: string,
  faults: FaultInjection,
): DashboardState {
  return {
    ...state,
    secondaries: state.secondaries.map((view) => (view.name === name ? { ...view, faults } : view)),
  };
}

/**
 * `next` as the new state, one version on, if it shows anything `previous` did not; otherwise
 * `previous` itself, so that callers can tell "nothing to send" by identity.
 */
export function advance(previous: DashboardState, next: DashboardState): DashboardState {
  if (isDeepStrictEqual({ ...next, version: previous.version }, previous)) return previous;
  return { ...next, version: previous.version + 1 };
}
