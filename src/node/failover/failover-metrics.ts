import { Counter, Gauge } from 'prom-client';
import type { NodeMetrics } from '../metrics.js';
import type { FailoverObserver, RoleChange } from './failover-node.js';
import type { Rollback } from './rollbacks.js';

/** What the failover metrics read from the node when scraped. */
export interface FailoverMetricsSource {
  readonly epoch: number;
  readonly commitId: number;
  health(): { readonly role: string };
}

const ROLES = ['master', 'secondary', 'candidate'] as const;

/**
 * A failover node's own metrics: elections and step-downs as they happen, rolled-back entries
 * (F3), and the epoch, role and commit point when scraped.
 */
export class FailoverMetrics implements FailoverObserver {
  readonly #roleChanges: Counter<'to' | 'reason'>;
  readonly #rolledBack: Counter;
  readonly #votes: Counter<'kind' | 'verdict'>;

  constructor(metrics: NodeMetrics, source: () => FailoverMetricsSource) {
    const registers = [metrics.registry];
    this.#roleChanges = new Counter({
      name: 'rlog_role_changes_total',
      help: 'Role changes of this node, by new role (pre-candidate, candidate: an election; master: won; follower) and reason.',
      labelNames: ['to', 'reason'],
      registers,
    });
    this.#rolledBack = new Counter({
      name: 'rlog_rolled_back_entries_total',
      help: 'Entries this node discarded because the master of a later epoch does not hold them (listed at GET /admin/rollbacks).',
      registers,
    });
    this.#votes = new Counter({
      name: 'rlog_votes_total',
      help: 'Vote and pre-vote requests this node answered, by kind (vote, pre-vote) and verdict (granted, log-behind, master-alive, voted-for-another, stale-epoch).',
      labelNames: ['kind', 'verdict'],
      registers,
    });
    new Gauge({
      name: 'rlog_epoch',
      help: 'The epoch this node is in.',
      registers,
      collect() {
        this.set(source().epoch);
      },
    });
    new Gauge({
      name: 'rlog_commit_id',
      help: 'Entries up to this id are held by a majority and shown by reads.',
      registers,
      collect() {
        this.set(source().commitId);
      },
    });
    new Gauge({
      name: 'rlog_role',
      help: '1 for the role this node has now (master, secondary, candidate), 0 for the others.',
      labelNames: ['role'],
      registers,
      collect() {
        const role = source().health().role;
        for (const name of ROLES) this.set({ role: name }, role === name ? 1 : 0);
      },
    });
  }

  roleChanged(change: RoleChange): void {
    this.#roleChanges.inc({ to: change.to, reason: change.reason });
  }

  voteAnswered(vote: { readonly preVote: boolean; readonly verdict: string }): void {
    this.#votes.inc({ kind: vote.preVote ? 'pre-vote' : 'vote', verdict: vote.verdict });
  }

  rolledBack(rollback: Rollback): void {
    this.#rolledBack.inc(rollback.entries.length);
  }
}
