/**
 * The package as another project sees it: `import ... from 'replicated-log/client'` (and the
 * package root) resolve through package.json's `exports` to the built client and its types.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Exports {
  readonly [entry: string]: { readonly types: string; readonly default: string } | string;
}

test('package.json exports the client and its declarations from dist', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Exports;
    bin: Record<string, string>;
  };
  for (const entry of ['.', './client']) {
    const target = manifest.exports[entry];
    assert.ok(typeof target === 'object', `exports["${entry}"] has types and default`);
    assert.ok(existsSync(join(ROOT, target.types)), `${target.types} is built`);
    assert.ok(existsSync(join(ROOT, target.default)), `${target.default} is built`);
  }
  assert.ok(existsSync(join(ROOT, manifest.bin['rlog'] ?? '')), 'the rlog bin is built');
});

test('a consumer package imports ReplicatedLogClient from replicated-log/client', async () => {
  const consumer = await mkdtemp(join(tmpdir(), 'rlog-consumer-'));
  try {
    await mkdir(join(consumer, 'node_modules'));
    await symlink(ROOT, join(consumer, 'node_modules', 'replicated-log'), 'dir');
    await writeFile(join(consumer, 'package.json'), '{"name":"consumer","type":"module"}\n');
    const script = [
      "import { ReplicatedLogClient, ReplicatedLogError } from 'replicated-log/client';",
      "import * as root from 'replicated-log';",
      "const client = new ReplicatedLogClient('http://127.0.0.1:8000/');",
      'console.log(client.url, typeof ReplicatedLogError, root.ReplicatedLogClient === ReplicatedLogClient);',
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: consumer, timeout: 10_000 },
    );
    assert.equal(stdout, 'http://127.0.0.1:8000 function true\n');
  } finally {
    await rm(consumer, { recursive: true, force: true });
  }
});
