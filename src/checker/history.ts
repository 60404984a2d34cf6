/**
 * What a test run records, for the history checker: every client operation with its outcome, and
 * what each node showed at `GET /logs` over time. Both the deterministic simulator and the
 * real-process fault injection produce this, so one checker judges both.
 *
 * Times are numbers on one clock (the simulator's fake clock, or the test process's
 * `performance.now()`); only their order matters.
 */

/** The outcome of one append as the client saw it. */
export type AppendOutcome =
  /** Acknowledged: `ids` are the entries' ids (one, or a batch), `w` the write concern asked, `acks` the holders reported. */
  | {
      readonly kind: 'ok';
      readonly ids: readonly number[];
      readonly w: number;
      readonly acks: number;
    }
  /**
   * Stored but not acknowledged in time (504 WRITE_CONCERN_TIMEOUT): the entries exist, `acks`
   * holders were known. Treated like `ok` for what must be stored, not for the write concern.
   */
  | {
      readonly kind: 'stored';
      readonly ids: readonly number[];
      readonly w: number;
      readonly acks: number;
    }
  /** Refused with an explicit error (READ_ONLY, OVERLOADED, INVALID_REQUEST, ...): never stored. */
  | { readonly kind: 'refused'; readonly code: string }
  /** No answer (timeout, connection lost): it may or may not have been stored. */
  | { readonly kind: 'unknown' };

/** One logical append: one attempt, or several with the same idempotency key. */
export interface AppendOperation {
  /** Unique per operation; messages are unique across a history so they identify entries. */
  readonly messages: readonly string[];
  readonly idempotencyKey: string | undefined;
  /** When the first attempt was sent. */
  readonly invokedAt: number;
  /** When the final outcome arrived (for `unknown`: when the client gave up). */
  readonly completedAt: number;
  readonly outcome: AppendOutcome;
}

/** One read of one node's visible log. */
export interface LogObservation {
  readonly node: string;
  readonly at: number;
  /** The entries shown, oldest first. */
  readonly entries: readonly { readonly id: number; readonly message: string }[];
  /**
   * True when the node may have restarted since its previous observation with storage that
   * does not keep its log (in memory): monotonic reads are only required within one lifetime.
   */
  readonly afterVolatileRestart?: boolean;
}

export interface History {
  readonly appends: readonly AppendOperation[];
  readonly observations: readonly LogObservation[];
  /** Name of the master (its final log is the reference for convergence). */
  readonly master: string;
  /** Every node name; after healing each must have been observed with the master's final log. */
  readonly nodes: readonly string[];
  /** True when the run ended with every fault healed and a settling time: liveness is checked. */
  readonly healed: boolean;
  /**
   * True to also require every entry answered as stored (`504`, outcome `stored`) to be kept like
   * an acknowledged one: at its id in the master's last observation and, after healing, on every
   * node (docs/GUARANTEES.md, G2: "Entries answered 504 (stored) are kept the same way"). For runs
   * whose master keeps everything it stored (durable storage, `kill -9` without failover), such as
   * the durability tests. Off (the default): only acknowledged entries must be kept.
   */
  readonly storedMustBeKept?: boolean;
}

/** The guarantees of docs/GUARANTEES.md the checker can judge from a history. */
export type GuaranteeName =
  | 'acknowledged-means-held'
  | 'no-lost-acknowledgements'
  | 'agreement'
  | 'gap-free-prefix'
  | 'no-duplicates'
  | 'no-phantoms'
  | 'order-respects-time'
  | 'monotonic-reads'
  | 'honest-write-concern'
  | 'convergence';

export interface Violation {
  readonly guarantee: GuaranteeName;
  /** What was wrong, naming nodes, ids and messages. */
  readonly message: string;
  /** Indexes into `history.appends` of the operations involved. */
  readonly operations: readonly number[];
}
