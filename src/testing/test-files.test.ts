import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { makeTemporaryDir, removeTemporaryDir } from '../launcher/temporary-dir.js';
import { testRun } from './test-files.js';

const RUN_TESTS_JS = fileURLToPath(new URL('./run-tests.js', import.meta.url));
const PASSING = "import { test } from 'node:test';\ntest('passes', () => {});\n";
const ON_THIS_NODE =
  "import assert from 'node:assert';\nimport { test } from 'node:test';\n" +
  "test('runs on the Node that ran run-tests.js', () => {\n" +
  '  assert.equal(process.execPath, process.env.EXPECTED_NODE);\n});\n';
const FAILING =
  "import { test } from 'node:test';\ntest('fails', () => { throw new Error('x'); });\n";

/** A directory of compiled-looking tests: nested ones, a helper, and a dependency's test. */
function makeTree(): string {
  const root = makeTemporaryDir('rlog-run-tests-');
  for (const dir of ['a/deep/er', 'b', 'c', 'node_modules/dep']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  for (const file of ['b/two.test.js', 'a/one.test.js', 'a/deep/er/three.test.js']) {
    writeFileSync(join(root, file), PASSING);
  }
  writeFileSync(join(root, 'b/node.test.js'), ON_THIS_NODE);
  writeFileSync(join(root, 'a/helper.js'), 'export {};\n');
  writeFileSync(join(root, 'c/helper.js'), 'export {};\n');
  writeFileSync(join(root, 'a/one.test.js.map'), '{}');
  writeFileSync(join(root, 'node_modules/dep/dep.test.js'), FAILING);
  return root;
}

function runTests(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [RUN_TESTS_JS, ...args],
      {
        env: { PATH: process.env['PATH'] ?? '', EXPECTED_NODE: process.execPath },
        timeout: 60_000,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({
          code: typeof code === 'number' ? code : error === null ? 0 : -1,
          output: stdout + stderr,
        });
      },
    );
  });
}

void describe('testRun', () => {
  void it('finds *.test.js at every depth, sorted, outside node_modules; options go apart', () => {
    const root = makeTree();
    try {
      const run = testRun(['--test-concurrency=2', root, join(root, 'a/helper.js')]);
      assert.deepEqual(run.options, ['--test-concurrency=2']);
      assert.deepEqual(run.files, [
        join(root, 'a/deep/er/three.test.js'),
        join(root, 'a/one.test.js'),
        join(root, 'b/node.test.js'),
        join(root, 'b/two.test.js'),
        join(root, 'a/helper.js'),
      ]);
    } finally {
      removeTemporaryDir(root);
    }
  });

  void it('refuses no path, a missing path and a directory without tests, naming the fix', () => {
    const root = makeTree();
    try {
      assert.throws(() => testRun(['--test-concurrency=2']), /no test file or directory given/);
      assert.throws(() => testRun([join(root, 'gone')]), /gone does not exist: build first/);
      assert.throws(() => testRun([join(root, 'c')]), /no \*\.test\.js under .*build/);
    } finally {
      removeTemporaryDir(root);
    }
  });
});

void describe('run-tests.js', () => {
  void it('runs every test of a tree, on this Node, and exits 0', async () => {
    const root = makeTree();
    try {
      const run = await runTests(['--test-reporter=tap', root]);
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /^# tests 4$/m);
      assert.match(run.output, /^# pass 4$/m);
    } finally {
      removeTemporaryDir(root);
    }
  });

  void it("exits with node --test's code when a test fails, and 2 when a path is wrong", async () => {
    const root = makeTree();
    try {
      writeFileSync(join(root, 'b/bad.test.js'), FAILING);
      const failed = await runTests(['--test-reporter=tap', root]);
      assert.equal(failed.code, 1, failed.output);
      assert.match(failed.output, /^# fail 1$/m);
      const wrong = await runTests([join(root, 'gone')]);
      assert.equal(wrong.code, 2, wrong.output);
      assert.match(wrong.output, /^run-tests: .*gone does not exist/m);
    } finally {
      removeTemporaryDir(root);
    }
  });
});
