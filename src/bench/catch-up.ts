/**
 * `npm run bench:catchup -- [--entries N] [--durable] [--runs N] [--append-clients N] [--cpu-prof DIR]`:
 * issue 15's catch-up figure. A local cluster (master + 2 secondaries as child processes, in
 * memory, or each with its own data directory and FSYNC=always) is filled with N entries of 100
 * bytes in batch appends of 100 (w=1); once sub2 holds them all, sub1 is killed -9 and started
 * again EMPTY (in memory by the restart itself; durable on a fresh empty data directory), while a
 * few clients keep appending single messages with w=1. Prints the time from sub1's restart until
 * its GET /health `log.lastId` reaches N (polled every 20 ms), entries/s, the ratio to the 2 s
 * target, and the appends acknowledged meanwhile, which sub1 must then hold too. With `--runs N`
 * sub1 is killed and restarted empty N times behind the same fill, and the median, the lowest and
 * the highest time follow (one run on this VM can be 25% off the next). Asserts no figure; exits
 * 1 if sub1 does not end up holding every acknowledged entry.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import type { LocalCluster } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { startBenchCluster, type PortRange } from './bench-cluster.js';
import { formatCount, formatMs } from './bench-results.js';
import { runBenchTool } from './bench-tool.js';
import { processCpuMs } from './process-cpu.js';
import { median } from './rounds.js';

const USAGE = `usage: npm run bench:catchup -- [--entries N] [--durable] [--runs N] [--append-clients N] [--cpu-prof DIR]

  --entries N          entries of 100 bytes the restarted secondary is behind (default 1000000)
  --durable            every node on its own data directory with FSYNC=always (default: in memory)
  --runs N             restarts of the secondary behind the same fill, each measured (default 1, 1..20)
  --append-clients N   clients appending single messages (w=1) during the catch-up (default 4, 0..32)
  --cpu-prof DIR       the master and the restarted secondary write V8 CPU profiles into DIR (one run)
  --env KEY=VALUE      an environment variable for every node (repeatable), to compare settings`;

/** Clear of the nodes' defaults (8000...), bench.ts (9100-9199) and memory.ts (9300-9399). */
const PORTS: PortRange = { min: 9400, max: 9449 };
const SECONDARY_COUNT = 2;
/** The secondary restarted empty; the other one stays up. */
const RESTARTED = 'sub1';
const MESSAGE = `catch-up ${'x'.repeat(91)}`;
export const CATCH_UP_TARGET_MS = 2000;
const MAX_ENTRIES = 10_000_000;
const MAX_APPEND_CLIENTS = 32;
const MAX_RUNS = 20;

const FILL_BATCH = 100;
const FILL_CONCURRENCY = 8;
/** 503 answers (a bounded queue full: nothing stored) retried at most this often in a fill. */
const FILL_MAX_RETRIES = 1000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Between two appends of one client during the catch-up: a modest rate, not a load test. */
const APPEND_PAUSE_MS = 5;
const POLL_MS = 20;
const POLL_REQUEST_TIMEOUT_MS = 5000;
const RESTART_TIMEOUT_MS = 30_000;
/** Bound on the catch-up itself, on the other secondary's, and on the final settling. */
const CATCH_UP_TIMEOUT_MS = 120_000;

export interface CatchUpOptions {
  readonly entries: number;
  readonly durable: boolean;
  readonly appendClients: number;
  /** Restarts of the secondary, each measured, behind the same fill. */
  readonly runs: number;
  /** The master and the restarted secondary write CPU profiles here. */
  readonly cpuProfileDir?: string;
  /** Extra environment for every node (MAX_BATCH_ENTRIES=..., to compare settings). */
  readonly nodeEnv?: Readonly<Record<string, string>>;
}

export interface CatchUpResult {
  readonly entries: number;
  readonly durable: boolean;
  readonly fillMs: number;
  /** From the restarted secondary's spawn until its GET /health answered. */
  readonly startMs: number;
  /**
   * From the restarted secondary's spawn until it was first seen holding an entry: its start,
   * then the time the master took to find it back (a probe or a replication retry).
   */
  readonly firstEntriesMs: number;
  /** From the restarted secondary's spawn until it held all `entries`. */
  readonly catchUpMs: number;
  readonly entriesPerS: number;
  /** CPU time (user + system) during the catch-up: the master's, the restarted secondary's. */
  readonly masterCpuMs: number;
  readonly secondaryCpuMs: number;
  /** `catchUpMs` over the 2 s target: at most 1 meets it. */
  readonly targetRatio: number;
  /** Appends (w=1) acknowledged between the spawn and the secondary holding all `entries`. */
  readonly appendsDuringCatchUp: number;
  readonly appendsAcknowledged: number;
  readonly appendErrors: readonly string[];
  /** The highest id acknowledged by the appending clients. */
  readonly lastAcknowledgedId: number;
  /** What the restarted secondary held once the appends stopped and it settled. */
  readonly secondaryLastId: number;
  readonly masterLastId: number;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integerFlag(
  raw: string | undefined,
  flag: string,
  fallback: number,
  [min, max]: readonly [number, number],
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < min || value > max)
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}; got "${raw}"`);
  return value;
}

export function parseCatchUpOptions(argv: readonly string[]): CatchUpOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      entries: { type: 'string' },
      durable: { type: 'boolean' },
      'append-clients': { type: 'string' },
      runs: { type: 'string' },
      'cpu-prof': { type: 'string' },
      env: { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  const profile = values['cpu-prof'];
  const runs = integerFlag(values.runs, 'runs', 1, [1, MAX_RUNS]);
  // Each start of the secondary would write its profile over the last one's.
  if (profile !== undefined && runs > 1)
    throw new UsageError(`--cpu-prof profiles one run; got --runs ${runs} (drop one of the two)`);
  const nodeEnv = Object.fromEntries(
    (values.env ?? []).map((pair) => {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
      if (match === null) throw new UsageError(`--env takes KEY=VALUE; got "${pair}"`);
      return [match[1]!, match[2]!];
    }),
  );
  return {
    nodeEnv,
    entries: integerFlag(values.entries, 'entries', 1_000_000, [1, MAX_ENTRIES]),
    durable: values.durable === true,
    appendClients: integerFlag(values['append-clients'], 'append-clients', 4, [
      0,
      MAX_APPEND_CLIENTS,
    ]),
    runs,
    ...(profile === undefined ? {} : { cpuProfileDir: resolve(profile) }),
  };
}

/** The most it may take: the fill (generously), then per run a start and three waits, the stop. */
export function catchUpBudgetMs(options: CatchUpOptions): number {
  const fillMs = 60_000 + options.entries * (options.durable ? 0.2 : 0.05);
  return fillMs + options.runs * (RESTART_TIMEOUT_MS + 3 * CATCH_UP_TIMEOUT_MS) + 30_000;
}

async function post(client: Client, body: string, signal: AbortSignal) {
  const response = await client.request({
    path: '/logs',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

/** GET /health's `log.lastId`: the master's last id, a secondary's gap-free prefix. */
async function lastIdOf(client: Client, signal: AbortSignal): Promise<number> {
  const response = await client.request({
    path: '/health',
    method: 'GET',
    signal: AbortSignal.any([signal, AbortSignal.timeout(POLL_REQUEST_TIMEOUT_MS)]),
  });
  const health = (await response.body.json()) as { log?: { lastId?: unknown } };
  const lastId = health.log?.lastId;
  if (response.statusCode !== 200 || typeof lastId !== 'number')
    throw new Error(`GET /health answered ${response.statusCode} without log.lastId`);
  return lastId;
}

async function lastIdAt(node: NodeProcess, signal: AbortSignal): Promise<number> {
  const client = new Client(node.url);
  try {
    return await lastIdOf(client, signal);
  } finally {
    await client.destroy();
  }
}

/**
 * Polls `node` every 20 ms until it holds `target`; returns when (performance.now()), and when it
 * was first seen holding an entry.
 */
async function waitForLastId(
  node: NodeProcess,
  target: number,
  signal: AbortSignal,
): Promise<{ heldAtMs: number; firstAtMs: number }> {
  const client = new Client(node.url, { pipelining: 1 });
  const deadlineMs = performance.now() + CATCH_UP_TIMEOUT_MS;
  let firstAtMs: number | undefined;
  try {
    for (;;) {
      const lastId = await lastIdOf(client, signal);
      if (lastId > 0) firstAtMs ??= performance.now();
      if (lastId >= target) return { heldAtMs: performance.now(), firstAtMs: firstAtMs! };
      if (performance.now() > deadlineMs)
        throw new Error(
          `${node.name} holds ${lastId} of ${target} entries after ${CATCH_UP_TIMEOUT_MS / 1000} s`,
        );
      await sleep(POLL_MS, undefined, { signal });
    }
  } finally {
    await client.destroy();
  }
}

/** Appends `entries` in batches of 100 with w=1, FILL_CONCURRENCY at once; returns the ms taken. */
async function fill(origin: string, entries: number, signal: AbortSignal): Promise<number> {
  const batches = Math.ceil(entries / FILL_BATCH);
  const body = (count: number): string =>
    JSON.stringify({ messages: Array.from({ length: count }, () => MESSAGE), w: 1 });
  const full = body(FILL_BATCH);
  let next = 0;
  let retries = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    const client = new Client(origin, { pipelining: 1 });
    try {
      while (next < batches) {
        const batch = next++;
        const count = Math.min(FILL_BATCH, entries - batch * FILL_BATCH);
        for (;;) {
          const answer = await post(client, count === FILL_BATCH ? full : body(count), signal);
          if (answer.status === 201) break;
          if (answer.status !== 503 || ++retries > FILL_MAX_RETRIES)
            throw new Error(`fill: HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
          await sleep(20, undefined, { signal });
        }
      }
    } finally {
      await client.destroy();
    }
  };
  await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
  return performance.now() - started;
}

interface Appending {
  /** Acknowledgements received at or after `fromMs` (performance.now()) and up to `toMs`. */
  acknowledgedBetween(fromMs: number, toMs: number): number;
  stop(): Promise<{ acknowledged: number; lastId: number; errors: string[] }>;
}

/** `clients` loops of single w=1 appends, each pausing 5 ms after an answer. */
function startAppending(origin: string, clients: number, signal: AbortSignal): Appending {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const ackTimes: number[] = [];
  const errors: string[] = [];
  let lastId = 0;
  const body = JSON.stringify({ message: MESSAGE, w: 1 });
  const loop = async (): Promise<void> => {
    const client = new Client(origin, { pipelining: 1 });
    try {
      while (!both.aborted) {
        const answer = await post(client, body, both).catch((error: unknown) => {
          if (!both.aborted) errors.push(String(error));
          return undefined;
        });
        if (answer?.status === 201) {
          ackTimes.push(performance.now());
          const id = (JSON.parse(answer.text) as { log: { id: number } }).log.id;
          lastId = Math.max(lastId, id);
        } else if (answer !== undefined && errors.length < 100) {
          errors.push(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
        }
        await sleep(APPEND_PAUSE_MS, undefined, { signal: both }).catch(() => undefined);
      }
    } finally {
      await client.destroy();
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    acknowledgedBetween: (fromMs, toMs) =>
      ackTimes.filter((atMs) => atMs >= fromMs && atMs <= toMs).length,
    stop: async () => {
      stop.abort();
      await Promise.all(loops);
      return { acknowledged: ackTimes.length, lastId, errors: errors.slice(0, 10) };
    },
  };
}

/** kill -9, a fresh empty data directory if it has one, and a start; returns the spawn time. */
async function restartEmpty(
  node: NodeProcess,
  signal: AbortSignal,
): Promise<{ spawnedAtMs: number; startMs: number }> {
  await node.kill();
  const dataDir = node.dataDir;
  if (dataDir !== undefined) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
  }
  const spawnedAtMs = performance.now();
  await node.start(RESTART_TIMEOUT_MS, signal);
  return { spawnedAtMs, startMs: performance.now() - spawnedAtMs };
}

function profileArgs(dir: string | undefined, name: string): string[] {
  if (dir === undefined || (name !== 'master' && name !== RESTARTED)) return [];
  return ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`];
}

/**
 * Fills a fresh cluster once, then runs the scenario `options.runs` times on it (see the file's
 * comment), and stops the cluster on every way out. Progress goes to stderr.
 */
export async function runCatchUp(
  options: CatchUpOptions,
  signal: AbortSignal,
): Promise<CatchUpResult[]> {
  const profileDir = options.cpuProfileDir;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const cluster = await startBenchCluster({
    ports: PORTS,
    secondaries: SECONDARY_COUNT,
    signal,
    durable: options.durable,
    ...(options.nodeEnv === undefined ? {} : { nodeEnv: options.nodeEnv }),
    nodeArgs: (name) => profileArgs(profileDir, name),
  });
  try {
    const { entries } = options;
    const fillMs = await fill(cluster.master.url, entries, signal);
    process.stderr.write(
      `  catch-up${options.durable ? ' (durable)' : ''}: filled ${formatCount(entries)} entries in ${formatMs(fillMs)} ms\n`,
    );
    await waitForLastId(cluster.node('sub2'), entries, signal);
    const results: CatchUpResult[] = [];
    for (let run = 0; run < options.runs; run++)
      results.push(await measure(cluster, options, fillMs, signal));
    return results;
  } finally {
    await cluster.stop();
  }
}

/** One run: appends going on, sub1 restarted empty, timed until it holds the fill. */
async function measure(
  cluster: LocalCluster,
  options: CatchUpOptions,
  fillMs: number,
  signal: AbortSignal,
): Promise<CatchUpResult> {
  const { entries } = options;
  const appending = startAppending(cluster.master.url, options.appendClients, signal);
  let appends: Awaited<ReturnType<Appending['stop']>>;
  let timing: { spawnedAtMs: number; startMs: number; heldAtMs: number; firstAtMs: number };
  let cpu: { masterCpuMs: number; secondaryCpuMs: number };
  const sub = cluster.node(RESTARTED);
  const cpuMs = (node: NodeProcess): number => processCpuMs(node.pid ?? -1) ?? Number.NaN;
  try {
    await sleep(200, undefined, { signal });
    const masterBefore = cpuMs(cluster.master);
    const restart = await restartEmpty(sub, signal);
    const held = await waitForLastId(sub, entries, signal);
    cpu = { masterCpuMs: cpuMs(cluster.master) - masterBefore, secondaryCpuMs: cpuMs(sub) };
    timing = { ...restart, ...held };
  } finally {
    appends = await appending.stop();
  }
  const masterLastId = await lastIdAt(cluster.master, signal);
  await waitForLastId(sub, masterLastId, signal);
  const secondaryLastId = await lastIdAt(sub, signal);
  const catchUpMs = timing.heldAtMs - timing.spawnedAtMs;
  return {
    entries,
    durable: options.durable,
    fillMs,
    startMs: timing.startMs,
    firstEntriesMs: timing.firstAtMs - timing.spawnedAtMs,
    catchUpMs,
    entriesPerS: (entries * 1000) / catchUpMs,
    ...cpu,
    targetRatio: catchUpMs / CATCH_UP_TARGET_MS,
    appendsDuringCatchUp: appending.acknowledgedBetween(timing.spawnedAtMs, timing.heldAtMs),
    appendsAcknowledged: appends.acknowledged,
    appendErrors: appends.errors,
    lastAcknowledgedId: appends.lastId,
    secondaryLastId,
    masterLastId,
  };
}

export function catchUpSummary(result: CatchUpResult): string[] {
  const mode = result.durable ? 'FSYNC=always' : 'in memory';
  const held = result.secondaryLastId >= result.lastAcknowledgedId;
  const perEntry = (ms: number): string => ((ms * 1000) / result.entries).toFixed(2);
  return [
    `catch-up (${mode}): ${formatCount(result.entries)} entries of 100 bytes (filled in ${formatMs(result.fillMs)} ms)`,
    `  restart -> holds all: ${(result.catchUpMs / 1000).toFixed(2)} s (start ${formatMs(result.startMs)} ms of it, first entries at ${formatMs(result.firstEntriesMs)} ms), ${formatCount(result.entriesPerS)} entries/s`,
    `  CPU during it: master ${formatMs(result.masterCpuMs)} ms (${perEntry(result.masterCpuMs)} µs/entry), restarted secondary ${formatMs(result.secondaryCpuMs)} ms with its start (${perEntry(result.secondaryCpuMs)} µs/entry)`,
    `  against the ${CATCH_UP_TARGET_MS / 1000} s target: ${result.targetRatio.toFixed(2)}x (met when <= 1.00)`,
    `  appends (w=1) acknowledged during the catch-up: ${formatCount(result.appendsDuringCatchUp)} (${formatCount(result.appendsAcknowledged)} in all, last id ${result.lastAcknowledgedId}); ` +
      `the restarted secondary then held up to ${result.secondaryLastId}: ${held ? 'all of them' : 'NOT all of them'}`,
    ...result.appendErrors.map((error) => `  append error: ${error}`),
  ];
}

/**
 * The runs side by side: the median, lowest and highest time, how many met the target, and the
 * medians of the start and of the first entries. Nothing for a single run.
 */
export function catchUpRunsSummary(results: readonly CatchUpResult[]): string[] {
  if (results.length < 2) return [];
  const seconds = (ms: number): string => (ms / 1000).toFixed(2);
  const times = results.map((result) => result.catchUpMs);
  const met = results.filter((result) => result.targetRatio <= 1).length;
  return [
    `over ${results.length} runs: restart -> holds all ${seconds(median(times))} s median ` +
      `(${seconds(Math.min(...times))} to ${seconds(Math.max(...times))} s), ` +
      `${met} of ${results.length} within the ${CATCH_UP_TARGET_MS / 1000} s target; ` +
      `start ${formatMs(median(results.map((result) => result.startMs)))} ms median, ` +
      `first entries at ${formatMs(median(results.map((result) => result.firstEntriesMs)))} ms median`,
  ];
}

async function main(options: CatchUpOptions, signal: AbortSignal): Promise<number> {
  const results = await runCatchUp(options, signal);
  results.forEach((result, index) => {
    if (results.length > 1) process.stdout.write(`run ${index + 1} of ${results.length}: `);
    for (const line of catchUpSummary(result)) process.stdout.write(`${line}\n`);
  });
  for (const line of catchUpRunsSummary(results)) process.stdout.write(`${line}\n`);
  if (options.cpuProfileDir !== undefined)
    process.stdout.write(
      `  CPU profiles: ${join(options.cpuProfileDir, 'master.cpuprofile')}, ${join(options.cpuProfileDir, `${RESTARTED}.cpuprofile`)}\n`,
    );
  const heldAll = results.every((result) => result.secondaryLastId >= result.lastAcknowledgedId);
  return heldAll ? 0 : 1;
}

// Run as a command (not when the main bench imports runCatchUp).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  runBenchTool(
    {
      name: 'bench:catchup',
      usage: USAGE,
      parse: parseCatchUpOptions,
      budgetMs: catchUpBudgetMs,
      run: main,
    },
    process.argv.slice(2),
  );
}
