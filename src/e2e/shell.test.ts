/**
 * `rlog shell` with a script piped in, `rlog append`'s progress and `rlog wait`, as real processes
 * against a real cluster. One cluster serves the whole file (starting one is the slow part); the
 * tests run in order and the last one stops nodes for good.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  annotated,
  Cluster,
  freePort,
  HOST,
  makeTemporaryDir,
  MAIN_JS,
  removeTemporaryDir,
  waitFor,
  type LogEntry,
} from './harness.js';

/** Every rlog run is bounded: a hung shell fails the test with its output instead of hanging it. */
const RUN_TIMEOUT_MS = 10_000;

interface Run {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code once the process ends; rejects after RUN_TIMEOUT_MS. */
  readonly exit: Promise<number | null>;
}

const historyDir = makeTemporaryDir('rlog-shell-history-');
const historyFile = join(historyDir, 'history');

/** `rlog ARGS` with `script` on stdin (then closed), as a script or a pipe would run it. */
function rlog(args: readonly string[], script = ''): Run {
  const child = spawn(process.execPath, [MAIN_JS, ...args], {
    env: { PATH: process.env['PATH'] ?? '', RLOG_HISTORY: historyFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(script);
  const exit = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `rlog ${args.join(' ')} did not end within ${RUN_TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  // Read the streams to their end before the exit code is taken as final.
  const ended = Promise.all([
    new Promise((resolve) => child.stdout.once('close', resolve)),
    new Promise((resolve) => child.stderr.once('close', resolve)),
  ]);
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exit: exit.then(async (code) => {
      await ended;
      return code;
    }),
  };
}

/**
 * `text` without the progress lines an append prints on stderr once it has waited
 * PROGRESS_AFTER_MS (1 s, src/cli/commands.ts): on a busy machine any append may take that long.
 * For the tests of other stderr lines; the progress lines themselves are tested on their own.
 */
function withoutProgress(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^waiting for (w=\d+: |the append's answer; )/.test(line))
    .join('\n');
}

/** Runs the shell on `script` and returns what it printed and its exit code. */
async function shell(
  master: string,
  script: string,
  flags: readonly string[] = [],
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const run = rlog(['shell', '--master', master, ...flags], script);
  const code = await run.exit;
  return { stdout: run.stdout(), stderr: run.stderr(), code };
}

let cluster: Cluster;
before(async () => {
  cluster = await Cluster.start({ secondaries: 2 });
});
after(async () => {
  await cluster.stop();
  removeTemporaryDir(historyDir);
});

test('rlog shell runs a piped script in order: appends with w, list, health, help, escapes', async () => {
  await annotated(cluster, async () => {
    const master = cluster.master.url;
    const script = [
      'first',
      'w 2',
      'second',
      '\\list of chores',
      'w',
      // The last append with w=all: both secondaries then hold every entry before it too.
      'w all',
      'append help wanted',
      'list',
      'list sub1',
      'health',
      'help',
      'list sub9',
      'w 5',
      'help me',
      'exit',
      'never appended',
    ].join('\n');
    const { stdout, stderr, code } = await shell(master, `${script}\n`);
    const entries = ['1\tfirst', '2\tsecond', '3\tlist of chores', '4\thelp wanted'].join('\n');
    assert.equal(
      stdout.slice(0, stdout.search(/^master: /m)),
      [
        'appended as id 1: held by 3 nodes (w=3)',
        'w=2: an append answers once 2 nodes hold it',
        // 2 or 3: the w=2 answer comes once two nodes hold it, and a third may be as quick.
        /appended as id 2: held by [23] nodes \(w=2\)/.exec(stdout)?.[0] ?? 'missing id 2',
        /appended as id 3: held by [23] nodes \(w=2\)/.exec(stdout)?.[0] ?? 'missing id 3',
        'w=2: an append answers once 2 nodes hold it',
        'w=all: an append answers once every node holds it',
        'appended as id 4: held by 3 nodes (w=3)',
        entries,
        entries,
        '',
      ].join('\n'),
    );
    // The health line shows the log and the acks (the last append waited for every node); what
    // the heartbeats make of each secondary is of that moment: a missed probe or two on a busy
    // machine make one Suspected for a while. Every node Healthy is waited for below.
    assert.match(
      stdout,
      /^master: (ok|read-only), last id 4, quorum [1-3]\/3 healthy \(2 needed\)$/m,
    );
    assert.match(stdout, /^ {2}sub2 +(Healthy|Suspected|Unhealthy) +acked 4, lag 0/m);
    assert.match(stdout, /^To append a line that starts with a command word, start it with \\/m);
    assert.doesNotMatch(stdout, /rlog w=|rlog shell on/, 'no prompt or banner when piped');
    assert.equal(
      withoutProgress(stderr),
      [
        'rlog shell: line 12: cannot list sub9: no node named "sub9"; the master knows: master, sub1, sub2',
        'rlog shell: line 13: w=5 is more than the 3 nodes of this cluster: give 1 to 3, "majority" or "all"',
        'rlog shell: line 14: "help" takes no arguments; to append the line as it is, start it with \\',
        '',
      ].join('\n'),
    );
    assert.equal(code, 1, 'a failed line makes the exit code 1');
    const log = await cluster.logs();
    assert.deepEqual(
      log.map((entry) => entry.message),
      ['first', 'second', 'list of chores', 'help wanted'],
      'nothing after exit is appended',
    );
    assert.equal(existsSync(historyFile), false, 'no history file when stdin is not a terminal');

    // The shell's health shows every node Healthy, the log and every ack: asked again until the
    // heartbeats agree (each run starts a process, so the wait is long).
    await waitFor(
      async () => {
        const health = await shell(master, 'health\n');
        if (
          health.code === 0 &&
          /^master: ok, last id 4, quorum 3\/3 healthy \(2 needed\)$/m.test(health.stdout) &&
          /^ {2}sub2 +Healthy +acked 4, lag 0/m.test(health.stdout)
        )
          return true;
        throw new Error(`exit code ${health.code}, stdout:\n${health.stdout}${health.stderr}`);
      },
      30_000,
      "the shell's health to show every node Healthy, sub2 holding id 4",
      100,
    );

    const clean = await shell(master, 'w majority\nlist sub2\n');
    assert.equal(clean.stderr, '');
    assert.equal(clean.code, 0, 'every line succeeded');
    assert.equal(
      clean.stdout,
      `w=majority: an append answers once a majority of the nodes hold it\n${entries}\n`,
    );
  });
});

test('a piped word close to a command is not appended: the script fails at that line', async () => {
  await annotated(cluster, async () => {
    const { stdout, stderr, code } = await shell(cluster.master.url, 'lsit\nclear\n\\lsit\n');
    assert.equal(
      withoutProgress(stderr),
      [
        "rlog shell: line 1: 'lsit' was not appended: did you mean list? To append it as it is, write \\lsit",
        `rlog shell: line 2: 'clear' was not appended: it is not a command here ("help" lists them)? To append it as it is, write \\clear`,
        '',
      ].join('\n'),
    );
    assert.match(stdout, /^appended as id \d+: held by 3 nodes \(w=3\)\n$/);
    assert.equal(code, 1);
    const log = await cluster.logs();
    assert.deepEqual(
      log
        .filter((entry) => ['lsit', 'clear'].includes(entry.message))
        .map((entry) => entry.message),
      ['lsit'],
    );
  });
});

test('rlog shell and rlog append pointed at a secondary append at the master, and say so', async () => {
  await annotated(cluster, async () => {
    const master = cluster.master.url;
    const sub1 = cluster.node('sub1').url;
    const { stdout, stderr, code } = await shell(sub1, 'via sub1\n');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^appended as id \d+: held by 3 nodes \(w=3\)\n$/);
    assert.equal(
      withoutProgress(stderr),
      `rlog shell: the master is ${master} (not ${sub1}): appended there\n`,
    );

    const appended = rlog(['append', 'via sub1 too', '--json', '--master', sub1]);
    assert.equal(await appended.exit, 0, appended.stderr());
    assert.equal(
      withoutProgress(appended.stderr()),
      `rlog append: the master is ${master} (not ${sub1}): appended there\n`,
    );
    const { log } = JSON.parse(appended.stdout()) as { log: LogEntry };
    assert.equal(log.message, 'via sub1 too');
  });
});

test('rlog append --nodes: a node that does not answer is passed over for the next', async () => {
  await annotated(cluster, async () => {
    const master = cluster.master.url;
    const dead = `http://${HOST}:${await freePort(HOST)}`;
    const sub2 = cluster.node('sub2').url;
    const appended = rlog([
      'append',
      'past a dead node',
      '--master',
      dead,
      '--nodes',
      `${dead},${sub2}`,
    ]);
    assert.equal(await appended.exit, 0, appended.stderr());
    assert.match(appended.stdout(), /^appended as id \d+: held by 3 nodes \(w=3\)\n$/);
    assert.equal(
      withoutProgress(appended.stderr()),
      `rlog append: the master is ${master} (not ${dead}): appended there\n`,
    );
  });
});

test('an append that waits shows its progress on stderr until it is answered', async () => {
  await annotated(cluster, async () => {
    const master = cluster.master.url;
    const sub2 = cluster.node('sub2');
    sub2.pause();
    try {
      const shellRun = rlog(['shell', '--master', master], 'w 3\nslow one\n');
      const quiet = rlog(['append', 'slow quiet', '-w', '3', '--quiet', '--master', master]);
      // sub2 is paused, so the 504 is certain; 3 s is long enough for sub1's ack to be in
      // ("2 of the 3") even on a busy machine.
      const timed = rlog(
        ['shell', '--master', master, '--timeout-ms', '3000', '--quiet'],
        'timed out\n',
      );
      await waitFor(
        () => /^waiting for w=3: 2 of 3 nodes hold id \d+; sub2 is /m.test(shellRun.stderr()),
        10_000,
        `a progress line from the shell (stderr so far: ${shellRun.stderr()})`,
      );
      assert.match(
        shellRun.stderr(),
        /sub2 is (Healthy|Suspected|Unhealthy) \(lag \d+, last contact \d+\.\d s ago\)/,
      );
      assert.equal(shellRun.stdout(), 'w=3: an append answers once 3 nodes hold it\n');
      // The 504 answer: stored, and said so.
      assert.equal(await timed.exit, 1);
      assert.match(
        timed.stderr(),
        /^rlog shell: line 1: id \d+ is stored, but only 2 of the 3 nodes asked for held it when the timeout passed; it will still be replicated/,
      );
      sub2.resume();
      assert.equal(await shellRun.exit, 0, shellRun.stderr());
      assert.match(shellRun.stdout(), /^appended as id \d+: held by 3 nodes \(w=3\)$/m);
      assert.equal(await quiet.exit, 0);
      assert.match(quiet.stdout(), /^appended as id \d+: held by 3 nodes \(w=3\)\n$/);
      assert.equal(quiet.stderr(), '', '--quiet prints no progress');
    } finally {
      sub2.resume();
    }
  });
});

test('rlog append shows progress too; rlog wait waits for catch-up, or says why it gave up', async () => {
  await annotated(cluster, async () => {
    const master = cluster.master.url;
    const sub2 = cluster.node('sub2');
    sub2.pause();
    try {
      const slow = rlog(['append', 'slow cli', '-w', 'all', '--master', master]);
      await waitFor(
        () => /^waiting for w=3: 2 of 3 nodes hold id \d+; sub2 is /m.test(slow.stderr()),
        5000,
        `a progress line from rlog append (stderr so far: ${slow.stderr()})`,
      );
      for (const message of ['behind 1', 'behind 2']) {
        const answer = await cluster.append({ message, w: 2 });
        assert.equal(answer.status, 201, answer.text);
      }
      const short = rlog(['wait', '--timeout-s', '1', '--master', master]);
      assert.equal(await short.exit, 1);
      assert.match(
        short.stderr(),
        /^rlog wait: not caught up after 1 s \(still waiting for catch-up: sub2 lag \d+ \((Suspected|Unhealthy)\)\); "rlog health" shows the nodes/m,
      );
      assert.equal(short.stdout(), '');

      const waiting = rlog(['wait', '--timeout-s', '8', '--master', master]);
      await waitFor(
        () => /^waiting for catch-up: sub2 lag [1-9]\d* \(/m.test(waiting.stderr()),
        5000,
        `a progress line from rlog wait (stderr so far: ${waiting.stderr()})`,
      );
      sub2.resume();
      assert.equal(await waiting.exit, 0, waiting.stderr());
      const lastId = (await cluster.health()).log.lastId;
      assert.equal(
        waiting.stdout(),
        `caught up: every secondary is Healthy and holds id ${lastId}\n`,
      );
      assert.equal(await slow.exit, 0, slow.stderr());
      assert.match(slow.stdout(), /^appended as id \d+: held by 3 nodes \(w=3\)\n$/);
      const peer = await cluster.peer('sub2');
      assert.equal(peer.lag, 0);
    } finally {
      sub2.resume();
    }
  });
});

test('a node down, then no quorum: the shell says so clearly and keeps going', async () => {
  await annotated(cluster, async () => {
    const master = cluster.master.url;
    const sub2 = cluster.node('sub2');
    await sub2.kill();
    const down = await shell(master, 'list sub2\nlist sub1\nw 2\nafter sub2 died\n');
    assert.match(
      down.stderr,
      new RegExp(
        `^rlog shell: line 1: cannot list sub2: nothing answers at ${sub2.url.replaceAll('.', '\\.')}: is the node running\\?`,
      ),
    );
    // The lines after the failed one still run: a list, and an append that needs only sub1.
    assert.match(
      down.stdout,
      /^1\tfirst\n(.*\n)*w=2: an append answers once 2 nodes hold it\nappended as id \d+: held by 2 nodes \(w=2\)\n$/,
    );
    assert.equal(down.code, 1);

    await cluster.node('sub1').kill();
    await waitFor(
      async () => (await cluster.health()).readOnly,
      5000,
      'the master to be read-only',
    );
    const readOnly = await shell(master, 'w 1\nread only?\nlist\n');
    assert.equal(
      readOnly.stderr,
      'rlog shell: line 2: the master is read-only: 1 of 3 nodes healthy, 2 needed; appends resume when a majority is back (this append was not stored)\n',
    );
    assert.match(readOnly.stdout, /^w=1: an append answers once the master holds it\n1\tfirst\n/);
    assert.equal(readOnly.code, 1);
    const log: LogEntry[] = await cluster.logs();
    assert.equal(
      log.some((entry) => entry.message === 'read only?'),
      false,
    );
  });
});
