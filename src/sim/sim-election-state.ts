import type { ElectionStateStore } from '../adapters/election-state-store.js';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import { assert } from '../core/assert.js';
import {
  checkElectionState,
  checkedSave,
  FRESH_ELECTION_STATE,
  type ElectionState,
} from '../core/election-state.js';
import type { Prng } from '../core/prng.js';
import type { Scheduler } from './scheduler.js';
import type { DiskFaults } from './sim-store.js';

/**
 * The election-state file of one simulated node (ElectionStateFile's `election.json`): it
 * outlives the process. A save is written first (temporary file, rename) and durable once its
 * fsyncs complete. A crash before that keeps the previous state or the new one, whole (the rename
 * is atomic and the OS may or may not have flushed it), each with chance 1/2: a node must never
 * rely on a save that did not resolve, nor on its absence. The election state is always fsynced,
 * whatever the log's FSYNC policy (as FileLogStore's identity file).
 */
export class SimElectionDisk {
  #durable: ElectionState = FRESH_ELECTION_STATE;
  /** The last save written and not known to be durable (in flight, or failed): a crash decides. */
  #unsynced: ElectionState | undefined;

  /** The state a crash now would keep for sure. */
  get durable(): ElectionState {
    return this.#durable;
  }

  /** A save started: its state is in the temporary file, then renamed, not yet fsynced. */
  write(state: ElectionState): void {
    this.#unsynced = state;
  }

  /** The save's fsyncs completed: its state is durable. */
  synced(): void {
    assert(this.#unsynced !== undefined, 'an election-state fsync completed with no save written');
    this.#durable = this.#unsynced;
    this.#unsynced = undefined;
  }

  /** The process died: a save not known durable survives or not. True if one did. */
  crash(prng: Prng): boolean {
    const unsynced = this.#unsynced;
    this.#unsynced = undefined;
    if (unsynced === undefined || !prng.chance(0.5)) return false;
    this.#durable = unsynced;
    return true;
  }

  /** What a new process loads; a save still undecided means `crash()` was not called. */
  read(owner: string): ElectionState {
    assert(
      this.#unsynced === undefined,
      `${owner}'s election state is loaded with a save undecided: crash() the disk when the process dies`,
    );
    return this.#durable;
  }
}

interface QueuedSave {
  readonly state: ElectionState;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * An ElectionStateStore over a SimElectionDisk, with the contract of ElectionStateFile: saves
 * run one at a time in call order, each resolving once its fsyncs complete, at a time drawn from
 * the PRNG (write, fsync of the file and of the directory, sometimes a slow fsync). Completions
 * are events of the node's lifetime: a crash drops them, and the save never resolves. A save
 * failed by the nemesis (EIO, ENOSPC) rejects alone; its state may still survive a crash.
 */
export class SimElectionStateStore implements ElectionStateStore {
  readonly #queue: QueuedSave[] = [];
  #writing = false;
  #loadCalled = false;
  /** The last state loaded or passed to save (it may be on disk even if its save failed). */
  #last: ElectionState | undefined;

  constructor(
    readonly disk: SimElectionDisk,
    private readonly scheduler: Scheduler,
    private readonly owner: string,
    private readonly prng: Prng,
    private readonly faults: () => DiskFaults,
    /** Told of every failed save (the run's statistics). */
    private readonly onFailed: () => void = () => undefined,
  ) {}

  // async: a refusal rejects the promise instead of throwing.
  async load(): Promise<ElectionState> {
    assert(!this.#loadCalled, `${this.owner}: load() runs once, before the first save`);
    this.#loadCalled = true;
    const state = this.disk.read(this.owner);
    checkElectionState(state, `${this.owner}'s election state`);
    this.#last = state;
    return Promise.resolve(state);
  }

  // async: a refused save rejects its promise (the check itself runs at once, in call order).
  async save(state: ElectionState): Promise<void> {
    const copy = checkedSave(this.#last, state, this.owner);
    this.#last = copy;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ state: copy, resolve, reject });
      this.#next();
    });
  }

  /** Starts the oldest queued save: written now, durable (or failed) after its latency. */
  #next(): void {
    const save = this.#queue[0];
    if (this.#writing || save === undefined) return;
    this.#writing = true;
    this.disk.write(save.state);
    const faults = this.faults();
    const fsyncsMs = this.prng.int(1, 8) + this.prng.int(1, 8);
    const slowMs = this.prng.chance(faults.slowFsyncRate) ? this.prng.int(100, 600) : 0;
    const doneAtMs = this.scheduler.nowMs + this.prng.int(1, 3) + fsyncsMs + slowMs;
    const fails = this.prng.chance(faults.writeErrorRate);
    this.scheduler.at(doneAtMs, this.owner, () => {
      this.#writing = false;
      this.#queue.shift();
      if (fails) {
        this.onFailed();
        save.reject(this.#failure(faults.errorCode));
      } else {
        this.disk.synced();
        save.resolve();
      }
      this.#next();
    });
  }

  #failure(code: 'EIO' | 'ENOSPC'): StorageError {
    return code === 'ENOSPC'
      ? new StorageError(
          'STORAGE_FULL',
          `saving ${this.owner}'s election state failed: no space left on the simulated disk (ENOSPC)`,
        )
      : new StorageError(
          'STORAGE_FAILED',
          `saving ${this.owner}'s election state failed: the simulated disk failed a write (EIO)`,
        );
  }
}
