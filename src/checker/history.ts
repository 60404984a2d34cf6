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
  /**
   * True when the node restarted since its previous observation and shows only what it knows to
   * be committed (a failover node): its commit point is not durable, so it shows less until it
   * hears from a master. Monotonic reads are then required within one lifetime; that nothing
   * shown is ever undone is checked against the final logs instead (F4).
   */
  readonly afterRestart?: boolean;
}

/** One entry of a node's log as `GET /logs` (or `GET /admin/rollbacks`) shows it. */
export interface LoggedEntry {
  readonly id: number;
  readonly message: string;
}

/**
 * What a run with automatic failover adds for the failover guarantees F1–F5: the cluster's size, every
 * node's log at the end, and what every node lists at `GET /admin/rollbacks`.
 */
export interface FailoverRecord {
  /** Nodes in PEERS: an append acknowledged with `w` of at least a majority of them must survive. */
  readonly clusterSize: number;
  /** Every node's log at the end of the run (its `GET /logs` once converged), by node name. */
  readonly finalLogs: Readonly<Record<string, readonly LoggedEntry[]>>;
  /** Every entry a node listed at `GET /admin/rollbacks` at the end, with that node's name. */
  readonly rolledBack: readonly (LoggedEntry & { readonly node: string })[];
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
  /**
   * A run with automatic failover (F1–F5). Then `master` is the master at the end, acknowledged
   * appends with `w` below a majority may be lost (rolled back, F3), and `finalLogs` are judged.
   */
  readonly failover?: FailoverRecord;
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
  | 'convergence'
  /** F1: an append acknowledged with a majority `w` is at its id in every node's final log. */
  | 'majority-writes-survive'
  /** F3: an acknowledged (or stored) entry that is gone is listed at some node's rollbacks. */
  | 'minority-losses-in-the-open'
  /** F4: an entry a read showed is at that id in the final logs. */
  | 'reads-never-undone'
  /** F5: the final logs are dense 1..n and each a prefix of another (equal once healed). */
  | 'dense-agreeing-logs';

export interface Violation {
  readonly guarantee: GuaranteeName;
  /** What was wrong, naming nodes, ids and messages. */
  readonly message: string;
  /** Indexes into `history.appends` of the operations involved. */
  readonly operations: readonly number[];
}
