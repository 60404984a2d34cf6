import { pino } from 'pino';
import { InvariantError } from '../core/assert.js';
import type { Logger } from '../adapters/logger.js';

/**
 * The exit code of a node stopped by a broken invariant: EX_SOFTWARE of sysexits.h, "an internal
 * software error". A supervisor can tell it from a crash (1) or a signal (128 + n).
 */
export const INVARIANT_EXIT_CODE = 70;

/** What was being done when the invariant broke, logged beside it. */
export interface InvariantContext {
  /** The request that hit it, when there was one. */
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** `uncaughtException` or `unhandledRejection` when it reached the process. */
  readonly origin?: string | undefined;
}

/** What a server or endpoint calls on a broken invariant; stopOnInvariant in a running node. */
export type InvariantHandler = (error: InvariantError, context: InvariantContext) => void;

/**
 * Stops the process on a broken invariant (TIGER_STYLE): the node's state can no longer be
 * trusted, so it must not serve another answer. Logs one line at level fatal (event
 * `invariant-broken`, the error's message and stack, the request when known), writes the log out
 * synchronously, and exits with INVARIANT_EXIT_CODE at once, without returning to the event loop.
 */
export function stopOnInvariant(
  logger: Logger,
  error: InvariantError,
  context: InvariantContext = {},
): never {
  process.exitCode = INVARIANT_EXIT_CODE;
  const where =
    context.method === undefined ? '' : ` in ${context.method} ${context.url ?? '(no url)'}`;
  logger.fatal(
    { event: 'invariant-broken', err: error, ...definedFields(context) },
    `invariant broken${where}: ${error.message}; stopping the node (exit ${INVARIANT_EXIT_CODE}), its state can no longer be trusted`,
  );
  flushLog(logger);
  process.exit(INVARIANT_EXIT_CODE);
}

/**
 * Sends every InvariantError that reaches the process (an uncaught exception, or a rejection
 * nobody handled) to stopOnInvariant; other errors keep Node's own handling (stack on stderr,
 * exit 1). A monitor, not a handler: it sees the error before Node's default handler runs and
 * changes nothing for the others.
 */
export function stopOnUncaughtInvariant(logger: Logger): void {
  process.on('uncaughtExceptionMonitor', (error, origin) => {
    if (error instanceof InvariantError) stopOnInvariant(logger, error, { origin });
  });
}

/**
 * The node's logger writes synchronously (adapters/logger.ts), so its lines are out already; a
 * logger with a buffered destination has what it holds written out here, before the exit.
 */
function flushLog(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { flushSync?: () => void } | undefined;
  try {
    stream?.flushSync?.();
  } catch {
    // Not open yet or already closed: pino's own exit hook tries again.
  }
}

function definedFields(context: InvariantContext): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) {
    if (typeof value === 'string') fields[key] = value;
  }
  return fields;
}
