/**
 * The JSON a failover node's dashboard endpoints send (`GET /dashboard/state` and every `state`
 * event of `GET /dashboard/events` when FAILOVER=true). Types only: the server builds it and the
 * page's script reads it, both against this one definition.
 */

export type ClusterRole = 'master' | 'secondary' | 'candidate';

/** One node as its own `GET /health` last said (this node's own read in process). */
export interface ClusterNodeView {
  readonly name: string;
  /** The URL the nodes reach it at (PEERS). */
  readonly url: string;
  /** The node that served the page. */
  readonly self: boolean;
  /** `pending` until the dashboard first asked it. */
  readonly reach: 'pending' | 'reachable' | 'unreachable';
  /** Why the last request of the dashboard failed, when `reach` is `unreachable`. */
  readonly reachError: string | null;
  /** The rest is from its last answer, kept while it is unreachable; null until it answered. */
  readonly role: ClusterRole | null;
  readonly epoch: number | null;
  /** The master it follows (itself when master); null when it knows none. */
  readonly masterName: string | null;
  readonly lastId: number | null;
  readonly commitId: number | null;
}

/**
 * Something about the election seen by the dashboard: a role change of the node that serves the
 * page (with the node's reason), or a change in another node's answer (its epoch, its role, the
 * master it follows). Times are on the serving node's clock (see `ClusterState.nowMs`).
 */
export interface ElectionEvent {
  readonly atMs: number;
  readonly node: string;
  readonly epoch: number;
  readonly text: string;
}

export interface ClusterState {
  readonly kind: 'failover';
  /** Grows by one at every change the page should show. */
  readonly version: number;
  /** The serving node's clock (ms, monotonic) when this state was sent. */
  readonly nowMs: number;
  /** The node that served the page. */
  readonly self: string;
  /** The highest epoch any node answered. */
  readonly epoch: number;
  /** The master of that epoch as the nodes answered it; null while none is known. */
  readonly master: string | null;
  /** Every node of PEERS, in its order. */
  readonly nodes: readonly ClusterNodeView[];
  /** Newest first, at most a few dozen. */
  readonly elections: readonly ElectionEvent[];
  /** Whether the cluster runs with CLUSTER_TOKEN: the Kill/Stop buttons need it. */
  readonly faultsNeedToken: boolean;
}
