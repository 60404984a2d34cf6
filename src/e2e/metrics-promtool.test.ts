/**
 * `/metrics` of a real master and a real secondary, after appends, checked by Prometheus's own
 * `promtool check metrics` (exposition format, and its naming lint: counters end in `_total`, no
 * other metric does, units in names, help text). Where promtool cannot be found the test is
 * skipped loudly, saying how to get it; `.ci/run` always provides it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { request, withCluster } from './harness.js';

const HOW_TO_GET_IT =
  "run `bash .ci/get-promtool` (downloads Debian's prometheus package with apt-get download and unpacks promtool alone with dpkg -x into ~/.cache/rlog-tools/bin), or set PROMTOOL to a promtool binary";
const CHECK_TIMEOUT_MS = 30_000;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * PROMTOOL if set (an error if it is not a program: it was asked for), else `promtool` on PATH,
 * else where .ci/get-promtool puts it; undefined when none is there.
 */
function findPromtool(): string | undefined {
  const configured = process.env['PROMTOOL'];
  if (configured !== undefined && configured !== '') {
    if (!executable(configured))
      throw new Error(`PROMTOOL=${configured} is not an executable file; ${HOW_TO_GET_IT}`);
    return configured;
  }
  const candidates = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'promtool'));
  candidates.push(join(homedir(), '.cache', 'rlog-tools', 'bin', 'promtool'));
  return candidates.find(executable);
}

const promtool = findPromtool();
if (promtool === undefined) {
  process.stderr.write(
    `\n*** SKIPPING the promtool check of /metrics: no promtool found; ${HOW_TO_GET_IT} ***\n\n`,
  );
}

interface CheckResult {
  readonly code: number | null;
  readonly output: string;
}

/** `promtool check metrics` with `text` on its standard input. */
function checkMetrics(path: string, text: string): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: CHECK_TIMEOUT_MS,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}

test(
  'promtool check metrics passes on the /metrics of a real master and secondary',
  { timeout: 90_000 },
  async (t) => {
    if (promtool === undefined) {
      const reason = `no promtool found; ${HOW_TO_GET_IT}`;
      t.diagnostic(`SKIPPED: ${reason}`);
      t.skip(reason);
      return;
    }
    // Data directories, so that the fsync histogram has samples too.
    await withCluster({ secondaries: 1, dataDirs: true }, async (cluster) => {
      for (const w of [1, 2])
        assert.equal((await cluster.append({ message: `w${w}`, w })).status, 201);
      assert.equal((await cluster.append({ messages: ['a', 'b'], w: 2 })).status, 201);
      assert.equal((await cluster.append({ message: 'x', w: 9 })).status, 400);
      await cluster.converged(4);
      for (const [node, own] of [
        [cluster.master, 'rlog_appends_total'],
        [cluster.node('sub1'), 'rlog_stored_entries_total'],
      ] as const) {
        const answer = await request(`${node.url}/metrics`);
        assert.equal(answer.status, 200, `${node.name} /metrics`);
        // An empty or foreign page would pass promtool: make sure this is the node's own.
        assert.match(answer.text, new RegExp(`^${own}[{ ]`, 'm'), `${node.name} /metrics`);
        const result = await checkMetrics(promtool, answer.text);
        if (result.output !== '') t.diagnostic(`${node.name}: ${result.output}`);
        assert.deepEqual(
          result,
          { code: 0, output: '' },
          `promtool check metrics on ${node.name}'s /metrics`,
        );
      }
    });
  },
);
