/**
 * The container setup (Dockerfile, docker-compose.yml), checked without a Docker engine:
 * - the compose file as `docker-compose config` resolves it: services, ports, volumes, order,
 *   environment (read by the nodes' own configuration loader);
 * - dclint on the compose file;
 * - the Dockerfile, parsed: stages, user, healthcheck, command, environment;
 * - the image's start command and healthcheck, run as plain processes with each service's
 *   resolved environment, in the order depends_on gives (none: with failover the three start
 *   together): they elect a master, and a w=3 append sent to it reaches all three nodes.
 *
 * docker-compose missing is a failure that says how to install it, not a skip: where no Docker
 * engine runs (docker.test.ts then skips), this file is the only check of the compose file, and a
 * skip would let a broken one through wherever the tool happens to be absent (CI installs it; see
 * the message for a developer machine). docker.test.ts runs the same files on a real engine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadNodeConfig } from '../config/config.js';
import {
  composeConfig,
  durationMs,
  execForm,
  finalStage,
  healthcheckOf,
  instructionsIn,
  lastInstruction,
  parseComposeConfig,
  parseDockerfile,
  REPO_ROOT,
  stageEnv,
  startOrder,
  type ComposeProject,
  type ComposeService,
  type Dockerfile,
  type Healthcheck,
} from './container-files.js';
import {
  freePort,
  makeTemporaryDir,
  removeTemporaryDir,
  request,
  waitFor,
  type AppendBody,
  type LogEntry,
  type MasterHealth,
} from './harness.js';

const LOOPBACK = '127.0.0.1';
const TOKEN = `test-${randomBytes(8).toString('hex')}`;
const SECONDARY_NAMES = ['sub1', 'sub2'];
const NODE_NAMES = ['master', ...SECONDARY_NAMES];
const PUBLISHED_PORTS: Readonly<Record<string, number>> = { master: 8000, sub1: 8001, sub2: 8002 };
/** docker stop waits this long after the stop signal before it kills. */
const DOCKER_STOP_GRACE_MS = 10_000;

function readRepoFile(name: string): string {
  return readFileSync(resolve(REPO_ROOT, name), 'utf8');
}

function dockerfile(): Dockerfile {
  return parseDockerfile(readRepoFile('Dockerfile'));
}

let resolvedProject: ComposeProject | undefined;

/** The compose file as `docker-compose config` resolves it with CLUSTER_TOKEN set (once). */
function project(): ComposeProject {
  if (resolvedProject !== undefined) return resolvedProject;
  const run = composeConfig({ CLUSTER_TOKEN: TOKEN });
  assert.equal(
    run.status,
    0,
    `docker-compose config refused docker-compose.yml:\n${run.stderr}${run.stdout}`,
  );
  resolvedProject = parseComposeConfig(run.stdout);
  return resolvedProject;
}

function service(name: string): ComposeService {
  const found = project().services.get(name);
  assert.ok(found, `docker-compose.yml has no service "${name}"`);
  return found;
}

/** The environment a service's container starts with: the image's ENV, then compose's. */
function containerEnv(name: string): Record<string, string> {
  const env: Record<string, string> = { ...stageEnv(finalStage(dockerfile())) };
  for (const [key, value] of Object.entries(service(name).environment)) {
    assert.ok(
      value !== undefined,
      `${name}: ${key} has no value in docker-compose.yml, so it would come from the shell of whoever runs compose; give it one`,
    );
    env[key] = value;
  }
  return env;
}

describe('docker-compose.yml, as docker-compose config resolves it', () => {
  it('starts without CLUSTER_TOKEN too (plain `docker compose up`), then with no token in force', () => {
    const run = composeConfig({});
    assert.equal(run.status, 0, `docker-compose config without CLUSTER_TOKEN:\n${run.stderr}`);
    for (const [name, node] of parseComposeConfig(run.stdout).services) {
      const token = node.environment['CLUSTER_TOKEN'];
      assert.ok(token === '' || token === undefined, `${name}: CLUSTER_TOKEN should be empty`);
    }
  });

  it('has the master and two secondaries, one image built here, one network, restart unless-stopped', () => {
    const { services, networks } = project();
    assert.deepEqual([...services.keys()].sort(), ['master', 'sub1', 'sub2']);
    assert.equal(networks.length, 1, `one user-defined network; got ${networks.join(', ')}`);
    const images = new Set([...services.values()].map((s) => s.image));
    assert.equal(images.size, 1, `one image for every node; got ${[...images].join(', ')}`);
    for (const node of services.values()) {
      assert.ok(node.image, `${node.name}: image: names the image every node shares`);
      assert.match(node.image, /:[^/:]+$/, `${node.name}: the image has an explicit tag`);
      if (node.buildContext !== undefined) {
        assert.equal(resolve(node.buildContext), resolve(REPO_ROOT), `${node.name}: build: .`);
        assert.ok(
          node.dockerfile === undefined || node.dockerfile === 'Dockerfile',
          `${node.name}: built from ./Dockerfile`,
        );
      }
      assert.deepEqual(node.networks, networks, `${node.name}: on the cluster's network`);
      assert.equal(node.restart, 'unless-stopped', `${node.name}: restart`);
      // The start command, user and healthcheck are the image's, checked below with it.
      assert.equal(node.command, undefined, `${node.name}: no command override`);
      assert.equal(node.entrypoint, undefined, `${node.name}: no entrypoint override`);
      assert.equal(node.user, undefined, `${node.name}: no user override`);
      assert.equal(node.healthcheck, undefined, `${node.name}: the image's healthcheck applies`);
    }
    assert.ok(
      [...services.values()].some((node) => node.buildContext !== undefined),
      'some service builds the image (build: .)',
    );
  });

  it('publishes each node on the port it listens on, on loopback', () => {
    for (const [name, port] of Object.entries(PUBLISHED_PORTS)) {
      const env = containerEnv(name);
      assert.equal(env['PORT'], String(port), `${name}: PORT`);
      assert.deepEqual(
        service(name).ports,
        [{ hostIp: LOOPBACK, published: port, target: port, protocol: 'tcp' }],
        `${name}: published as ${LOOPBACK}:${port}:${port} so that URLs agree inside and outside`,
      );
    }
  });

  it('keeps each log on a named volume of its own, mounted at DATA_DIR', () => {
    const { volumes } = project();
    const sources = new Set<string>();
    for (const name of Object.keys(PUBLISHED_PORTS)) {
      const env = containerEnv(name);
      assert.equal(env['DATA_DIR'], '/data', `${name}: DATA_DIR`);
      const mounts = service(name).volumes;
      assert.equal(mounts.length, 1, `${name}: one volume`);
      const mount = mounts[0]!;
      assert.equal(mount.type, 'volume', `${name}: a named volume, not a bind mount`);
      assert.equal(mount.target, env['DATA_DIR'], `${name}: mounted where DATA_DIR points`);
      assert.ok(mount.source !== undefined && volumes.includes(mount.source), `${name}: declared`);
      sources.add(mount.source);
    }
    assert.equal(sources.size, 3, 'no two nodes share a volume');
  });

  it('starts the three together: with failover no node waits for another', () => {
    for (const name of NODE_NAMES) assert.deepEqual(service(name).dependsOn, {}, name);
  });

  it('gives each node a failover environment its own configuration loader accepts, without a warning', () => {
    const peers = NODE_NAMES.map((name) => ({
      name,
      url: `http://${name}:${PUBLISHED_PORTS[name]}`,
    }));
    for (const name of NODE_NAMES) {
      const loaded = loadNodeConfig(undefined, [], containerEnv(name));
      assert.deepEqual(loaded.warnings, [], `${name}: options without effect`);
      const config = loaded.config;
      assert.ok(config.role === 'failover', `${name}: FAILOVER=true`);
      assert.equal(config.name, name);
      assert.deepEqual(config.failover.peers, peers, `${name}: PEERS names every node by service`);
      assert.equal(
        config.failover.advertisedUrl,
        `http://localhost:${PUBLISHED_PORTS[name]}`,
        `${name}: ADVERTISED_URL is its published port`,
      );
      assert.equal(config.host, '0.0.0.0');
      assert.equal(config.clusterToken, TOKEN, `${name}: CLUSTER_TOKEN from the shell`);
      assert.equal(config.dataDir, '/data');
      assert.equal(config.fsync, 'always');
      assert.equal(config.faultInjection, true, `${name}: fault injection on, for demos`);
      assert.equal(config.logFormat, 'pretty', `${name}: readable lines in docker compose up`);
    }
    assert.equal(containerEnv('master')['ROLE'], 'master', 'master leads the first epoch');
  });
});

describe('dclint on docker-compose.yml', () => {
  it('finds no error and no warning (rules turned off are in .dclintrc.yml, with reasons)', () => {
    // Run from the repository root, as a developer would, so that .dclintrc.yml is found.
    const result = spawnSync(
      process.execPath,
      [resolve(REPO_ROOT, 'node_modules/.bin/dclint'), 'docker-compose.yml', '--formatter', 'json'],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(result.error, undefined, `dclint did not run: ${String(result.error)}`);
    let reports: { messages: { rule: string; type: string; line: number; message: string }[] }[];
    try {
      reports = JSON.parse(result.stdout) as typeof reports;
    } catch {
      assert.fail(`dclint printed no JSON report:\n${result.stdout}${result.stderr}`);
    }
    const messages = reports.flatMap((report) => report.messages);
    assert.deepEqual(
      messages.map((m) => `line ${m.line}: ${m.type} ${m.rule}: ${m.message}`),
      [],
      'fix docker-compose.yml, or turn the rule off in .dclintrc.yml with the reason',
    );
    assert.equal(result.status, 0, result.stderr);
  });
});

describe('the Dockerfile parser', () => {
  it('joins continuations, drops comments inside them, reads both ENV forms and global ARGs', () => {
    const parsed = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG BASE=node:24-slim',
        'FROM ${BASE} AS build',
        'RUN a \\',
        '  # a comment inside',
        '  && b',
        'FROM $BASE',
        'ENV A=1 B="two words" C=three\\ words',
        'ENV LEGACY one value',
        'USER node',
      ].join('\n'),
    );
    assert.equal(parsed.stages.length, 2);
    assert.equal(parsed.stages[0]!.name, 'build');
    assert.equal(parsed.stages[0]!.from, 'node:24-slim');
    assert.equal(parsed.stages[1]!.from, 'node:24-slim');
    assert.deepEqual(parsed.stages[0]!.instructions, [{ keyword: 'RUN', args: 'a && b', line: 4 }]);
    assert.deepEqual(stageEnv(parsed.stages[1]!), {
      A: '1',
      B: 'two words',
      C: 'three words',
      LEGACY: 'one value',
    });
  });

  it('refuses what it does not understand instead of misreading it', () => {
    assert.throws(() => parseDockerfile('FROM a\nRUN <<EOF\necho\nEOF\n'), /heredocs/);
    assert.throws(() => stageEnv(parseDockerfile('FROM a\nENV A=$B\n').stages[0]!), /variables/);
    assert.throws(() => parseDockerfile('RUN x\nFROM a\n'), /before the first FROM/);
    assert.throws(() => parseDockerfile('FROM $NOPE\n'), /no default/);
    assert.equal(execForm('node dist/cli/main.js'), undefined);
    assert.deepEqual(execForm('["node", "x.js"]'), ['node', 'x.js']);
    assert.equal(durationMs('1m30s'), 90_000);
    assert.throws(() => durationMs('10'), /not a duration/);
  });
});

describe('Dockerfile', () => {
  it('builds in one stage and runs from another, both on the same Node LTS image', () => {
    const { stages } = dockerfile();
    assert.ok(stages.length >= 2, `multi-stage: got ${stages.length} stage(s)`);
    const final = finalStage(dockerfile());
    for (const stage of stages) {
      assert.match(stage.from, /^node:24-/, `stage ${stage.index}: on Node 24, an LTS line`);
    }
    assert.equal(stages[0]!.from, final.from, 'the build and runtime stages use the same image');
    // Only the built code and package.json reach the final image: dist/cli/main.js is bundled
    // with every dependency, and the healthcheck needs only Node's modules.
    const copies = instructionsIn(final, 'COPY').concat(instructionsIn(final, 'ADD'));
    assert.ok(copies.length > 0, 'the final stage copies the build output');
    const copied: string[] = [];
    for (const copy of copies) {
      const words = copy.args.split(/\s+/);
      assert.ok(
        words.some((word) => /^--from=/.test(word)),
        `line ${copy.line}: the final stage copies from the build stage only`,
      );
      copied.push(...words.filter((word) => !word.startsWith('--')).slice(0, -1));
    }
    assert.deepEqual(copied.map((path) => path.replace(/^\/app\//, '')).sort(), [
      'dist',
      'package.json',
    ]);
    const build = stages[0]!;
    const buildRuns = instructionsIn(build, 'RUN')
      .map((run) => run.args)
      .join('\n');
    assert.match(buildRuns, /npm ci/, 'the build stage installs from the lockfile');
    assert.match(buildRuns, /npm run build/, 'the build stage builds the bundle');
  });

  it('runs as the non-root node user, from /app, with /data as a volume it owns', () => {
    const final = finalStage(dockerfile());
    const user = lastInstruction(final, 'USER')?.args;
    assert.ok(user !== undefined, 'the final stage sets USER');
    assert.ok(!['root', '0', 'root:root', '0:0'].includes(user), `USER ${user} is root`);
    assert.equal(user, 'node');
    assert.equal(lastInstruction(final, 'WORKDIR')?.args, '/app');
    const volume = lastInstruction(final, 'VOLUME');
    assert.ok(volume, 'VOLUME /data');
    assert.deepEqual(execForm(volume.args) ?? volume.args.split(/\s+/), ['/data']);
    const runs = instructionsIn(final, 'RUN');
    assert.ok(
      runs.some((run) => /chown\s+node(:node)?\s+\/data/.test(run.args) && run.line < volume.line),
      '/data belongs to the node user, before VOLUME (later changes to a volume are lost)',
    );
  });

  it('sets the container environment, exposes PORT and stops on SIGTERM', () => {
    const final = finalStage(dockerfile());
    const env = stageEnv(final);
    assert.equal(env['NODE_ENV'], 'production');
    assert.equal(env['HOST'], '0.0.0.0', 'a container listens on every interface');
    assert.equal(env['PORT'], '8000');
    assert.equal(env['DATA_DIR'], '/data', 'the log is kept on the volume by default');
    const exposed = instructionsIn(final, 'EXPOSE').flatMap((e) => e.args.split(/\s+/));
    assert.ok(exposed.map((port) => port.replace(/\/tcp$/, '')).includes(env['PORT']), 'EXPOSE');
    assert.equal(lastInstruction(final, 'STOPSIGNAL')?.args, 'SIGTERM');
  });

  it('has a healthcheck on /health that needs nothing but node', () => {
    const health = healthcheckOf(finalStage(dockerfile()));
    assert.ok(health, 'the final stage has a HEALTHCHECK');
    assert.ok(health.command, `HEALTHCHECK CMD in exec form; got ${health.commandText}`);
    assert.equal(health.command[0], 'node', 'no curl or wget in the image: node runs the check');
    assert.deepEqual(
      health.command,
      ['node', 'dist/cli/healthcheck-main.js'],
      'rlog healthcheck without the rest of the CLI: GET /health at PORT, HTTPS with TLS_CERT',
    );
    const interval = durationMs(health.options['interval'] ?? '');
    const timeout = durationMs(health.options['timeout'] ?? '');
    assert.ok(interval >= 5000 && interval <= 60_000, `--interval ${interval} ms`);
    assert.ok(timeout < interval, '--timeout shorter than --interval');
    assert.ok(durationMs(health.options['start-period'] ?? '') >= 5000, '--start-period');
    assert.ok(Number(health.options['retries']) >= 1, '--retries');
    // Docker Engine 20.10 (Debian's docker.io, the companion of its docker-compose 1.29) refuses
    // a build with any other option, such as --start-interval (Engine 25).
    const known = ['interval', 'timeout', 'start-period', 'retries'];
    for (const option of Object.keys(health.options)) {
      assert.ok(known.includes(option), `HEALTHCHECK --${option} needs a recent Docker Engine`);
    }
  });

  it('starts the node with the exec form of CMD, the package bin', () => {
    const final = finalStage(dockerfile());
    const cmd = lastInstruction(final, 'CMD');
    assert.ok(cmd, 'the final stage has a CMD');
    const command = execForm(cmd.args);
    assert.ok(command, `CMD in exec form (node is PID 1 and gets SIGTERM); got ${cmd.args}`);
    assert.equal(lastInstruction(final, 'ENTRYPOINT'), undefined, 'no ENTRYPOINT around it');
    const bin = (JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> }).bin;
    assert.deepEqual(command, ['node', bin['rlog']]);
  });

  it('.dockerignore keeps local builds, dependencies, data and secrets out of the context', () => {
    const ignored = readRepoFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.git', '.env', '.rlog-data', 'test-artifacts']) {
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The image's command, run as processes

interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
}

/** Runs a command of the image: "node" is this Node; the working directory is the repo root. */
function spawnImageCommand(
  name: string,
  command: readonly string[],
  env: Readonly<Record<string, string>>,
): Running {
  assert.equal(command[0], 'node', `${name}: the command starts with node`);
  const child = spawn(process.execPath, command.slice(1), {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let resolveExit: () => void = () => undefined;
  const running: Running = {
    name,
    child,
    output,
    exit: undefined,
    exited: new Promise((resolveIt) => {
      resolveExit = resolveIt;
    }),
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.once('exit', (code, signal) => {
    running.exit = { code, signal };
    resolveExit();
  });
  return running;
}

function tail(running: Running): string {
  return `----- ${running.name}\n${running.output.join('').split('\n').slice(-40).join('\n')}`;
}

/** True if the process exits within `ms`. */
async function exitsWithin(running: Running, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolveIt) => {
    timer = setTimeout(() => {
      resolveIt(false);
    }, ms);
  });
  const exited = await Promise.race([running.exited.then(() => true), timeout]);
  clearTimeout(timer);
  return exited;
}

/** One run of the image's healthcheck, bounded by its --timeout as Docker bounds it. */
async function healthcheckPasses(
  health: Healthcheck,
  env: Readonly<Record<string, string>>,
): Promise<boolean> {
  const check = spawnImageCommand('healthcheck', health.command ?? [], env);
  const timeoutMs = durationMs(health.options['timeout'] ?? '30s');
  const timer = setTimeout(() => check.child.kill('SIGKILL'), timeoutMs);
  await check.exited;
  clearTimeout(timer);
  return check.exit?.code === 0;
}

describe('the image run as plain processes with the compose environment', () => {
  const running: Running[] = [];
  const dataDirs: string[] = [];

  before(() => {
    // Fails here, with the fix, if docker-compose is missing or refuses the file.
    project();
  });

  after(async () => {
    for (const node of running) if (node.exit === undefined) node.child.kill('SIGKILL');
    await Promise.all(running.map((node) => node.exited));
    for (const dir of dataDirs) removeTemporaryDir(dir);
  });

  it('starts in depends_on order, each healthy by the image healthcheck; they elect a master, w=3 reaches all three', async () => {
    const final = finalStage(dockerfile());
    const command = execForm(lastInstruction(final, 'CMD')?.args ?? '');
    assert.ok(command, 'CMD in exec form');
    const health = healthcheckOf(final);
    assert.ok(health?.command, 'HEALTHCHECK CMD in exec form');

    // Where the containers' names and ports are, here: the loopback interface and free ports
    // (8000-8002 may be taken on this machine; freePort never hands them out).
    const order = startOrder(project());
    const ports = new Map<string, number>();
    for (const name of order) ports.set(name, await freePort());
    const envs = new Map<string, Record<string, string>>();
    for (const name of order) {
      const env = containerEnv(name);
      const dataDir = makeTemporaryDir(`rlog-container-${name}-`);
      dataDirs.push(dataDir);
      assert.equal(env['DATA_DIR'], '/data', `${name}: DATA_DIR`);
      assert.equal(env['HOST'], '0.0.0.0', `${name}: HOST`);
      env['DATA_DIR'] = dataDir;
      // Every interface of a container is its own; here the loopback one is enough.
      env['HOST'] = LOOPBACK;
      env['PORT'] = String(ports.get(name));
      for (const [key, value] of Object.entries(env)) {
        let rewritten = value;
        for (const other of order) {
          const containerPort = containerEnv(other)['PORT'];
          rewritten = rewritten.replaceAll(
            `http://${other}:${containerPort}`,
            `http://${LOOPBACK}:${ports.get(other)}`,
          );
        }
        env[key] = rewritten;
      }
      for (const [key, value] of Object.entries(env)) {
        for (const other of order) {
          assert.ok(
            !new RegExp(`//${other}[:/]`).test(value),
            `${name}: ${key}=${value} still names the container ${other}: its URL is not http://${other}:<its PORT>`,
          );
        }
      }
      env['PATH'] = process.env['PATH'] ?? '';
      envs.set(name, env);
    }

    // The healthcheck can fail: nothing listens yet.
    const first = order[0]!;
    assert.equal(
      await healthcheckPasses(health, envs.get(first)!),
      false,
      'the healthcheck passed with no node running',
    );

    const annotate = (error: unknown): never => {
      const message = error instanceof Error ? error.message : String(error);
      assert.fail(`${message}\n\n${running.map(tail).join('\n')}`);
    };
    try {
      for (const name of order) {
        for (const [dependency, condition] of Object.entries(service(name).dependsOn)) {
          assert.ok(
            ['service_started', 'service_healthy'].includes(condition),
            `${name} waits for ${dependency} to be ${condition}, which is not run here`,
          );
        }
        // Every earlier service is healthy by now, which meets service_healthy and
        // service_started alike.
        const node = spawnImageCommand(name, command, envs.get(name)!);
        running.push(node);
        const startPeriod = durationMs(health.options['start-period'] ?? '0s');
        const state = await waitFor(
          async (): Promise<'exited' | 'healthy' | false> => {
            if (node.exit !== undefined) return 'exited';
            return (await healthcheckPasses(health, envs.get(name)!)) && 'healthy';
          },
          Math.max(startPeriod, 20_000),
          `${name} to pass the image's healthcheck`,
          100,
        );
        assert.equal(state, 'healthy', `${name} exited during start: ${JSON.stringify(node.exit)}`);
      }

      const url = (name: string): string => `http://${LOOPBACK}:${ports.get(name)}`;
      // The master the nodes elected (`master` leads epoch 1, but may have stepped down while it
      // was alone), once it sees the other two Healthy.
      const masterHealth = await waitFor(
        async () => {
          for (const name of order) {
            const answer = await request<MasterHealth | { role: string }>(`${url(name)}/health`);
            if (answer.status !== 200 || !('secondaries' in answer.body)) continue;
            const { secondaries } = answer.body;
            if (secondaries.length === 2 && secondaries.every((p) => p.status === 'Healthy'))
              return answer.body;
          }
          return false;
        },
        20_000,
        'a master that sees both other nodes Healthy',
        100,
      );
      const master = masterHealth.node;
      const others = order.filter((name) => name !== master);
      assert.deepEqual(
        masterHealth.secondaries.map((peer) => [peer.name, peer.url]),
        others.map((name) => [name, url(name)]),
      );
      const message = `through the compose environment ${TOKEN}`;
      const appended = await request<AppendBody>(`${url(master)}/logs`, {
        json: { message, w: 3, timeoutMs: 10_000 },
      });
      assert.equal(appended.status, 201, appended.text);
      assert.equal(appended.body.acks, 3, appended.text);
      const entry: LogEntry = { id: appended.body.log.id, message };
      for (const name of order) {
        await waitFor(
          async () => {
            const log = await request<LogEntry[]>(`${url(name)}/logs`);
            return log.status === 200 && JSON.stringify(log.body) === JSON.stringify([entry]);
          },
          5000,
          `${name} to hold the entry, and only it`,
          100,
        );
      }
      for (const name of others) {
        const answer = await request<{ master: { name: string; url: string } | null }>(
          `${url(name)}/health`,
        );
        // The master stamps its requests with its ADVERTISED_URL (the compose file's published
        // port), and that is what the others tell clients - not the URL they reach it at.
        assert.deepEqual(
          answer.body.master,
          { name: master, url: `http://localhost:${PUBLISHED_PORTS[master]}` },
          `${name}: the master's ADVERTISED_URL`,
        );
        // FAULT_INJECTION and CLUSTER_TOKEN of the compose file in force: /admin/faults is on,
        // behind the token.
        const anonymous = await request(`${url(name)}/admin/faults`);
        assert.equal(anonymous.status, 401, `${name}: /admin/faults without the token`);
        const faults = await request(`${url(name)}/admin/faults`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(faults.status, 200, `${name}: /admin/faults with the token: ${faults.text}`);
      }
      for (const [index, name] of order.entries()) {
        assert.ok(readdirSync(dataDirs[index]!).length > 0, `${name} keeps its log in DATA_DIR`);
      }

      // docker stop: the stop signal, then a kill after the grace period, one node after the other.
      const signal = lastInstruction(final, 'STOPSIGNAL')?.args ?? 'SIGTERM';
      for (const node of [...running].reverse()) {
        node.child.kill(signal as NodeJS.Signals);
        assert.ok(
          await exitsWithin(node, DOCKER_STOP_GRACE_MS),
          `${node.name} did not stop within ${DOCKER_STOP_GRACE_MS} ms of ${signal}`,
        );
        assert.deepEqual(node.exit, { code: 0, signal: null }, `${node.name} exits 0 on ${signal}`);
      }
    } catch (error) {
      annotate(error);
    }
  });
});
