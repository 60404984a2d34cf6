/**
 * Following the log as users do, on real processes: `rlog tail` (what a node holds, then exit),
 * `rlog tail -f --node sub1` as a child process through concurrent appends while sub1 is killed
 * and started again on its data directory, and the typed client's `follow()` across a restart of
 * the master. Each must print or yield every entry exactly once, in order: the log itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { ReplicatedLogClient, type Entry } from '../client/index.js';
import { annotated, Cluster, MAIN_JS, pool, runRlog, waitFor, type LogEntry } from './harness.js';

const CLIENTS = 6;
/** Appends in all while `rlog tail -f` runs: before the restart of sub1, and during it. */
const BEFORE_RESTART = 500;
const DURING_RESTART = 1000;
/** Bound on every wait for a follower to have printed or yielded what the master holds. */
const CATCH_UP_TIMEOUT_MS = 60_000;

/** `count` appends of `w=1` from CLIENTS concurrent clients, messages `<prefix>-<n>`. */
async function appendMany(cluster: Cluster, prefix: string, count: number): Promise<void> {
  await pool(count, CLIENTS, async (index) => {
    const answer = await cluster.append({ message: `${prefix}-${index}`, w: 1 });
    assert.equal(answer.status, 201, answer.text);
  });
}

/** The master's log after `since`, as `rlog list` and `rlog tail` print it. */
async function linesAfter(cluster: Cluster, since: number): Promise<string[]> {
  const log = await cluster.logs();
  return log.filter((entry) => entry.id > since).map((entry) => `${entry.id}\t${entry.message}`);
}

async function lastId(cluster: Cluster): Promise<number> {
  return (await cluster.health()).log.lastId;
}

/** `rlog tail -f ARGS` running: its stdout lines so far, its stderr, and a way to stop it. */
function tailFollowing(args: readonly string[]): {
  readonly lines: () => string[];
  readonly stderr: () => string;
  readonly stop: () => Promise<number | null>;
} {
  const child = spawn(process.execPath, [MAIN_JS, 'tail', '-f', ...args], {
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    lines: () => stdout.split('\n').slice(0, -1),
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exit;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}

/** `rlog shell` with `script` on stdin, to its end (bounded). */
function shellScript(
  master: string,
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN_JS, 'shell', '--master', master], {
    env: { PATH: process.env['PATH'] ?? '', RLOG_HISTORY: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(script);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('rlog tail and client.follow (master + 2 secondaries, data directories)', () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await Cluster.start({ secondaries: 2, dataDirs: true });
  });

  after(async () => {
    await (cluster as Cluster | undefined)?.stop();
  });

  test('rlog tail without -f prints what a node holds and exits: all, --since, -n, --json', async () => {
    await annotated(cluster, async () => {
      await pool(12, 4, async (index) => {
        const answer = await cluster.append({ message: `plain-${index}`, w: 3 });
        assert.equal(answer.status, 201, answer.text);
      });
      const master = ['--master', cluster.master.url];
      const all = await linesAfter(cluster, 0);
      const cases: { args: string[]; lines: string[] }[] = [
        { args: [], lines: all },
        { args: ['--node', 'sub2'], lines: all },
        { args: ['--since', '5', '--node', cluster.node('sub1').url], lines: all.slice(5) },
        { args: ['-n', '3', '--node', 'sub1'], lines: all.slice(-3) },
        { args: ['--since', String(all.length)], lines: [] },
      ];
      for (const { args, lines } of cases) {
        const run = await runRlog(['tail', ...args, ...master]);
        assert.equal(run.status, 0, `rlog tail ${args.join(' ')}: ${run.stderr}`);
        assert.deepEqual(run.stdout.split('\n').slice(0, -1), lines, args.join(' '));
      }
      const json = await runRlog(['tail', '-n', '2', '--json', ...master]);
      const entries = json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as LogEntry);
      assert.deepEqual(
        entries.map((entry) => `${entry.id}\t${entry.message}`),
        all.slice(-2),
      );
      const help = await runRlog(['tail', '--help']);
      assert.match(help.stdout, /^Usage: rlog tail \[options\]/);
      assert.match(help.stdout, /-f, --follow[\s\S]*rlog tail -f --node sub1/);
      const both = await runRlog(['tail', '--since', '1', '-n', '2', ...master]);
      assert.equal(both.status, 2);
      assert.match(both.stderr, /give --since or --lines, not both/);
    });
  });

  test("the shell's tail prints a node's last entries; tail -f is refused in a script", async () => {
    await annotated(cluster, async () => {
      const last = (await linesAfter(cluster, 0)).slice(-10);
      const run = await shellScript(cluster.master.url, 'tail\ntail sub2\ntail -f\n');
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(run.stdout.split('\n').slice(0, -1), [...last, ...last]);
      assert.match(run.stderr, /line 3: tail -f follows until Ctrl-C, which a script cannot press/);
    });
  });

  test('rlog tail -f --node sub1 prints every entry once, in order, through a restart of sub1 under load', async () => {
    await annotated(cluster, async () => {
      const since = await lastId(cluster);
      const tail = tailFollowing([
        '--node',
        'sub1',
        '--since',
        String(since),
        '--master',
        cluster.master.url,
      ]);
      let stopped = false;
      try {
        await appendMany(cluster, 'before', BEFORE_RESTART);
        await waitFor(() => tail.lines().length > 0, CATCH_UP_TIMEOUT_MS, 'tail -f printing');
        const appending = appendMany(cluster, 'during', DURING_RESTART);
        await cluster.node('sub1').restart();
        await appending;
        const total = BEFORE_RESTART + DURING_RESTART;
        await waitFor(
          () => tail.lines().length >= total,
          CATCH_UP_TIMEOUT_MS,
          `tail -f printing ${total} lines (stderr: ${tail.stderr()})`,
        );
        const code = await tail.stop();
        stopped = true;
        assert.equal(code, 0, tail.stderr());
        assert.deepEqual(tail.lines(), await linesAfter(cluster, since));
        assert.match(tail.stderr(), /reconnecting in \d+ ms, resuming after entry \d+/);
      } finally {
        if (!stopped) await tail.stop();
      }
    });
  });

  test("the client's follow() yields every entry once, in order, across a restart of the master", async () => {
    await annotated(cluster, async () => {
      const since = await lastId(cluster);
      const client = new ReplicatedLogClient({
        url: cluster.master.url,
        retry: { baseDelayMs: 20, maxDelayMs: 500 },
      });
      let reconnects = 0;
      const follow = client.follow({
        since,
        maxConsecutiveFailures: 100,
        onReconnect: () => {
          reconnects++;
        },
      });
      const seen: Entry[] = [];
      const reading = (async () => {
        for await (const entry of follow) seen.push(entry);
      })();
      try {
        await appendMany(cluster, 'first', 300);
        await waitFor(() => seen.length > 0, CATCH_UP_TIMEOUT_MS, 'follow yielding');
        await cluster.master.restart();
        await appendMany(cluster, 'second', 300);
        const end = await lastId(cluster);
        await waitFor(
          () => seen.length >= end - since,
          CATCH_UP_TIMEOUT_MS,
          `${end - since} entries`,
        );
        await follow.return();
        await reading;
        const log = (await cluster.logs()).filter((entry) => entry.id > since);
        assert.deepEqual(seen, log);
        assert.ok(reconnects > 0, 'the restart ended the stream, and follow reconnected');
      } finally {
        await follow.return();
      }
    });
  });
});
