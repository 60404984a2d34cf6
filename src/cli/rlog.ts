#!/usr/bin/env node
/**
 * `rlog`: the entry point. The commands are declared in program.ts (commander); here is only what
 * comes before and after them: the container's plain `rlog` with ROLE set, and exit codes (0
 * done, 1 refused or failed, 2 usage error or no answer from the cluster).
 *
 * What runs is not this file's compiled form (dist/cli/rlog.js) but dist/cli/rlog.bundle.js: this
 * file and all it imports, dependencies included, in one bundle (src/build/bundle.ts), which
 * dist/cli/main.js loads (src/cli/main.ts).
 */
import { CommanderError } from 'commander';
import { isClientFailure } from './commands.js';
import { runNode } from './node-command.js';
import { buildProgram } from './program.js';

/**
 * A reader that stops early (`rlog list | head`, `rlog tail -f | grep -m1 x`) closes the pipe,
 * and the next write fails with EPIPE: rlog then ends quietly with 0, as if it had finished,
 * rather than with a stack trace. Any other failure of stdout is thrown as before.
 */
function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  endQuietlyWhenStdoutCloses();
  const [command] = argv;
  // The container runs plain `rlog` and says which node it is with ROLE, as every other option.
  const role = process.env['ROLE'];
  if ((command === undefined || command.startsWith('--')) && role !== undefined) {
    if (role === 'master' || role === 'secondary') return run([role, ...argv]);
    return runNode(undefined, argv);
  }
  return run(argv);
}

async function run(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((exitCode) => {
    code = exitCode;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // Help and --version end with 0; a usage error (already printed, with a suggestion) with 2.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isClientFailure(error)) {
      process.stderr.write(`rlog: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`rlog: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
