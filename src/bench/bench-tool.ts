import { guardChildren, stopChildren } from './bench-cluster.js';

export interface BenchTool<Options> {
  /** The name in messages: `bench`, `bench:memory`. */
  readonly name: string;
  readonly usage: string;
  /** The options, or undefined for `--help`; throws an error named `UsageError` on bad input. */
  parse(argv: readonly string[]): Options | undefined;
  /** The most the whole run may take; past it the watchdog aborts and stops every child. */
  budgetMs(options: Options): number;
  run(options: Options, signal: AbortSignal): Promise<number>;
}

function isUsageError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    (error.name === 'UsageError' ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true)
  );
}

/**
 * Runs a benchmark as a command: usage errors exit 2 with the usage text, `--help` prints it,
 * signals and the time budget abort the run, and every child process is stopped on every way out.
 * Sets `process.exitCode`.
 */
export function runBenchTool<Options>(tool: BenchTool<Options>, argv: readonly string[]): void {
  const main = async (): Promise<number> => {
    let options: Options | undefined;
    try {
      options = tool.parse(argv);
    } catch (error) {
      if (!isUsageError(error)) throw error;
      process.stderr.write(`${tool.name}: ${error.message}\n\n${tool.usage}\n`);
      return 2;
    }
    if (options === undefined) {
      process.stdout.write(`${tool.usage}\n`);
      return 0;
    }
    const abort = new AbortController();
    const clearWatchdog = guardChildren(tool.name, abort, tool.budgetMs(options));
    try {
      return await tool.run(options, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return 130;
      throw error;
    } finally {
      clearWatchdog();
      await stopChildren();
    }
  };
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `${tool.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
