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

/**
 * One thing the master did, for the space-time diagram. Times are on the master's clock (see
 * `DashboardState.nowMs`); what the master learns only when something ends (an append's answer, a
 * batch's reply) is recorded then, with its start reckoned back from its duration.
 */
export type TimelineEvent =
  /** An append from arrival to answer; `outcome` as the metrics label it (created, timeout...). */
  | {
      readonly kind: 'append';
      readonly startMs: number;
      readonly endMs: number;
      readonly w: number;
      readonly outcome: string;
    }
  /**
   * A replication batch from sending to its reply: acknowledged (`ok`) or failed (an error, a
   * timeout, a refusal), after which the master sends it again; `retry` marks a batch sent after
   * a failed one.
   */
  | {
      readonly kind: 'batch';
      readonly peer: string;
      readonly startMs: number;
      readonly endMs: number;
      readonly ok: boolean;
      readonly retry: boolean;
      readonly entries: number;
      /** The ids it carried: `firstId..lastId`, none when `lastId` is `firstId - 1`. */
      readonly firstId: number;
      readonly lastId: number;
    }
  /** A heartbeat probe's end: answered, or missed (no answer in time). */
  | {
      readonly kind: 'heartbeat';
      readonly peer: string;
      readonly atMs: number;
      readonly answered: boolean;
    }
  /** The master's view of a secondary changed (Healthy, Suspected, Unhealthy). */
  | {
      readonly kind: 'health';
      readonly peer: string;
      readonly atMs: number;
      readonly to: HealthState;
    };

/**
 * A replication batch sent and not answered yet (to a slow or partitioned secondary, say): the
 * diagram draws it on its way. When its reply comes it leaves this list for `events`, as a
 * `batch`. `sendNo` numbers the requests to `peer` in the order sent.
 */
export interface InflightBatch {
  readonly peer: string;
  readonly sendNo: number;
  readonly startMs: number;
  /** Sent after a failed batch to the same secondary. */
  readonly retry: boolean;
  readonly entries: number;
  /** The ids it carries: `firstId..lastId`, none when `lastId` is `firstId - 1`. */
  readonly firstId: number;
  readonly lastId: number;
}

/** Per-second series of the last minute, oldest first; the last bucket is the current second. */
export interface ChartSeries {
  readonly bucketMs: number;
  /** Start of the last (current) bucket, on the master's clock. */
  readonly lastBucketStartMs: number;
  /** Appends that stored entries (answered or timed out), by the second they arrived. */
  readonly appends: readonly number[];
  /** Each secondary's largest lag (entries) seen in each second; null before the first sample. */
  readonly lags: readonly { readonly name: string; readonly values: readonly (number | null)[] }[];
}

/** The recent history of replication: the diagram's events and the chart's series. */
export interface TimelineView {
  /** How far back `events` reach. */
  readonly windowMs: number;
  /** Oldest first. */
  readonly events: readonly TimelineEvent[];
  /** Batches still waiting for their reply, oldest first for each secondary. */
  readonly inflight: readonly InflightBatch[];
  readonly chart: ChartSeries;
}

export interface DashboardState {
  /** Grows by one at every change the page should show. */
  readonly version: number;
  /** The master's clock (ms, monotonic) when this state was sent: the timeline's times are on it. */
  readonly nowMs: number;
  /** How many entries each node's `tail` keeps at most. */
  readonly tailSize: number;
  readonly quorum: { readonly size: number; readonly required: number; readonly healthy: number };
  /** Whether the master runs with API_TOKEN, so that the page asks for it before a refusal. */
  readonly appendsNeedToken: boolean;
  /** Whether the cluster runs with CLUSTER_TOKEN: the fault buttons need it, so the page asks. */
  readonly faultsNeedToken: boolean;
  readonly master: MasterView;
  readonly secondaries: readonly SecondaryView[];
  /** Null when the master records no timeline (tests of the hub alone). */
  readonly timeline: TimelineView | null;
}
