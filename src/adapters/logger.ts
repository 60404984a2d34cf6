import { pino, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type { Logger };

/**
 * One JSON line per event on stdout, every line with the node's name and role, so the lines of
 * several nodes can be merged and still be read. `event` names what happened in a stable word.
 */
export function createLogger(node: string, role: string, level: LogLevel): Logger {
  return pino({
    level,
    base: { node, role },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
