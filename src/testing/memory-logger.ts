import { pino } from 'pino';
import type { Logger } from '../adapters/logger.js';

/** One line a memory logger kept, parsed. */
export interface LogLine {
  readonly level: string;
  readonly event?: string;
  readonly [field: string]: unknown;
}

/** A pino logger writing its JSON lines into an array, for tests that check what was logged. */
export function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug', formatters: { level: (label) => ({ level: label }) } },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines };
}
