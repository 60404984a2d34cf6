/**
 * Child processes for the benchmarks: a local cluster (master + secondaries, each started as
 * `rlog master` / `rlog secondary` through node-child.js), free ports from a bench's own range,
 * waiting for GET /health, and killing every child on every way out of the bench process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isPortFree } from '../testing/ports.js';

export const HOST = '127.0.0.1';
export const HEALTH_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3000;
const CHILD_TAIL_LINES = 30;

export const NODE_ENTRY = fileURLToPath(new URL('./node-child.js', import.meta.url));

/** A bench's own ports, clear of the nodes' defaults (8000...) and of the other benches. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** A child process of the bench, with the tail of its output kept for error reports. */
export class Child {
  readonly tail: string[] = [];
  lineCount = 0;
  exitText: string | undefined;
  readonly exited: Promise<void>;

  /** The lines logged after the first `count` (as far as the kept tail reaches back). */
  linesSince(count: number): string[] {
    const fresh = this.lineCount - count;
    return fresh <= 0 ? [] : this.tail.slice(-Math.min(fresh, this.tail.length));
  }

  constructor(
    readonly name: string,
    readonly childProcess: ChildProcess,
  ) {
    for (const stream of [childProcess.stdout, childProcess.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lineCount += 1;
        this.tail.push(line);
        if (this.tail.length > CHILD_TAIL_LINES) this.tail.shift();
      });
    }
    this.exited = new Promise((resolveExit) => {
      childProcess.once('exit', (code, signal) => {
        this.exitText = signal === null ? `code ${code ?? '?'}` : signal;
        resolveExit();
      });
      // A failed spawn emits 'error' and maybe no 'exit'.
      childProcess.once('error', (error) => {
        this.exitText ??= `failed to start: ${error.message}`;
        resolveExit();
      });
    });
  }

  get running(): boolean {
    return this.exitText === undefined;
  }

  report(): string {
    return `${this.name} ${this.running ? 'is running' : `exited (${this.exitText ?? '?'})`}; its last output:\n${this.tail.map((line) => `  | ${line}`).join('\n') || '  | (none)'}`;
  }

  /** SIGTERM, then SIGKILL if it has not exited after the grace time; bounded either way. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.childProcess.kill('SIGTERM');
    if (await exitsWithin(this.exited, STOP_GRACE_MS)) return;
    this.childProcess.kill('SIGKILL');
    await exitsWithin(this.exited, STOP_GRACE_MS);
  }

  /** For the last-resort exit handler, where nothing can be awaited. */
  killNow(): void {
    if (this.running) this.childProcess.kill('SIGKILL');
  }
}

async function exitsWithin(exited: Promise<void>, timeoutMs: number): Promise<boolean> {
  const timeout = new AbortController();
  const done = await Promise.race([
    exited.then(() => true),
    sleep(timeoutMs, false, { signal: timeout.signal }).catch(() => false),
  ]);
  timeout.abort();
  return done;
}

/** Every child ever started and not yet reaped, so that every way out can kill them. */
const children = new Set<Child>();

/** SIGKILLs every child still running, synchronously: for exit handlers. */
export function killChildrenNow(): void {
  for (const child of children) child.killNow();
}

/** Stops every child still running (SIGTERM, then SIGKILL), bounded. */
export async function stopChildren(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop()));
}

/**
 * The children get a minimal environment, not the bench's: a node option left in the shell
 * (DELAY_MS, ERROR_RATE, DATA_DIR, ...) would otherwise silently change what is measured.
 */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_OPTIONS']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** Starts `node [nodeArgs] entry args` with the minimal environment plus `env`. */
export function startChild(
  name: string,
  entry: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  nodeArgs: readonly string[] = [],
): Child {
  const child = new Child(
    name,
    spawn(process.execPath, [...nodeArgs, entry, ...args], {
      env: { ...baseEnv(), ...env },
      // The IPC channel is only there so that the child notices when the bench dies.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** Free ports from the bench's range: other people's tests may hold some of them. */
export async function pickPorts(
  count: number,
  taken: readonly number[],
  range: PortRange,
): Promise<number[]> {
  const ports: number[] = [];
  for (let port = range.min; port <= range.max && ports.length < count; port++) {
    if (!taken.includes(port) && (await isPortFree(port, HOST))) ports.push(port);
  }
  if (ports.length < count) {
    throw new Error(
      `needed ${count} free ports in ${range.min}-${range.max}, found ${ports.length}; stop what holds them and retry`,
    );
  }
  return ports;
}

/** Polls GET /health until 200; fails when the child exits, the time is up or the run is aborted. */
export async function waitForHealth(
  child: Child,
  url: string,
  signal: AbortSignal,
  timeoutMs: number = HEALTH_TIMEOUT_MS,
): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  while (Date.now() < deadlineMs) {
    signal.throwIfAborted();
    if (!child.running) throw new Error(`${child.report()}\n(it should have answered ${url})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; ${child.report()}`);
}

export interface ClusterNode {
  readonly child: Child;
  readonly name: string;
  readonly origin: string;
}

export interface Cluster {
  /** The master's origin, e.g. http://127.0.0.1:9300. */
  readonly origin: string;
  /** The secondaries first, the master last, as they were started. */
  readonly nodes: readonly Child[];
  readonly master: ClusterNode;
  readonly secondaries: readonly ClusterNode[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly ports: PortRange;
  /** Ports of the range not to use (held by the bench's other servers). */
  readonly taken?: readonly number[];
  readonly secondaries: number;
  readonly signal: AbortSignal;
  /** Every node keeps its log in its own empty temporary DATA_DIR with FSYNC=always. */
  readonly durable?: boolean;
  /** Extra environment for every node. */
  readonly nodeEnv?: Readonly<Record<string, string>>;
  /** Options for node itself (before the entry), per node name: e.g. --cpu-prof. */
  readonly nodeArgs?: (name: string) => readonly string[];
}

/**
 * A fresh master and secondaries, each started as `rlog master` / `rlog secondary`: in memory, or
 * (`durable`) each with its own empty temporary DATA_DIR and FSYNC=always, removed afterwards.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { signal } = options;
  const ports = await pickPorts(1 + options.secondaries, options.taken ?? [], options.ports);
  const [masterPort, ...secondaryPorts] = ports as [number, ...number[]];
  const origin = `http://${HOST}:${masterPort}`;
  const dataRoot =
    options.durable === true ? await mkdtemp(join(os.tmpdir(), 'rlog-bench-')) : undefined;
  const storage = (name: string): Record<string, string> =>
    dataRoot === undefined ? {} : { DATA_DIR: join(dataRoot, name), FSYNC: 'always' };
  const common = { HOST, LOG_LEVEL: 'warn', ...options.nodeEnv };
  const nodeArgs = (name: string): readonly string[] => options.nodeArgs?.(name) ?? [];
  const nodes: Child[] = [];
  const secondaryNodes: ClusterNode[] = [];
  const stop = async (): Promise<void> => {
    // The master first: secondaries going away under it would make it log replication failures
    // that have nothing to do with the run.
    const master = nodes.find((node) => node.name === 'master');
    await master?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    if (dataRoot !== undefined) await rm(dataRoot, { recursive: true, force: true });
  };
  try {
    const secondaries = secondaryPorts.map((port, index) => ({ name: `sub${index + 1}`, port }));
    // Secondaries first, so that the master's first probes find them listening.
    for (const { name, port } of secondaries) {
      const child = startChild(
        name,
        NODE_ENTRY,
        ['secondary'],
        {
          ...common,
          ...storage(name),
          ROLE: 'secondary',
          NODE_NAME: name,
          PORT: String(port),
          MASTER_URL: origin,
        },
        nodeArgs(name),
      );
      nodes.push(child);
      secondaryNodes.push({ child, name, origin: `http://${HOST}:${port}` });
    }
    await Promise.all(
      secondaryNodes.map((node) => waitForHealth(node.child, `${node.origin}/health`, signal)),
    );
    const master = startChild(
      'master',
      NODE_ENTRY,
      ['master'],
      {
        ...common,
        ...storage('master'),
        ROLE: 'master',
        NODE_NAME: 'master',
        PORT: String(masterPort),
        SECONDARIES: secondaries
          .map(({ name, port }) => `${name}=http://${HOST}:${port}`)
          .join(','),
        // The default, set so that a value in the caller's shell cannot change the runs.
        HEARTBEAT_INTERVAL_MS: '1000',
      },
      nodeArgs('master'),
    );
    nodes.push(master);
    await waitForHealth(master, `${origin}/health`, signal);
    return {
      origin,
      nodes,
      master: { child: master, name: 'master', origin },
      secondaries: secondaryNodes,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Every way out of the bench process stops its children: the first SIGINT/SIGTERM aborts
 * `abort` (the bench then stops its runs and children itself), a second kills them at once and
 * exits 130, the process's 'exit' kills whatever is left, and a watchdog gives up after
 * `budgetMs`. Returns the function that clears the watchdog.
 */
export function guardChildren(tool: string, abort: AbortController, budgetMs: number): () => void {
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(`\n${tool}: ${signal}: stopping the runs and the child processes\n`);
      abort.abort(new Error(`interrupted by ${signal}`));
      return;
    }
    killChildrenNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The last resort: whatever way the process ends, no node outlives it.
  process.on('exit', killChildrenNow);

  // Every step is bounded on its own; this bounds their sum too, in case something is not.
  const watchdog = setTimeout(() => {
    process.stderr.write(
      `${tool}: still running after ${Math.round(budgetMs / 1000)} s; giving up\n`,
    );
    killChildrenNow();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();
  return () => {
    clearTimeout(watchdog);
  };
}
