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
    find: 'if (entry === undefined) break;',
    replace:
      'if (entry === undefined) { if (id > this.#hwm + this.maxPendingEntries) break; continue; }',
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
];
