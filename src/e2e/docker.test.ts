/**
 * docker-compose.yml on a real Docker engine (`npm run test:docker`; part of `npm test`): the
 * image built from the Dockerfile, the three containers started by Compose, and faults made with
 * Docker's own commands: `stop`/`start` of a secondary, `kill` of the master, `network
 * disconnect`/`connect`. Every wait is a bounded poll; the project (containers, network,
 * volumes) is removed with `down -v` at the end, whatever happened.
 *
 * Where no engine can run (no docker client, no dockerd, not root, dockerd fails to start), every
 * test skips with the reason, also printed on stderr. CI installs and starts what it needs
 * (.ci/run). No registry is needed: the Dockerfile builds on the stand-in base image of
 * .ci/docker-base-image (RLOG_TEST_NODE_IMAGE picks another, e.g. node:24-bookworm-slim).
 * Docker's layer cache keeps later builds short; the first one installs the dependencies.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildTestCluster, DockerCompose, engineUnavailable } from './docker-cluster.js';
import {
  makeTemporaryDir,
  removeTemporaryDir,
  request as unheldRequest,
  track,
  waitFor,
  type AppendBody,
  type ErrorBody,
  type LogEntry,
  type MasterHealth,
  type HttpAnswer,
  type PeerHealth,
  type RequestOptions,
} from './harness.js';

const PROJECT = `rlog-test-${process.pid}`;
const TOKEN = `test-${randomBytes(8).toString('hex')}`;
const SECONDARIES = ['sub1', 'sub2'] as const;
const NODES = ['master', ...SECONDARIES] as const;
/** The compose file's network, as docker-compose.yml names it. */
const NETWORK = 'rlog';
const UP_TIMEOUT_MS = 5 * 60_000;
/** Starts, restarts and health transitions: heartbeats are 1 s, Docker's healthcheck 5 s. */
const SETTLE_MS = 90_000;

interface State {
  skipReason: string | undefined;
  dir: string | undefined;
  compose: DockerCompose | undefined;
  urls: Map<string, string>;
}
const state: State = { skipReason: undefined, dir: undefined, compose: undefined, urls: new Map() };

/**
 * harness.request with a timer that holds the event loop open until the answer or the timeout.
 * fetch alone does not (its timeout timer is unref'd), and here nothing else does: the nodes are
 * not this process's children, and Docker's port proxy accepts a connection before the container
 * listens, so a request can hang on a socket that keeps nothing alive.
 */
async function request<T = unknown>(
  target: string,
  options: RequestOptions & { readonly timeoutMs: number },
): Promise<HttpAnswer<T>> {
  let timer: NodeJS.Timeout | undefined;
  const held = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer from ${target} within ${options.timeoutMs} ms`));
    }, options.timeoutMs + 1000);
  });
  try {
    return await Promise.race([unheldRequest<T>(target, options), held]);
  } finally {
    clearTimeout(timer);
  }
}

function cluster(): DockerCompose {
  assert.ok(state.compose, 'the compose project did not start (see the before hook)');
  return state.compose;
}

function url(node: string): string {
  const found = state.urls.get(node);
  assert.ok(found !== undefined, `no host port for ${node}`);
  return found;
}

/** A test that skips where no engine runs, and adds the containers' last lines to a failure. */
function step(name: string, body: () => Promise<void>): void {
  it(name, async (t: TestContext) => {
    if (state.skipReason !== undefined) {
      t.skip(state.skipReason);
      return;
    }
    try {
      await body();
    } catch (error) {
      const logs = await cluster()
        .logsTail()
        .catch((e: unknown) => String(e));
      if (error instanceof Error) error.message += `\n\n----- containers\n${logs}`;
      throw error;
    }
  });
}

async function masterHealth(): Promise<MasterHealth> {
  const answer = await request<MasterHealth>(`${url('master')}/health`, { timeoutMs: 3000 });
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
}

function peer(health: MasterHealth, name: string): PeerHealth {
  const found = health.secondaries.find((p) => p.name === name);
  assert.ok(found, `master /health has no ${name}`);
  return found;
}

/** Waits for the master to see every secondary Healthy and take appends. */
async function allHealthy(): Promise<MasterHealth> {
  return waitFor(
    async () => {
      const health = await masterHealth();
      return health.secondaries.every((p) => p.status === 'Healthy') && !health.readOnly && health;
    },
    SETTLE_MS,
    'the master to see sub1 and sub2 Healthy',
    250,
  );
}

async function append(message: string, w: number): Promise<AppendBody> {
  const answer = await request<AppendBody>(`${url('master')}/logs`, {
    json: { message, w, timeoutMs: 30_000 },
    timeoutMs: 60_000,
  });
  assert.equal(answer.status, 201, `w=${w} append of "${message}": ${answer.text}`);
  return answer.body;
}

async function logOf(node: string): Promise<LogEntry[]> {
  const answer = await request<LogEntry[]>(`${url(node)}/logs`, { timeoutMs: 5000 });
  assert.equal(answer.status, 200, `${node}: GET /logs: ${answer.text}`);
  return answer.body;
}

/** Waits until each of `nodes` holds exactly `expected`. */
async function logsEqual(nodes: readonly string[], expected: readonly LogEntry[]): Promise<void> {
  for (const node of nodes) {
    await waitFor(
      async () => JSON.stringify(await logOf(node)) === JSON.stringify(expected),
      SETTLE_MS,
      `${node} to hold the ${expected.length} entries of the master`,
      250,
    );
  }
}

async function inspect(service: string, format: string): Promise<string> {
  const id = await cluster().containerId(service);
  return (await cluster().docker(['inspect', '--format', format, id])).trim();
}

async function setUp(): Promise<void> {
  state.skipReason = await engineUnavailable();
  if (state.skipReason !== undefined) {
    process.stderr.write(
      `\n===== docker.test: SKIPPED, ${state.skipReason}\n` +
        '===== (CI runs it: .ci/run installs docker.io and starts dockerd)\n\n',
    );
    return;
  }
  state.dir = makeTemporaryDir('rlog-docker-');
  const built = await buildTestCluster(PROJECT, state.dir, TOKEN);
  for (const [name, port] of built.hostPorts) state.urls.set(name, `http://127.0.0.1:${port}`);
  state.compose = built.compose;
  // depends_on: the master starts once the secondaries pass the image's healthcheck.
  await state.compose.compose(['up', '--detach', '--no-build'], UP_TIMEOUT_MS);
}

async function tearDown(): Promise<void> {
  if (state.compose !== undefined) {
    const down = await state.compose.down();
    if (down.code !== 0) process.stderr.write(`docker-compose down -v failed:\n${down.stderr}\n`);
    await removeLeftovers(state.compose);
  }
  if (state.dir !== undefined) removeTemporaryDir(state.dir);
}

/** Whatever `down -v` left of the project (it failed, or a container was recreated). */
async function removeLeftovers(compose: DockerCompose): Promise<void> {
  const label = `label=com.docker.compose.project=${compose.name}`;
  for (const [kind, remove] of [
    ['container', ['rm', '--force', '--volumes']],
    ['volume', ['volume', 'rm', '--force']],
    ['network', ['network', 'rm']],
  ] as const) {
    const list = kind === 'container' ? ['ps', '--all'] : [kind, 'ls'];
    const ids = (await compose.docker([...list, '--quiet', '--filter', label]).catch(() => ''))
      .split('\n')
      .filter((id) => id !== '');
    if (ids.length === 0) continue;
    process.stderr.write(`docker.test: removing ${ids.length} ${kind}(s) left by down -v\n`);
    await compose.docker([...remove, ...ids]).catch((e: unknown) => {
      process.stderr.write(`docker.test: could not remove them: ${String(e)}\n`);
    });
  }
}

describe('docker-compose.yml on a Docker engine', () => {
  before(setUp);
  after(tearDown);

  step('starts the three nodes healthy by the image healthcheck, as the node user', async () => {
    const health = await allHealthy();
    assert.deepEqual(
      health.secondaries.map((p) => [p.name, p.url]),
      SECONDARIES.map((name, i) => [name, `http://${name}:${8001 + i}`]),
    );
    for (const node of NODES) {
      await waitFor(
        async () => (await inspect(node, '{{.State.Health.Status}}')) === 'healthy',
        SETTLE_MS,
        `Docker to report ${node} healthy`,
        500,
      );
      assert.equal(await inspect(node, '{{.Config.User}}'), 'node', `${node}: USER`);
    }
    // LOG_FORMAT=pretty in the compose file: readable lines, not JSON.
    const lines = await cluster().compose(['logs', '--no-color', 'master']);
    assert.match(lines, /\d\d:\d\d:\d\d\.\d{3} master INFO {2}master-started: /, lines);
    assert.doesNotMatch(lines, /\|\s*\{"level"/, 'no JSON lines');
  });

  step('replicates an append to all three', async () => {
    const body = await append('hello from the containers', 3);
    assert.equal(body.acks, 3);
    await logsEqual(NODES, [{ id: body.log.id, message: 'hello from the containers' }]);
  });

  step('stop sub2: a w=3 append waits while w=1 answers; start sub2 completes it', async () => {
    await cluster().compose(['stop', 'sub2'], 60_000);
    const waiting = track(
      request<AppendBody>(`${url('master')}/logs`, {
        json: { message: 'needs sub2', w: 3 },
        timeoutMs: 4 * SETTLE_MS,
      }),
    );
    await waitFor(
      async () => (await masterHealth()).waitingAppends >= 1,
      SETTLE_MS,
      'the master to count the w=3 append as waiting',
      100,
    );
    const quick = await append('w=1 while sub2 is stopped', 1);
    assert.equal(quick.acks >= 1, true);
    // sub1 holds both: with sub2 up, the w=3 append would have been answered by now.
    await waitFor(
      async () => (await logOf('sub1')).length === quick.log.id,
      SETTLE_MS,
      'sub1 to hold both new entries',
      100,
    );
    assert.equal(waiting.settled(), false, 'the w=3 append answered without sub2');
    await cluster().compose(['start', 'sub2'], 60_000);
    const answered = await waiting.promise;
    assert.equal(answered.status, 201, answered.text);
    assert.equal(answered.body.acks, 3);
    await logsEqual(NODES, await logOf('master'));
  });

  step('kill the master, start it: the log is kept on its volume', async () => {
    const before = await logOf('master');
    assert.ok(before.length >= 3, `${before.length} entries`);
    await cluster().compose(['kill', 'master'], 60_000);
    assert.equal(await inspect('master', '{{.State.Running}}'), 'false', 'killed');
    await cluster().compose(['start', 'master'], 60_000);
    await allHealthy();
    assert.deepEqual(await logOf('master'), before, 'the master kept its log');
    const after = await append('after the restart', 3);
    assert.equal(after.log.id, before.length + 1);
    await logsEqual(NODES, [...before, { id: after.log.id, message: 'after the restart' }]);
  });

  step(
    'network disconnect: Suspected, Unhealthy, read-only when both are cut; connect heals',
    async () => {
      const network = cluster().networkName(NETWORK);
      const cut = async (node: string): Promise<void> => {
        await cluster().docker([
          'network',
          'disconnect',
          network,
          await cluster().containerId(node),
        ]);
      };
      await cut('sub1');
      const seen: string[] = [];
      await waitFor(
        async () => {
          const status = peer(await masterHealth(), 'sub1').status;
          if (seen.at(-1) !== status) seen.push(status);
          return status === 'Unhealthy';
        },
        SETTLE_MS,
        'the master to see sub1 Unhealthy',
        100,
      );
      assert.deepEqual(
        seen.slice(seen.indexOf('Suspected')),
        ['Suspected', 'Unhealthy'],
        seen.join(' → '),
      );
      assert.equal((await masterHealth()).readOnly, false, 'sub2 and the master are a majority');
      await append('sub1 cut off', 2);

      await cut('sub2');
      await waitFor(
        async () => (await masterHealth()).readOnly,
        SETTLE_MS,
        'the master to turn read-only',
        100,
      );
      const refused = await request<ErrorBody>(`${url('master')}/logs`, {
        json: { message: 'no quorum', w: 1 },
        timeoutMs: 10_000,
      });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.error.code, 'READ_ONLY');

      for (const node of SECONDARIES) {
        const id = await cluster().containerId(node);
        // The service name is the node's address on the network (SECONDARIES, MASTER_URL).
        await cluster().docker(['network', 'connect', '--alias', node, network, id]);
      }
      await allHealthy();
      const healed = await append('healed', 3);
      assert.equal(healed.acks, 3);
      await logsEqual(NODES, await logOf('master'));
    },
  );
});
