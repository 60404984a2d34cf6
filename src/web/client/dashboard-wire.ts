/**
 * The JSON the master's dashboard endpoints send (`GET /dashboard/state` and every `state` event
 * of `GET /dashboard/events`). Types only: the server builds it and the page's script reads it,
 * both against this one definition.
 */

export type HealthState = 'Healthy' | 'Suspected' | 'Unhealthy';

/** One entry of a node's recent log, as displayed. */
export interface TailEntry {
  readonly id: number;
  /** The message, cut to a few hundred characters so that an event stays small. */
  readonly message: string;
  /** The message's whole length in characters, present only when `message` was cut. */
  readonly fullLength?: number;
}

/** A secondary's fault settings, as its `GET /admin/faults` answers them. */
export interface FaultSettings {
  readonly delayMs: number | readonly [number, number];
  readonly errorRate: number;
  readonly partitioned: boolean;
}

/** Whether a secondary takes fault injection, as far as the master could tell. */
export type FaultInjection =
  | { readonly state: 'on'; readonly settings: FaultSettings }
  | { readonly state: 'off' }
  | { readonly state: 'unknown'; readonly reason: string };

export interface MasterView {
  readonly name: string;
  readonly status: 'ok' | 'read-only';
  readonly lastId: number;
  readonly waitingAppends: number;
  readonly tail: readonly TailEntry[];
}

/**
 * A secondary as the master sees it (status, acked id, lag, last contact) and as it answers the
 * dashboard itself (reach, its own last id, its log).
 */
export interface SecondaryView {
  readonly name: string;
  readonly url: string;
  readonly status: HealthState;
  readonly ackedId: number;
  readonly lag: number;
  /** Whole seconds since the master last heard from it (0: under a second); null: never. */
  readonly lastContactS: number | null;
  /** `pending` until the dashboard first asked it. */
  readonly reach: 'pending' | 'reachable' | 'unreachable';
  /** Why the last request of the dashboard failed, when `reach` is `unreachable`. */
  readonly reachError: string | null;
  /** Its own high-water mark: it holds every entry 1..lastId. Null until it answered. */
  readonly lastId: number | null;
  /** Entries it holds beyond a gap (never shown by it, never counted). */
  readonly pending: number | null;
  /** The last entries it serves; kept from its last answer while it is unreachable. */
  readonly tail: readonly TailEntry[];
  readonly faults: FaultInjection;
}

export interface DashboardState {
  /** Grows by one at every change the page should show. */
  readonly version: number;
  /** How many entries each node's `tail` keeps at most. */
  readonly tailSize: number;
  readonly quorum: { readonly size: number; readonly required: number; readonly healthy: number };
  /** Whether the master runs with API_TOKEN, so that the page asks for it before a refusal. */
  readonly appendsNeedToken: boolean;
  readonly master: MasterView;
  readonly secondaries: readonly SecondaryView[];
}
