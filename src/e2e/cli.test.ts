/**
 * The `rlog` command as a person uses it: `rlog cluster` (what `npm start` runs) gives three
 * healthy nodes with failover on (so the master is found through /health, as clients do), an
 * append shows up on all three, the client commands work against it, and Ctrl-C stops every
 * node; `--no-failover` keeps the fixed master.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { consecutiveFreePorts } from '../launcher/ports.js';
import { HOST, MAIN_JS, request, waitFor, type LogEntry, type MasterHealth } from './harness.js';

const run = promisify(execFile);

function rlog(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [MAIN_JS, ...args], {
    env: { ...process.env, ...env },
    timeout: 15_000,
  });
}

interface RunningCluster {
  readonly output: string[];
  readonly exit: Promise<number | null>;
  readonly kill: (signal: NodeJS.Signals) => void;
}

/** `rlog cluster` run as a person would, in `cwd`, so its default data directory lands there. */
function startCluster(cwd: string, extra: string[] = []): RunningCluster {
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    [MAIN_JS, 'cluster', '--base-port', String(base), '--heartbeat-interval-ms', '100', ...extra],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  running.push(child);
  return { output, exit, kill: (signal) => child.kill(signal) };
}

async function ready(cluster: RunningCluster): Promise<void> {
  await waitFor(
    () => cluster.output.join('').includes('cluster ready'),
    20_000,
    `"cluster ready" (output so far: ${cluster.output.join('')})`,
  );
}

const base = await consecutiveFreePorts(3, HOST);
const masterUrl = `http://${HOST}:${base}`;
const nodeUrls = [0, 1, 2].map((i) => `http://${HOST}:${base + i}`);

/** The node that says it is master, once the other two are Healthy to it (bounded wait). */
async function currentMaster(): Promise<{ url: string; health: MasterHealth }> {
  return waitFor(
    async () => {
      for (const url of nodeUrls) {
        // Any node's /health: a failover node's role changes.
        const health = await request<MasterHealth | { role: string }>(`${url}/health`).catch(
          () => undefined,
        );
        if (health?.status !== 200 || !('secondaries' in health.body)) continue;
        const peers = health.body.secondaries;
        if (peers.length === 2 && peers.every((peer) => peer.status === 'Healthy'))
          return { url, health: health.body };
      }
      return undefined;
    },
    15_000,
    'a master that sees both other nodes Healthy',
    100,
  );
}
const workDir = await mkdtemp(join(tmpdir(), 'rlog-cli-'));
const running: ChildProcess[] = [];
after(async () => {
  for (const child of running) child.kill('SIGKILL');
  await rm(workDir, { recursive: true, force: true });
});
const first = startCluster(workDir);
const output = first.output;

test('rlog cluster: three healthy nodes on consecutive ports, one append visible on all', async () => {
  await ready(first);
  const text = output.join('');
  assert.match(text, /logs in .*\.rlog-data\/<node>/);
  assert.match(text, /failover: if the master dies, the others elect a new one/);
  const { url, health } = await currentMaster();
  // The greeting names the master it found, and its epoch (the master may have moved since).
  const greeted = /cluster ready \(failover on\): master (\S+) (\S+) \(epoch (\d+)\)/.exec(text);
  assert.ok(greeted, text);
  assert.ok(nodeUrls.includes(greeted[2] ?? ''), greeted[0]);
  assert.ok(Number(greeted[3]) >= 1, greeted[0]);
  // Every other node, by its name and URL in PEERS.
  const names = ['master', 'sub1', 'sub2'];
  assert.deepEqual(
    health.secondaries.map((peer) => [peer.name, peer.url]),
    names.map((name, i) => [name, nodeUrls[i]]).filter(([name]) => name !== health.node),
  );

  // The README's first curl: no w means "all", so the answer comes once all three hold it.
  const answer = await request<{ acks: number; log: LogEntry }>(`${url}/logs`, {
    method: 'POST',
    json: { message: 'hi' },
  });
  assert.equal(answer.status, 201, answer.text);
  assert.equal(answer.body.acks, 3);
  for (const node of nodeUrls) {
    await waitFor(
      async () =>
        JSON.stringify((await request<LogEntry[]>(`${node}/logs`)).body) ===
        JSON.stringify([{ id: 1, message: 'hi' }]),
      5000,
      `${node} to show entry 1`,
    );
  }
  assert.match(text, /master\s+INFO\s+failover node \(\w+ first\) master listening/);
});

test('a second rlog cluster on the same ports says they are taken and starts nothing', async () => {
  await ready(first);
  const second = await rlog(['cluster', '--base-port', String(base)]).then(
    () => assert.fail('a second cluster on the same ports exited 0'),
    (error: unknown) => error as { code: number; stdout: string; stderr: string },
  );
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    new RegExp(
      `ports ${base}, ${base + 1}, ${base + 2} are already taken on ${HOST}, so no node was started .*--base-port ${base + 3}`,
    ),
  );
  assert.doesNotMatch(second.stdout, /cluster ready/);
  const { health } = await currentMaster();
  assert.equal(health.quorum.healthy, 3, 'the running cluster is untouched');
});

/** The sizes of the files in Node's compile cache under `root`, none if it has none. */
async function compileCacheSizes(root: string): Promise<number[]> {
  const dirs = await readdir(root).catch(() => []);
  const files: string[] = [];
  for (const dir of dirs) {
    for (const file of await readdir(join(root, dir))) files.push(join(root, dir, file));
  }
  return Promise.all(files.map(async (file) => (await stat(file)).size));
}

test("rlog keeps the compiled bundle in Node's compile cache from Node 22.1, and runs without it before", async () => {
  // Without NODE_COMPILE_CACHE (which would turn the cache on by itself): main.js must turn it
  // on, into os.tmpdir()/node-compile-cache, which TMPDIR moves into this test's directory.
  const env = { ...process.env };
  delete env['NODE_COMPILE_CACHE'];
  const tmp = await mkdtemp(join(tmpdir(), 'rlog-compile-cache-'));
  try {
    const { stdout } = await run(process.execPath, [MAIN_JS, '--version'], {
      env: { ...env, TMPDIR: tmp },
      timeout: 15_000,
    });
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
    const root = join(tmp, 'node-compile-cache');
    const sizes = await compileCacheSizes(root);
    if ('enableCompileCache' in nodeModule) {
      // The bundle's entry: V8's code for 2.9 MB of JavaScript (main.js itself, loaded before
      // the cache was on, is not in it).
      assert.ok(
        sizes.some((bytes) => bytes > 100_000),
        `cache entries in ${root}: ${JSON.stringify(sizes)} bytes`,
      );
    } else {
      // Node 20: no such API, so main.js must not fail on its absence, and nothing is kept.
      assert.deepEqual(sizes, [], `Node ${process.version} has no compile cache to write`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('rlog --version, --help of every command, and a suggestion for an unknown one', async () => {
  const manifest = JSON.parse(
    await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  assert.equal((await rlog(['--version'])).stdout, `${manifest.version}\n`);
  // Every command `rlog --help` lists, so that a new command is covered without a change here.
  const listed = [...(await rlog(['--help'])).stdout.matchAll(/^ {2}([a-z]+) /gm)].map(
    (match) => match[1] ?? '',
  );
  const known = ['cluster', 'master', 'secondary', 'healthcheck', 'append', 'list', 'tail'];
  for (const command of [...known, 'health', 'wait', 'shell']) assert.ok(listed.includes(command));
  for (const command of listed.filter((name) => name !== 'help')) {
    const help = await rlog([command, '--help']);
    assert.match(help.stdout, new RegExp(`^Usage: rlog ${command} `), command);
  }
  const master = (await rlog(['master', '--help'])).stdout;
  assert.match(master, /--heartbeat-interval-ms <value> +how often each secondary is probed/);
  assert.match(master, /\[HEARTBEAT_INTERVAL_MS\] \(default 1000\)/);
  assert.doesNotMatch(master, /--error-rate/, "a secondary's option is not in the master's help");
  for (const [flag, variable] of [
    ['--failover', 'FAILOVER'],
    ['--peers <value>', 'PEERS'],
    ['--election-timeout-ms <value>', 'ELECTION_TIMEOUT_MS'],
    ['--advertised-url <value>', 'ADVERTISED_URL'],
  ] as const) {
    assert.match(master, new RegExp(`${flag} +[^[]*\\[${variable}\\]`), `${flag} in the help`);
  }
  assert.match(master, /With --failover the nodes of --peers elect the master/);
  assert.match(
    (await rlog(['secondary', '--help'])).stdout,
    /--error-rate <value>[\s\S]*?\[ERROR_RATE\]/,
  );
  assert.match((await rlog(['append', '--help'])).stdout, /--key <key>/);
  await assert.rejects(rlog(['lsit']), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /unknown command 'lsit'\n\(Did you mean list\?\)/);
    return true;
  });
  await assert.rejects(
    rlog(['append', 'x', '--wait']),
    (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /unknown option '--wait'/);
      return true;
    },
  );
});

test('rlog append, list and health talk to the cluster', async () => {
  const env = { RLOG_MASTER: masterUrl };
  const appended = await rlog(['append', 'from the cli', '-w', '2', '--key', 'cli-key-1'], env);
  assert.match(appended.stdout, /^appended as id 2: held by [23] nodes \(w=2\)\n$/);
  const replayed = await rlog(['append', 'from the cli', '--key', 'cli-key-1'], env);
  assert.match(replayed.stdout, /appended as id 2: .*replayed/);

  await waitFor(
    async () => (await rlog(['list', '--node', 'sub2'], env)).stdout === '1\thi\n2\tfrom the cli\n',
    10_000,
    'sub2 to list both entries',
  );
  const json = await rlog(['list', '--json', '--since', '1', '--master', masterUrl]);
  assert.deepEqual(JSON.parse(json.stdout), [{ id: 2, message: 'from the cli' }]);

  // Asked at a node that may be a secondary now: health is the master's, found through /health.
  const { health: now } = await currentMaster();
  const whole = new RegExp(
    `^${now.node} \\(master, epoch \\d+\\): ok, last id 2, quorum 3/3 healthy \\(2 needed\\)$`,
    'm',
  );
  const caughtUp = /^ {2}\w+ +Healthy +acked 2, lag 0/m;
  // Asked again until it shows that: a secondary can be Suspected for a heartbeat or two, or its
  // last ack not in yet, when the machine is busy.
  const health = await waitFor(
    async () => {
      const asked = await rlog([
        'health',
        '--master',
        nodeUrls.find((url) => url !== masterUrl) ?? '',
      ]);
      return whole.test(asked.stdout) && caughtUp.test(asked.stdout) ? asked : undefined;
    },
    10_000,
    'rlog health to show quorum 3/3 and a secondary Healthy with lag 0',
  );
  assert.match(health.stdout, whole);
  assert.match(health.stdout, caughtUp);
  const waited = await rlog(['wait', '--timeout-s', '10', '--master', nodeUrls[2] ?? '']);
  assert.match(waited.stdout, /^caught up: every secondary is Healthy and holds id 2$/m);

  await assert.rejects(rlog(['list', '--node', 'sub9'], env), (error: { stderr: string }) =>
    /no node named "sub9"; the master knows: (master|sub1|sub2), (master|sub1|sub2), (master|sub1|sub2)$/m.test(
      error.stderr,
    ),
  );
  await assert.rejects(rlog(['append', 'x', '-w', '7'], env), (error: { stderr: string }) =>
    /400 INVALID_REQUEST: w must be an integer from 1 to 3/.test(error.stderr),
  );
});

/** rlog with its stdout's reader gone before it writes, as `rlog ... | head -1` leaves it. */
async function rlogIntoClosedPipe(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN_JS, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Bounded: an rlog that never notices the closed pipe fails the test rather than hanging it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await exited.finally(() => {
    clearTimeout(timer);
  });
  return { code, stderr };
}

test('rlog ends quietly with 0 when the reader of its output stops early (rlog list | head)', async () => {
  const env = { RLOG_MASTER: masterUrl };
  for (const args of [['list'], ['--help'], ['tail', '-f']]) {
    const { code, stderr } = await rlogIntoClosedPipe(args, env);
    assert.equal(stderr, '', `rlog ${args.join(' ')}: nothing on stderr`);
    assert.equal(code, 0, `rlog ${args.join(' ')}: exit code`);
  }
});

test('rlog reports a master that does not answer, and a bad node option, clearly', async () => {
  const free = await consecutiveFreePorts(1, HOST);
  await assert.rejects(
    rlog(['health', '--master', `http://${HOST}:${free}`]),
    (error: { stderr: string; code: number }) =>
      error.code === 2 &&
      /nothing answers at http:\/\/127\.0\.0\.1:\d+: is the node running\?/.test(error.stderr),
  );
  await assert.rejects(
    rlog(['master'], { HEARTBEAT_INTERVAL_MS: 'often' }),
    (error: { stderr: string; code: number }) =>
      error.code === 2 &&
      /invalid configuration: --heartbeat-interval-ms \/ HEARTBEAT_INTERVAL_MS must be an integer/.test(
        error.stderr,
      ),
  );
});

test('Ctrl-C (SIGINT) stops every node of rlog cluster', async () => {
  first.kill('SIGINT');
  assert.equal(await first.exit, 0);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      fetch(`http://${HOST}:${base + i}/health`, { signal: AbortSignal.timeout(2000) }),
      `port ${base + i} must be closed`,
    );
  }
});

test("rlog cluster keeps each node's log in .rlog-data/<node>: a restart finds it again", async () => {
  for (const name of ['master', 'sub1', 'sub2']) {
    const segments = await readdir(join(workDir, '.rlog-data', name, 'log'));
    assert.ok(
      segments.some((file) => file.endsWith('.seg')),
      `${name} has a segment file`,
    );
  }
  const again = startCluster(workDir);
  await ready(again);
  const expected = [
    { id: 1, message: 'hi' },
    { id: 2, message: 'from the cli' },
  ];
  // Each node shows what a majority holds: the restarted nodes have it again once a master leads.
  for (const node of nodeUrls) {
    await waitFor(
      async () =>
        JSON.stringify((await request<LogEntry[]>(`${node}/logs`)).body) ===
        JSON.stringify(expected),
      15_000,
      `${node} to show both entries again`,
    );
  }
  const { url } = await currentMaster();
  const next = await request<{ log: LogEntry }>(`${url}/logs`, {
    json: { message: 'after restart' },
  });
  assert.equal(next.status, 201, next.text);
  assert.equal(next.body.log.id, 3);
  again.kill('SIGINT');
  assert.equal(await again.exit, 0);
});

test('rlog cluster --in-memory --no-failover keeps nothing on disk, with the fixed master', async () => {
  const memoryDir = await mkdtemp(join(tmpdir(), 'rlog-cli-memory-'));
  try {
    const cluster = startCluster(memoryDir, ['--in-memory', '--no-failover']);
    await ready(cluster);
    assert.match(cluster.output.join(''), /cluster ready: master http\S+, sub1 .*logs in memory/);
    const answer = await request<{ log: LogEntry }>(`${masterUrl}/logs`, {
      json: { message: 'm' },
    });
    assert.equal(answer.body.log.id, 1);
    const health = await request<{ failover?: boolean }>(`${masterUrl}/health`);
    assert.equal(health.body.failover, undefined, 'a fixed master');
    cluster.kill('SIGINT');
    assert.equal(await cluster.exit, 0);
    assert.deepEqual(await readdir(memoryDir), []);
  } finally {
    await rm(memoryDir, { recursive: true, force: true });
  }
});

test('rlog cluster --in-memory with failover: a temporary data root, removed on exit', async () => {
  const memoryDir = await mkdtemp(join(tmpdir(), 'rlog-cli-memory-'));
  try {
    const cluster = startCluster(memoryDir, ['--in-memory']);
    await ready(cluster);
    const root = /logs in (\S+)\/<node>, removed on exit/.exec(cluster.output.join(''))?.[1];
    assert.ok(root !== undefined, cluster.output.join(''));
    assert.deepEqual((await readdir(root)).sort(), ['master', 'sub1', 'sub2']);
    cluster.kill('SIGINT');
    assert.equal(await cluster.exit, 0);
    await assert.rejects(readdir(root), `${root} is removed`);
    assert.deepEqual(await readdir(memoryDir), []);
  } finally {
    await rm(memoryDir, { recursive: true, force: true });
  }
});
