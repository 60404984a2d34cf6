import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What `node --test` is given: its options, then the test files. */
export interface TestRun {
  /** Options for `node --test`, each in the `--name=value` form (`--test-concurrency=2`). */
  readonly options: readonly string[];
  /** Test files, in the order the paths named them, each directory's sorted. */
  readonly files: readonly string[];
}

/** A compiled test file, as Node 20 found them in a directory and as tsc names them. */
const TEST_FILE = /\.test\.js$/;

/**
 * Splits run-tests.ts's arguments: those starting with `-` are options for `node --test`, the
 * others are test files or directories to search, recursively, for `*.test.js`.
 *
 * This exists because no single `node --test` command line finds the tests on every supported
 * Node: since Node 21 a directory argument is run as one test file that fails ("test at
 * dist:1:1"), Node 20 takes a quoted glob ('dist/**\/*.test.js') literally, and npm runs scripts
 * with sh, which (dash) has no `**` and expands an unquoted glob one level deep only.
 */
export function testRun(args: readonly string[]): TestRun {
  const options = args.filter((arg) => arg.startsWith('-'));
  const paths = args.filter((arg) => !arg.startsWith('-'));
  if (paths.length === 0) {
    throw new Error('no test file or directory given: name one, e.g. `dist`');
  }
  return { options, files: paths.flatMap(testFilesOf) };
}

function testFilesOf(path: string): string[] {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats === undefined) {
    throw new Error(`${path} does not exist: build first (npm run build) or name another path`);
  }
  if (!stats.isDirectory()) return [path];
  const files = readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((name) => TEST_FILE.test(name) && !name.split(/[\\/]/).includes('node_modules'))
    .map((name) => join(path, name))
    .sort();
  if (files.length === 0) {
    throw new Error(`no *.test.js under ${path}: build first (npm run build) or name another path`);
  }
  return files;
}
