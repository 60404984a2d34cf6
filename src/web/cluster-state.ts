import { isDeepStrictEqual } from 'node:util';
import type { ClusterNodeView, ClusterState, ElectionEvent } from './client/cluster-wire.js';

/**
 * The pure part of a failover node's dashboard: how the nodes' health answers and this node's
 * role changes become the state the page shows (every node, the epoch, the master, the
 * elections). No I/O and no clock here; the hub (cluster-hub.ts) polls and stamps the times.
 */

/** What one poll of a node gave: the fields of its `GET /health`, or why it gave none. */
export type NodeSample =
  | {
      readonly kind: 'reachable';
      readonly role: NonNullable<ClusterNodeView['role']>;
      readonly epoch: number;
      readonly masterName: string | null;
      readonly lastId: number;
      readonly commitId: number;
    }
  | { readonly kind: 'unreachable'; readonly error: string };

/** A role change of the node serving the page, as its FailoverObserver heard it. */
export interface SelfRoleChange {
  readonly from: string;
  readonly to: string;
  readonly epoch: number;
  readonly master: string | null;
  readonly reason: string;
}

/** The state before any node answered. */
export function initialClusterState(
  peers: readonly { readonly name: string; readonly url: string }[],
  self: string,
  faultsNeedToken: boolean,
): ClusterState {
  return {
    kind: 'failover',
    version: 1,
    // Stamped when sent (see ClusterHub.snapshot).
    nowMs: 0,
    self,
    epoch: 0,
    master: null,
    nodes: peers.map((peer): ClusterNodeView => ({
      name: peer.name,
      url: peer.url,
      self: peer.name === self,
      reach: 'pending',
      reachError: null,
      role: null,
      epoch: null,
      masterName: null,
      lastId: null,
      commitId: null,
    })),
    elections: [],
    faultsNeedToken,
  };
}

/**
 * The state with one node's poll. An unreachable node keeps what it last answered, marked as
 * unreachable with the reason. A change in another node's answer is an election event; the
 * serving node's own changes come from its observer instead (see `withRoleChange`).
 */
export function withNode(
  state: ClusterState,
  name: string,
  sample: NodeSample,
  atMs: number,
  maxEvents: number,
): ClusterState {
  const before = state.nodes.find((view) => view.name === name);
  if (before === undefined) return state;
  const after: ClusterNodeView =
    sample.kind === 'unreachable'
      ? { ...before, reach: 'unreachable', reachError: sample.error }
      : {
          ...before,
          reach: 'reachable',
          reachError: null,
          role: sample.role,
          epoch: sample.epoch,
          masterName: sample.masterName,
          lastId: sample.lastId,
          commitId: sample.commitId,
        };
  const nodes = state.nodes.map((view) => (view.name === name ? after : view));
  const text = before.self ? undefined : changeText(before, after);
  const events =
    text === undefined
      ? state.elections
      : pushEvent(state.elections, { atMs, node: name, epoch: after.epoch ?? 0, text }, maxEvents);
  return { ...state, ...summary(nodes), nodes, elections: events };
}

/** The serving node's role change as an election event. */
export function withRoleChange(
  state: ClusterState,
  change: SelfRoleChange,
  atMs: number,
  maxEvents: number,
): ClusterState {
  const master = change.master === null ? 'no master known' : `master ${change.master}`;
  const text = `${change.from} → ${change.to} in epoch ${change.epoch} (${master}): ${change.reason}`;
  const event = { atMs, node: state.self, epoch: change.epoch, text };
  return { ...state, elections: pushEvent(state.elections, event, maxEvents) };
}

/** What changed between two answers of a node, in words; undefined when nothing did. */
export function changeText(before: ClusterNodeView, after: ClusterNodeView): string | undefined {
  if (after.reach !== before.reach) {
    if (after.reach === 'unreachable') return `does not answer (${after.reachError ?? ''})`;
    if (before.reach === 'unreachable') return `answers again as ${roleText(after)}`;
    // pending → reachable: the first answer, not a change.
    return undefined;
  }
  if (after.reach !== 'reachable') return undefined;
  const parts: string[] = [];
  if (after.role !== before.role) parts.push(`is ${roleText(after)} (was ${before.role ?? '?'})`);
  else if (after.masterName !== before.masterName && after.role !== 'master')
    parts.push(after.masterName === null ? 'knows no master' : `follows ${after.masterName}`);
  if (after.epoch !== before.epoch) parts.push(`epoch ${before.epoch ?? '?'} → ${after.epoch}`);
  return parts.length === 0 ? undefined : parts.join(', ');
}

function roleText(view: ClusterNodeView): string {
  if (view.role === 'master') return 'master';
  if (view.role === 'candidate') return 'a candidate';
  return view.masterName === null ? 'a secondary' : `a secondary of ${view.masterName}`;
}

/**
 * The cluster's epoch (the highest any node answered) and its master: the node that answers as
 * master in that epoch, else the one the answering nodes of that epoch follow. A node that does
 * not answer any more claims nothing: a killed master is not shown as the master.
 */
export function summary(nodes: readonly ClusterNodeView[]): {
  readonly epoch: number;
  readonly master: string | null;
} {
  const epoch = Math.max(0, ...nodes.map((view) => view.epoch ?? 0));
  const current = nodes.filter((view) => view.reach === 'reachable' && view.epoch === epoch);
  const leader = current.find((view) => view.role === 'master');
  if (leader !== undefined) return { epoch, master: leader.name };
  const followed = current.find((view) => view.masterName !== null);
  return { epoch, master: followed?.masterName ?? null };
}

function pushEvent(
  events: readonly ElectionEvent[],
  event: ElectionEvent,
  maxEvents: number,
): readonly ElectionEvent[] {
  return [event, ...events].slice(0, maxEvents);
}

/**
 * `next` as the new state, one version on, if it shows anything `previous` did not; otherwise
 * `previous` itself, so that callers can tell "nothing to send" by identity.
 */
export function advanceCluster(previous: ClusterState, next: ClusterState): ClusterState {
  if (isDeepStrictEqual({ ...next, version: previous.version }, previous)) return previous;
  return { ...next, version: previous.version + 1 };
}
