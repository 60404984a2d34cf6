/**
 * `rlog shell`'s history file: one line per entry, oldest first (as shells keep theirs), bounded
 * so it never grows without end. readline holds history newest first; these convert.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Lines kept, in readline and in the file. */
export const HISTORY_LINES = 1000;

/** RLOG_HISTORY, else ~/.rlog_history; RLOG_HISTORY set empty turns history off (undefined). */
export function historyPath(env: NodeJS.ProcessEnv, home: string = homedir()): string | undefined {
  const configured = env['RLOG_HISTORY'];
  if (configured === undefined) return join(home, '.rlog_history');
  return configured === '' ? undefined : configured;
}

/** The saved lines, newest first, at most `limit`; a missing file is an empty history. */
export function loadHistory(path: string, limit = HISTORY_LINES): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .slice(-limit)
    .reverse();
}

/** Writes `newestFirst` (readline's order) as the whole file, oldest first, at most `limit` lines. */
export function saveHistory(
  path: string,
  newestFirst: readonly string[],
  limit = HISTORY_LINES,
): void {
  const lines = newestFirst.slice(0, limit).reverse();
  // Private to the user: the lines are log messages, which may be anything.
  writeFileSync(path, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
}
