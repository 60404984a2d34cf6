import { assert } from './assert.js';

export interface QuorumView {
  /** Nodes in the cluster, the master included. */
  readonly size: number;
  /** Nodes that must be reachable for the master to accept appends: a strict majority. */
  readonly required: number;
  /** Nodes the master currently counts as reachable (itself plus every secondary not Unhealthy). */
  readonly healthy: number;
}

export function majorityOf(clusterSize: number): number {
  assert(
    Number.isInteger(clusterSize) && clusterSize >= 1,
    `cluster size must be >= 1, got ${clusterSize}`,
  );
  return Math.floor(clusterSize / 2) + 1;
}

export function quorumView(clusterSize: number, healthy: number): QuorumView {
  assert(
    healthy >= 1 && healthy <= clusterSize,
    `healthy ${healthy} out of range 1..${clusterSize}`,
  );
  return { size: clusterSize, required: majorityOf(clusterSize), healthy };
}

export function hasQuorum(view: QuorumView): boolean {
  return view.healthy >= view.required;
}
