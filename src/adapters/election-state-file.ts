import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert } from '../core/assert.js';
import {
  checkElectionState,
  checkedSave,
  FRESH_ELECTION_STATE,
  type ElectionState,
} from '../core/election-state.js';
import type { ElectionStateStore } from './election-state-store.js';
import { StorageError } from './file-store/file-log-store.js';
import type { Logger } from './logger.js';

/** The file in DATA_DIR; saves go through `${ELECTION_STATE_FILE}.tmp`. */
export const ELECTION_STATE_FILE = 'election.json';
export const ELECTION_STATE_FORMAT = 1;

const SAVE_FAILED_OUTCOME =
  '; the file holds the previous state or this one, and the next save replaces it whole';

export interface ElectionStateFileOptions {
  readonly dataDir: string;
  readonly logger: Logger;
}

/**
 * One line of JSON: `{"format":1,"epoch":…,"votedFor":…,"acceptedEpoch":…,"crc32":…}`, where
 * crc32 is that of the same object without the crc32 field, serialized in this key order. Readable
 * by an operator; a torn or flipped file fails the JSON parse or the checksum. No validation here:
 * tests use it to write invalid states with a good checksum.
 */
export function encodeElectionState(state: ElectionState): string {
  const body = JSON.stringify(bodyOf(ELECTION_STATE_FORMAT, state));
  return `${JSON.stringify({ ...(JSON.parse(body) as object), crc32: crc32(body) })}\n`;
}

function bodyOf(format: unknown, state: ElectionState): object {
  return {
    format,
    epoch: state.epoch,
    votedFor: state.votedFor,
    acceptedEpoch: state.acceptedEpoch,
  };
}

/** The state in `text`, or why it cannot be trusted (a reason for the corrupt-file message). */
export function decodeElectionState(text: string): ElectionState | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'not JSON: torn or overwritten';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'not a JSON object';
  }
  const fields = parsed as {
    format?: unknown;
    epoch?: unknown;
    votedFor?: unknown;
    acceptedEpoch?: unknown;
    crc32?: unknown;
  };
  if (fields.format !== ELECTION_STATE_FORMAT) {
    return `format ${JSON.stringify(fields.format)}, this version reads format ${ELECTION_STATE_FORMAT}`;
  }
  const state = {
    epoch: fields.epoch,
    votedFor: fields.votedFor,
    acceptedEpoch: fields.acceptedEpoch,
  } as ElectionState;
  if (crc32(JSON.stringify(bodyOf(fields.format, state))) !== fields.crc32) {
    return 'checksum mismatch: torn or changed by hand';
  }
  return state;
}

/**
 * The election state in `DATA_DIR/election.json`. A save writes the whole state to a temporary
 * file, fsyncs it, renames it over the old one and fsyncs the directory, so a crash at any point
 * leaves the old state or the new one, whole; it resolves only after the directory's fsync.
 * Saves run one at a time in call order. A temporary file found at load is what a crash in the
 * middle of a save left (that save never resolved, so no vote went out on it): it is removed.
 */
export class ElectionStateFile implements ElectionStateStore {
  readonly #dataDir: string;
  readonly #path: string;
  readonly #temporaryPath: string;
  readonly #log: Logger;
  #loadCalled = false;
  /** The last state loaded or passed to save (it may be on disk even if its save failed). */
  #last: ElectionState | undefined;
  /** The end of the chain of saves: each starts when the one before it has settled. */
  #tail: Promise<void> = Promise.resolve();

  constructor(options: ElectionStateFileOptions) {
    this.#dataDir = options.dataDir;
    this.#path = join(options.dataDir, ELECTION_STATE_FILE);
    this.#temporaryPath = `${this.#path}.tmp`;
    this.#log = options.logger;
  }

  async load(): Promise<ElectionState> {
    assert(!this.#loadCalled, `${this.#path}: load() runs once, before the first save`);
    this.#loadCalled = true;
    await mkdir(this.#dataDir, { recursive: true });
    await this.#removeTemporary();
    const state = await this.#read();
    checkElectionState(state, this.#path);
    this.#last = state;
    this.#log.info(
      { event: 'election-state-loaded', path: this.#path, ...state },
      'election state loaded',
    );
    return state;
  }

  // async: a refused save rejects its promise (the check itself runs at once, in call order).
  async save(state: ElectionState): Promise<void> {
    const copy = checkedSave(this.#last, state, this.#path);
    this.#last = copy;
    const saved = this.#tail.then(() => this.#write(copy));
    this.#tail = saved.catch(() => undefined);
    return saved;
  }

  async #read(): Promise<ElectionState> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#failed(error, 'reading');
      this.#log.info(
        { event: 'election-state-fresh', path: this.#path },
        'no election state yet: a fresh node',
      );
      return FRESH_ELECTION_STATE;
    }
    const decoded = decodeElectionState(text);
    if (typeof decoded === 'string') throw this.#corrupt(decoded);
    return decoded;
  }

  async #removeTemporary(): Promise<void> {
    try {
      await unlink(this.#temporaryPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.#failed(error, 'removing the temporary file of');
    }
    this.#log.warn(
      { event: 'election-state-temp-removed', path: this.#temporaryPath },
      'removed the temporary file of a save cut short by a crash; that save never completed',
    );
  }

  async #write(state: ElectionState): Promise<void> {
    try {
      const handle = await open(this.#temporaryPath, 'w');
      try {
        await handle.writeFile(encodeElectionState(state));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(this.#temporaryPath, this.#path);
      const directory = await open(this.#dataDir, 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    } catch (error) {
      throw this.#failed(error, 'saving', SAVE_FAILED_OUTCOME);
    }
    this.#log.debug({ event: 'election-state-saved', ...state }, 'election state saved');
  }

  #corrupt(reason: string): StorageError {
    return new StorageError(
      'STORAGE_CORRUPT',
      `${this.#path} is corrupt (${reason}); this node will not start without its epoch and vote, since a node that forgets its vote could vote twice in one epoch. Restore the file from a backup. Moving it aside starts the node at epoch 0 with no vote: do that only once the other nodes have a master in a later epoch than any this node could have voted in`,
    );
  }

  /** `doing` the file failed; `outcome` says what that leaves. */
  #failed(error: unknown, doing: string, outcome = ''): StorageError {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    return new StorageError(
      full ? 'STORAGE_FULL' : 'STORAGE_FAILED',
      `${doing} ${this.#path} failed (${code})${full ? '; free space on its disk' : ''}${outcome}`,
    );
  }
}
