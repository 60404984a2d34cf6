/**
 * Deliberate bugs in the shipped code, each a one-place change to a source file under src/. The
 * mutants runner applies one at a time to a copy of the build and runs the simulator over it: a
 * mutant the simulator does not catch is a guarantee it cannot prove. Each `find` must occur
 * exactly once in its file, so a refactoring that moves the code makes the mutant fail loudly
 * rather than pass unnoticed.
 */
export interface Mutant {
  readonly id: string;
  /** What the bug does, in the words of the guarantee it breaks. */
  readonly description: string;
  /** Path under src/, without `.ts`. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** Run against the failover cluster's simulation (`sim-cli --failover`). */
  readonly failover?: true;
}

export const MUTANTS: readonly Mutant[] = [
  {
    id: 'ack-before-fsync',
    description: 'a secondary acknowledges a batch before its store write (and fsync) completed',
    file: 'node/secondary-node',
    find: 'await this.#deps.store.append(append);',
    replace: 'void this.#deps.store.append(append).catch(() => undefined);',
  },
  {
    id: 'master-counts-before-fsync',
    description: 'the master counts its own copy towards w before its store write completed',
    file: 'node/master-node',
    find: 'this.#pendingWrites += 1;',
    replace: 'this.#pendingWrites += 1; core.stored(lastId);',
  },
  {
    id: 'stale-incarnation-ack',
    description: "a late answer from a secondary's previous process is counted",
    file: 'core/replication-progress',
    find: 'sendNo < this.#incarnationSince',
    replace: 'sendNo < 0',
  },
  {
    id: 'release-w-minus-1',
    description: 'a waiter is released when w-1 nodes hold its entry',
    file: 'core/write-concern',
    find: 'const limit = heldUpTo[index] ?? 0;',
    replace: 'const limit = heldUpTo[Math.max(0, index - 1)] ?? 0;',
  },
  {
    id: 'show-after-gap',
    description: 'a secondary stores (and shows) entries held back behind a gap, skipping the gap',
    file: 'core/replica-log',
    find: 'if (run === undefined) break;',
    replace:
      'if (run === undefined) { const later = [...this.#pending.keys()].filter((id) => id > next).sort((x, y) => x - y)[0]; if (later === undefined) break; next = later; continue; }',
  },
  {
    id: 'skip-rollback',
    description: 'after a failed store write the master keeps the ids it reserved (no rollback)',
    file: 'node/master-node',
    find: 'this.#core.abandonUnstored();',
    replace: '',
  },
  {
    id: 'replay-other-id',
    description: 'an idempotency key is remembered with another id than the one stored',
    file: 'node/master-node',
    find: 'this.#keys.put(key, { firstId, count });',
    replace: 'this.#keys.put(key, { firstId: firstId + 1, count });',
  },
  {
    id: 'accept-foreign-log',
    description: 'a secondary holding entries accepts a batch of another log identity',
    file: 'core/replica-log',
    find: 'if (this.#hwm > 0) {',
    replace: 'if (this.#hwm < 0) {',
  },
  {
    id: 'overloaded-stores',
    description: 'an overloaded master refuses an append (503) but stores it all the same',
    file: 'node/master-node',
    find: "if (refusal !== undefined) return { kind: 'refused', refusal };",
    replace:
      "if (refusal !== undefined) { if (refusal.reason === 'overloaded') void this.#store(request, w, deadlineMs); return { kind: 'refused', refusal }; }",
  },
  // The failover contract (issue 14): each runs against the failover cluster's simulation.
  {
    id: 'vote-without-log-check',
    description:
      'a node grants its vote (and pre-vote) to a candidate whose log is less complete than its own',
    file: 'core/vote',
    find: 'export function isAtLeastAsComplete(candidate: LogPosition, voter: LogPosition): boolean {',
    replace:
      'export function isAtLeastAsComplete(candidate: LogPosition, voter: LogPosition): boolean { if (candidate !== voter) return true;',
    failover: true,
  },
  {
    id: 'old-epoch-ack-counted',
    description:
      "a follower takes the new master's epoch as its own (its acknowledgement counts, its votes rank it) before it holds the master's log as the epoch began",
    file: 'node/failover/failover-node',
    find: 'outcome.reply.hwm >= startId &&',
    replace: '',
    failover: true,
  },
  {
    id: 'old-entries-committed-by-count',
    description:
      'a new master counts its whole inherited log as committed (a majority voted for it), before a majority holds it in its epoch',
    file: 'node/master-node',
    find: 'this.#commitId = Math.min(failover?.commitId ?? 0, state.lastId);',
    replace: 'this.#commitId = failover === undefined ? 0 : state.lastId;',
    failover: true,
  },
  {
    id: 'truncate-below-commit',
    description:
      "the master answers where the epoch before a follower's last one ends: the follower cuts entries it shares with the master, committed ones too",
    file: 'core/epoch-end',
    find: 'if (epochAt(middle) <= epoch) low = middle;',
    replace: 'if (epochAt(middle) < epoch) low = middle;',
    failover: true,
  },
  {
    id: 'vote-not-fsynced',
    description:
      'a vote (or a new epoch) is sent before it is durable: a node that crashes may vote twice in one epoch',
    file: 'node/failover/failover-node',
    find: 'this.#saved = this.#saved.then(() => this.#deps.electionStore.save(state));',
    replace: 'void this.#deps.electionStore.save(state).catch(() => undefined);',
    failover: true,
  },
  {
    id: 'ack-past-master-store',
    description:
      "a secondary's acknowledgement counts for entries the master has sent but not yet made durable itself (it replicates in parallel with its fsync)",
    file: 'core/master-core',
    find: 'const matchId = Math.min(peer.progress.matchId, this.#storedId);',
    replace: 'const matchId = peer.progress.matchId;',
    failover: true,
  },
  {
    id: 'epoch-end-durable-only',
    description:
      'the master says its epoch ends where its fsynced log ends: a follower cuts entries the master has written and sent, and is still counted for them',
    file: 'node/failover/follower-sync',
    find: 'if (written.lastId > store.lastId() && lastEpoch >= written.epoch) {',
    replace: 'if (written.lastId < 0) {',
    failover: true,
  },
  {
    id: 'no-check-quorum',
    description:
      'a master counts only itself as heard from: cut off from the majority, it leads on (F2)',
    file: 'core/election',
    find: 'return times[this.#majority - 1] ?? Number.NEGATIVE_INFINITY;',
    replace: 'return times[0] ?? Number.NEGATIVE_INFINITY;',
    failover: true,
  },
  {
    id: 'lease-from-arrival',
    description:
      "a master counts an answer for check-quorum and its lease from when it arrived, not from when its request left: a late answer stretches the lease past the answering node's promise not to vote (G1)",
    file: 'core/election',
    find: 'this.#peerHeardAtMs.set(from, Math.max(heardAtMs, sentAtMs));',
    replace: 'this.#peerHeardAtMs.set(from, Math.max(heardAtMs, nowMs));',
    failover: true,
  },
  {
    id: 'no-lease',
    description:
      "a failover master counts its followers' copies without a lease, as a fixed master does: after a newer master was elected, it may count a copy that master made a follower drop (G1)",
    file: 'node/master-node',
    find: 'failover === undefined ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,',
    replace: 'Number.POSITIVE_INFINITY,',
    failover: true,
  },
  {
    id: 'commit-only-with-entries',
    description:
      'a master sends the commit point only with entries (or a heartbeat): a follower that has every entry shows an acknowledged append a heartbeat late (F4)',
    file: 'core/replication-progress',
    find: 'return Math.max(this.#lastSentAtMs + this.policy.commitAloneAfterMs, this.#retryAtMs);',
    replace: 'return undefined;',
    failover: true,
  },
];
