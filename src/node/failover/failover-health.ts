import type { Election } from '../../core/election.js';
import type { PeerSnapshot } from '../../core/master-core.js';
import type { QuorumView } from '../../core/quorum.js';
import type { MasterNode } from '../master-node.js';
import type { Faults, SecondaryNode } from '../secondary-node.js';

/** `GET /health` of a failover node: its role now, the epoch, the master it knows. */
export interface FailoverHealth {
  readonly node: string;
  readonly role: 'master' | 'secondary' | 'candidate';
  readonly status: 'ok' | 'read-only';
  readonly failover: true;
  readonly epoch: number;
  /** The master this node follows (itself when master), as clients reach it; null when none is known. */
  readonly master: { readonly name: string; readonly url: string } | null;
  readonly logId: string | null;
  readonly incarnation: string;
  /** `lastId`: what this node holds; `commitId`: what it shows (held by a majority). */
  readonly log: { readonly lastId: number; readonly commitId: number };
  /** Entries this node discarded (F3), listed at GET /admin/rollbacks. */
  readonly rolledBackEntries: number;
  readonly readOnly: boolean;
  /** As master: the quorum and the other nodes, as the fixed master reports them. */
  readonly quorum?: QuorumView;
  readonly waitingAppends?: number;
  readonly secondaries?: readonly PeerSnapshot[];
  /** As follower: whether it holds the master's log yet, and its fault injection. */
  readonly following?: { readonly synced: boolean; readonly lastContactMs: number | null };
  readonly faults: Faults;
}

export interface HealthInputs {
  readonly self: string;
  readonly election: Election;
  readonly masterUrl: (name: string) => string;
  readonly logId: string | null;
  readonly lastId: number;
  readonly commitId: number;
  readonly incarnation: string;
  readonly role:
    | { readonly kind: 'master'; readonly node: MasterNode | undefined }
    | { readonly kind: 'follower'; readonly node: SecondaryNode | undefined };
  readonly faults: Faults;
  readonly rolledBackEntries: number;
}

/** The health document of a failover node from its parts. */
export function failoverHealth(inputs: HealthInputs): FailoverHealth {
  const { election, role } = inputs;
  const electionRole = election.role;
  const masterName = election.masterName;
  const base = {
    node: inputs.self,
    role:
      electionRole === 'master'
        ? ('master' as const)
        : electionRole === 'follower'
          ? ('secondary' as const)
          : ('candidate' as const),
    failover: true as const,
    epoch: election.epoch,
    master: masterName === null ? null : { name: masterName, url: inputs.masterUrl(masterName) },
    logId: inputs.logId,
    incarnation: inputs.incarnation,
    log: { lastId: inputs.lastId, commitId: inputs.commitId },
    rolledBackEntries: inputs.rolledBackEntries,
    faults: inputs.faults,
  };
  if (role.kind === 'master') {
    const health = role.node?.health();
    const readOnly = health?.readOnly ?? true;
    return {
      ...base,
      status: readOnly ? 'read-only' : 'ok',
      readOnly,
      ...(health === undefined
        ? {}
        : {
            quorum: health.quorum,
            waitingAppends: health.waitingAppends,
            secondaries: health.secondaries,
          }),
    };
  }
  const followed = role.node?.health();
  return {
    ...base,
    status: 'ok',
    readOnly: true,
    following: {
      synced: role.node !== undefined,
      lastContactMs: followed?.master.lastContactMs ?? null,
    },
  };
}
