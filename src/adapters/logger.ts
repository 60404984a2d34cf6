import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyLogLine } from './pretty-log.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** `json`: one JSON object per line, for machines; `pretty`: one human line (pretty-log.ts). */
export type LogFormat = 'json' | 'pretty';
export type { Logger };

/**
 * One line per event on stdout, every line with the node's name and role, so the lines of
 * several nodes can be merged and still be read. `event` names what happened in a stable word.
 * The line is JSON (LOG_FORMAT=json, the default) or, with LOG_FORMAT=pretty, the same record as
 * one readable line: time, node, level, event, message and the other fields as key=value.
 *
 * Written synchronously: a line is out when the call returns, so that a node that stops at once
 * (a broken invariant, node/fatal.ts) or is killed loses none, and no line overtakes another.
 * Nodes log events, not requests: a line costs about 30 µs instead of 10-17 µs buffered
 * (20,000 lines into a pipe), which no request pays at the info level.
 */
export function createLogger(
  node: string,
  role: string,
  level: LogLevel,
  format: LogFormat = 'json',
  /**
   * A node whose role changes (failover) says its role and epoch on every line, as they are
   * when the line is written; the fixed role goes in `base` otherwise.
   */
  describe?: () => { readonly role: string; readonly epoch: number },
): Logger {
  const stdout = pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level,
      base: describe === undefined ? { node, role } : { node },
      ...(describe === undefined ? {} : { mixin: () => ({ ...describe() }) }),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'json' ? stdout : prettyDestination(stdout, node),
  );
}

/**
 * Rewrites each JSON line pino produces into its pretty form on its way to `out`. Colours only on
 * a terminal: `docker compose up` and log files get plain text.
 */
function prettyDestination(out: DestinationStream, node: string): DestinationStream {
  const color = isatty(1);
  return {
    write(line: string): void {
      out.write(`${prettyLogLine(line.trimEnd(), node.length, color)}\n`);
    },
  };
}
