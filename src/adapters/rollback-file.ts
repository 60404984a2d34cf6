import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RollbackList, type Rollback, type RollbackStore } from '../node/failover/rollbacks.js';
import type { Logger } from './logger.js';

/** The file in DATA_DIR: one JSON line per truncation (F3), appended and fsynced. */
export const ROLLBACK_FILE = 'rollbacks.jsonl';

/**
 * Rollbacks kept in `DATA_DIR/rollbacks.jsonl`, so that an operator can still list what a node
 * discarded after it restarts. A line that does not parse (a torn last write) is skipped with a
 * warning: this file is a report, the log does not depend on it.
 */
export class RollbackFile implements RollbackStore {
  readonly #path: string;

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    this.#path = join(dataDir, ROLLBACK_FILE);
  }

  async load(limit: number): Promise<Rollback[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const rollbacks: Rollback[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        rollbacks.push(JSON.parse(line) as Rollback);
      } catch {
        this.logger.warn(
          { event: 'rollback-line-skipped', path: this.#path },
          `${this.#path}: a line that is not JSON was skipped (a write cut short by a crash)`,
        );
      }
    }
    // The same bound as the node's list: a rollback over the limit alone is still listed.
    const kept = new RollbackList(limit);
    for (const rollback of rollbacks) kept.add(rollback);
    return [...kept.list()];
  }

  async append(rollback: Rollback): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    const handle = await open(this.#path, 'a+');
    try {
      // After a torn last line, start on a line of its own: glued to it, this one would be lost too.
      const line = `${JSON.stringify(rollback)}\n`;
      await handle.write((await endsLine(handle)) ? line : `\n${line}`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** Whether the file is empty or ends with a newline (a whole last line). */
async function endsLine(handle: FileHandle): Promise<boolean> {
  const { size } = await handle.stat();
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] === 0x0a;
}
