/**
 * docker-compose.yml on a real Docker engine (`npm run test:docker`; part of `npm test`): the
 * image built from the Dockerfile, the three containers started by Compose with failover on, and
 * faults made with Docker's own commands: `stop`/`start` of a secondary, `kill` of the master
 * under w="majority" appends (a new master takes them; the old one rejoins as a secondary, and
 * every acknowledged entry is on every node at its id, once), `network disconnect`/`connect`.
 * The master is always found through the nodes' /health, as a client finds it. Every wait is a
 * bounded poll; the project (containers, network, volumes) is removed with `down -v` at the end,
 * whatever happened.
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
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTestCluster, DockerCompose, engineUnavailable } from './docker-cluster.js';
import { MALLOC_TUNABLES } from '../launcher/node-process.js';
import {
  makeTemporaryDir,
  removeTemporaryDir,
  request as unheldRequest,
  track,
  waitFor,
  type AppendBody,
  type ErrorBody,
  type LogEntry,
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
/** Starts, restarts and health transitions: heartbeats are 0.5 s, Docker's healthcheck 5 s. */
const SETTLE_MS = 90_000;
/** The bound on the wait for a new master's first acknowledged append after a kill (FAILOVER.md asks 3 s). */
const FAILOVER_BOUND_MS = 15_000;

/** A failover node's /health, as far as this test reads it. */
interface NodeHealth {
  readonly node: string;
  readonly role: 'master' | 'secondary' | 'candidate';
  readonly epoch: number;
  readonly failover?: boolean;
  readonly readOnly: boolean;
  readonly master: { readonly name: string; readonly url: string } | null;
  readonly waitingAppends?: number;
  readonly secondaries?: readonly PeerHealth[];
}

/** The master now: its service name and its /health (with the other nodes). */
interface Leader {
  readonly name: string;
  readonly health: NodeHealth & { readonly secondaries: readonly PeerHealth[] };
}

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

async function healthOf(node: string): Promise<NodeHealth | undefined> {
  const answer = await request<NodeHealth>(`${url(node)}/health`, { timeoutMs: 3000 }).catch(
    () => undefined,
  );
  return answer?.status === 200 ? answer.body : undefined;
}

/** The node that says it is master (the highest epoch if two do), asked at once; undefined: none. */
async function leaderNow(nodes: readonly string[] = NODES): Promise<Leader | undefined> {
  const answers = await Promise.all(nodes.map(healthOf));
  let best: Leader | undefined;
  for (const [index, health] of answers.entries()) {
    if (health?.role !== 'master' || health.secondaries === undefined) continue;
    if (best === undefined || health.epoch > best.health.epoch)
      best = { name: nodes[index]!, health: { ...health, secondaries: health.secondaries } };
  }
  return best;
}

async function leader(): Promise<Leader> {
  const found = await leaderNow();
  assert.ok(found, 'no node says it is master');
  return found;
}

function peer(health: Leader['health'], name: string): PeerHealth {
  const found = health.secondaries.find((p) => p.name === name);
  assert.ok(found, `the master's /health has no ${name}`);
  return found;
}

/** Waits for a master that sees every other node Healthy and takes appends. */
async function allHealthy(): Promise<Leader> {
  return waitFor(
    async () => {
      const found = await leaderNow();
      const { health } = found ?? {};
      return (
        health !== undefined &&
        health.secondaries.length === NODES.length - 1 &&
        health.secondaries.every((p) => p.status === 'Healthy') &&
        !health.readOnly &&
        found
      );
    },
    SETTLE_MS,
    'a master that sees both other nodes Healthy',
    250,
  );
}

async function append(node: string, message: string, w: number): Promise<AppendBody> {
  const answer = await request<AppendBody>(`${url(node)}/logs`, {
    json: { message, w, timeoutMs: 30_000 },
    timeoutMs: 60_000,
  });
  assert.equal(answer.status, 201, `w=${w} append of "${message}" at ${node}: ${answer.text}`);
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

/** An append a node acknowledged: the entry, who took it, and when (ms since the epoch). */
interface Ack {
  readonly entry: LogEntry;
  readonly node: string;
  readonly atMs: number;
}

/**
 * A client appending "load N" with w="majority", one after the other, each with its own
 * idempotency key that its retries keep (so a retry on a new master never makes a second entry):
 * at the master it found through /health, looked for again after any failure or refusal.
 */
function startWriter(): { readonly acks: Ack[]; stop(): Promise<void> } {
  const acks: Ack[] = [];
  const control = { stopping: false };
  const appendOnce = async (index: number): Promise<void> => {
    const message = `load ${index}`;
    while (!control.stopping) {
      const target = (await leaderNow())?.name;
      const answer =
        target === undefined
          ? undefined
          : await request<AppendBody>(`${url(target)}/logs`, {
              json: { message, w: 'majority', timeoutMs: 5000 },
              headers: { 'idempotency-key': `${PROJECT}-load-${index}` },
              timeoutMs: 8000,
            }).catch(() => undefined);
      if (target !== undefined && (answer?.status === 201 || answer?.status === 200)) {
        acks.push({ entry: { id: answer.body.log.id, message }, node: target, atMs: Date.now() });
        return;
      }
      await sleep(100);
    }
  };
  const loop = (async (): Promise<void> => {
    for (let index = 0; !control.stopping; index++) await appendOnce(index);
  })();
  return {
    acks,
    stop: async () => {
      control.stopping = true;
      await loop;
    },
  };
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
    const { name, health } = await allHealthy();
    assert.equal(health.failover, true, 'failover on');
    assert.deepEqual(
      health.secondaries.map((p) => [p.name, p.url]),
      NODES.map((node, i) => [node, `http://${node}:${8000 + i}`]).filter(
        ([node]) => node !== name,
      ),
      'PEERS names each node by its service name and port',
    );
    for (const node of NODES) {
      await waitFor(
        async () => (await inspect(node, '{{.State.Health.Status}}')) === 'healthy',
        SETTLE_MS,
        `Docker to report ${node} healthy`,
        500,
      ).catch(async (error: unknown) => {
        // Docker keeps the last runs of the check, with their exit codes and stderr: the why.
        const runs = await inspect(node, '{{json .State.Health}}').catch((e: unknown) => String(e));
        throw new Error(`${(error as Error).message}\n${node} healthcheck runs: ${runs}`);
      });
      assert.equal(await inspect(node, '{{.Config.User}}'), 'node', `${node}: USER`);
      const env = JSON.parse(await inspect(node, '{{json .Config.Env}}')) as string[];
      assert.ok(env.includes(`GLIBC_TUNABLES=${MALLOC_TUNABLES}`), `${node}: ${env.join(' ')}`);
    }
    // LOG_FORMAT=pretty in the compose file: readable lines, not JSON.
    const lines = await cluster().compose(['logs', '--no-color', name]);
    assert.match(
      lines,
      new RegExp(`\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${name} INFO {2}master-started: `),
      lines,
    );
    assert.doesNotMatch(lines, /\|\s*\{"level"/, 'no JSON lines');
  });

  step('replicates an append to all three', async () => {
    const { name } = await leader();
    const body = await append(name, 'hello from the containers', 3);
    assert.equal(body.acks, 3);
    await logsEqual(NODES, [{ id: body.log.id, message: 'hello from the containers' }]);
  });

  step(
    'stop a secondary: a w=3 append waits while w=1 answers; start it completes it',
    async () => {
      const { name } = await allHealthy();
      const stopped = NODES.filter((node) => node !== name).at(-1)!;
      const other = NODES.find((node) => node !== name && node !== stopped)!;
      await cluster().compose(['stop', stopped], 60_000);
      const waiting = track(
        request<AppendBody>(`${url(name)}/logs`, {
          json: { message: `needs ${stopped}`, w: 3 },
          timeoutMs: 4 * SETTLE_MS,
        }),
      );
      await waitFor(
        async () => ((await leader()).health.waitingAppends ?? 0) >= 1,
        SETTLE_MS,
        'the master to count the w=3 append as waiting',
        100,
      );
      const quick = await append(name, `w=1 while ${stopped} is stopped`, 1);
      assert.equal(quick.acks >= 1, true);
      // The other secondary holds both: with the stopped one up, the w=3 append would be answered.
      await waitFor(
        async () => (await logOf(other)).length === quick.log.id,
        SETTLE_MS,
        `${other} to show both new entries`,
        100,
      );
      assert.equal(waiting.settled(), false, `the w=3 append answered without ${stopped}`);
      await cluster().compose(['start', stopped], 60_000);
      const answered = await waiting.promise;
      assert.equal(answered.status, 201, answered.text);
      assert.equal(answered.body.acks, 3);
      await logsEqual(NODES, await logOf(name));
    },
  );

  step(
    'kill the master under w=majority appends: a new master takes them; started, the old one rejoins as a secondary; every acknowledged entry on every node at its id, once',
    async () => {
      const old = await allHealthy();
      const before = await logOf(old.name);
      const writer = startWriter();
      try {
        await waitFor(() => writer.acks.length >= 3, SETTLE_MS, '3 appends acknowledged', 50);
        const killedAtMs = Date.now();
        await cluster().compose(['kill', old.name], 60_000);
        assert.equal(await inspect(old.name, '{{.State.Running}}'), 'false', 'killed');
        const first = await waitFor(
          () => writer.acks.find((ack) => ack.node !== old.name && ack.atMs >= killedAtMs),
          FAILOVER_BOUND_MS,
          'a new master to acknowledge a w=majority append',
          50,
        );
        const elected = await leader();
        assert.ok(elected.health.epoch > old.health.epoch, 'a new epoch');
        process.stderr.write(
          `docker.test: kill of ${old.name} (epoch ${old.health.epoch}) -> first w=majority append acknowledged by ${first.node} (epoch ${elected.health.epoch}) ${first.atMs - killedAtMs} ms later\n`,
        );
        await cluster().compose(['start', old.name], 60_000);
        await waitFor(
          async () => {
            const health = await healthOf(old.name);
            return (
              health?.role === 'secondary' &&
              health.epoch > old.health.epoch &&
              health.master !== null
            );
          },
          SETTLE_MS,
          `${old.name} to rejoin as a secondary of the new epoch`,
          250,
        );
        const ackedBefore = writer.acks.length;
        await waitFor(
          () => writer.acks.length >= ackedBefore + 2,
          SETTLE_MS,
          'appends acknowledged with the old master back',
          50,
        );
      } finally {
        await writer.stop();
      }
      const { name } = await allHealthy();
      const log = await logOf(name);
      await logsEqual(NODES, log);
      assert.deepEqual(log.slice(0, before.length), before, 'the entries before the kill');
      for (const { entry } of writer.acks)
        assert.deepEqual(log[entry.id - 1], entry, `acknowledged entry ${entry.id} at its id`);
      const messages = log.map((entry) => entry.message);
      assert.equal(new Set(messages).size, messages.length, 'no message twice');
    },
  );

  step(
    'network disconnect: a cut secondary turns Suspected, Unhealthy; both cut, appends are refused; connect heals',
    async () => {
      const { name } = await allHealthy();
      const [first, second] = NODES.filter((node) => node !== name);
      const network = cluster().networkName(NETWORK);
      const cut = async (node: string): Promise<void> => {
        await cluster().docker([
          'network',
          'disconnect',
          network,
          await cluster().containerId(node),
        ]);
      };
      await cut(first!);
      const seen: string[] = [];
      const masterHealth = async (): Promise<NodeHealth | undefined> => healthOf(name);
      await waitFor(
        async () => {
          const health = await masterHealth();
          if (health?.role !== 'master' || health.secondaries === undefined) return false;
          const status = peer({ ...health, secondaries: health.secondaries }, first!).status;
          if (seen.at(-1) !== status) seen.push(status);
          return status === 'Unhealthy';
        },
        SETTLE_MS,
        `the master to see ${first} Unhealthy`,
        100,
      );
      assert.deepEqual(
        seen.slice(seen.indexOf('Suspected')),
        ['Suspected', 'Unhealthy'],
        seen.join(' → '),
      );
      assert.equal((await masterHealth())?.readOnly, false, 'the master and one more: a majority');
      await append(name, `${first} cut off`, 2);

      // Both cut: the master hears no majority and steps down within an election timeout (or
      // stays master read-only for that moment): either way no append is taken.
      await cut(second!);
      await waitFor(
        async () => {
          const health = await masterHealth();
          return health !== undefined && (health.role !== 'master' || health.readOnly);
        },
        SETTLE_MS,
        'the master to step down or turn read-only',
        100,
      );
      const refused = await request<ErrorBody>(`${url(name)}/logs`, {
        json: { message: 'no quorum', w: 1 },
        timeoutMs: 10_000,
      });
      assert.ok([421, 503].includes(refused.status), refused.text);
      assert.ok(['NOT_MASTER', 'READ_ONLY'].includes(refused.body.error.code), refused.text);

      for (const node of [first!, second!]) {
        const id = await cluster().containerId(node);
        // The service name is the node's address on the network (PEERS).
        await cluster().docker(['network', 'connect', '--alias', node, network, id]);
      }
      const healed = await allHealthy();
      const answer = await append(healed.name, 'healed', 3);
      assert.equal(answer.acks, 3);
      await logsEqual(NODES, await logOf(healed.name));
    },
  );
});
