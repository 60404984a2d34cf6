import { spawn } from 'node:child_process';
import { testRun, type TestRun } from './test-files.js';

/**
 * `npm run test:all`: runs compiled tests with Node's own runner, on the Node that runs this
 * script (so `/path/to/node24 dist/testing/run-tests.js dist` tests on Node 24).
 *
 *   node dist/testing/run-tests.js [--node-test-option=value ...] FILE|DIR ...
 *
 * Directories are searched for `*.test.js` (test-files.ts says why `node --test DIR` will not
 * do); the runner's output, summary and exit code are those of `node --test` itself.
 */
function main(): void {
  const run = parsedRun(process.argv.slice(2));
  if (run === undefined) return;
  const child = spawn(process.execPath, ['--test', ...run.options, ...run.files], {
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  child.on('exit', (code, signal) => {
    if (signal !== null) process.stderr.write(`run-tests: node --test ended by ${signal}\n`);
    process.exitCode = code ?? 1;
  });
}

function parsedRun(args: readonly string[]): TestRun | undefined {
  try {
    return testRun(args);
  } catch (error) {
    process.stderr.write(`run-tests: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return undefined;
  }
}

main();
