/**
 * `npm run bench:memory`: issue 5's memory and scaling targets, measured on a local in-memory
 * cluster (master + 2 secondaries as child processes). Prints numbers, asserts none:
 *
 * 1. scaling: single appends (1 client, w=all) on an almost empty log, then again once the log
 *    holds N entries (default 1,000,000 of 100 bytes, filled in batches): work per append that
 *    grows with the log shows as a ratio well above 1;
 * 2. memory: each node's RSS and peak RSS (VmRSS, VmHWM) with N entries (target: master < 400 MB
 *    at 1,000,000);
 * 3. read stall: a full GET /logs from the master, then from a secondary, read to the end while
 *    4 clients keep appending (w=all); the appends' latency during the read against before it
 *    (target: no append waits more than 100 ms), and the serving node's peak RSS.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { environment, formatCount, formatMs, gitCommit, writeResults } from './bench-results.js';
import type { LocalCluster } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { HOST, startBenchCluster, type PortRange } from './bench-cluster.js';
import { runLoad, type LoadResult } from './load-generator.js';
import {
  MEMORY_USAGE,
  formatMiB,
  formatRatio,
  formatTable,
  latencyStats,
  longestGapMs,
  parseMemoryOptions,
  type LatencyStats,
  type LogCheck,
  type MemoryOptions,
  type Sample,
} from './memory-summary.js';
import { runBenchTool } from './bench-tool.js';
import { processMemory, resetPeakMemory, type ProcessMemory } from './process-memory.js';
import type { ReadTimings } from './read-child.js';
import { ReplicatedLogClient } from '../client/index.js';

const READ_CHILD = fileURLToPath(new URL('./read-child.js', import.meta.url));

/** Clear of the nodes' defaults (8000...), of bench.ts (9100-9199) and restart-time (9150-9199). */
const PORTS: PortRange = { min: 9300, max: 9399 };
const SECONDARY_COUNT = 2;
const MESSAGE_BYTES = 100;
const MESSAGE = `memory ${'x'.repeat(MESSAGE_BYTES - 7)}`;
const SEED_ENTRIES = 10;

const SCALING_WARMUP_MS = 1000;
const SCALING_DURATION_MS = 2000;
const REQUEST_TIMEOUT_MS = 10_000;

const FILL_BATCH = 1000;
const FILL_CONCURRENCY = 4;
const FILL_REQUEST_TIMEOUT_MS = 60_000;
/** 503 OVERLOADED / READ_ONLY answers (nothing stored) retried at most this often in a fill. */
const FILL_MAX_RETRIES = 100;
const CATCH_UP_TIMEOUT_MS = 120_000;

const STALL_CLIENTS = 4;
/** Before the read: connections open, JIT warm; the appends in this time are not counted. */
const STALL_WARMUP_MS = 500;
/** The appends completed in this time before the read are the "before" figures. */
const STALL_BASELINE_MS = 2000;
/** Appending goes on this long after the read has ended. */
const STALL_TAIL_MS = 1000;
const READ_TIMEOUT_MS = 180_000;
/** Every append latency is kept; this bounds the memory that takes. */
const MAX_SAMPLES = 5_000_000;
const RSS_SAMPLE_MS = 50;

interface NodeMemory {
  readonly node: string;
  readonly pid: number | undefined;
  readonly rssKiB: number | undefined;
  readonly hwmKiB: number | undefined;
}

interface ScalingRun extends LoadResult {
  /** Entries in the log when the run started. */
  readonly logEntries: number;
}

interface FillResult {
  readonly entriesAdded: number;
  readonly requests: number;
  readonly retries: number;
  readonly ms: number;
  readonly entriesPerS: number;
  /** From the end of the fill until every secondary held every entry. */
  readonly catchUpMs: number;
}

interface ReadUnderLoad {
  readonly node: string;
  readonly logEntriesAtStart: number;
  readonly bytes: number;
  /** Request sent to response headers received. */
  readonly ttfbMs: number;
  /** Request sent to first body bytes received. */
  readonly firstChunkMs: number;
  readonly totalMs: number;
  readonly mbPerS: number;
  readonly check: LogCheck;
  readonly appendsBefore: LatencyStats;
  /** Appends in flight at any time during the read. */
  readonly appendsDuring: LatencyStats;
  /** The longest time during the read in which no append completed. */
  readonly longestGapMs: number;
  /** This (the bench) process's own event loop: a stall here would be the bench's, not the node's. */
  readonly benchEventLoopMaxMs: number;
  readonly samplesTruncated: boolean;
  readonly appendErrorSamples: readonly string[];
  /** Highest RSS seen by sampling every 50 ms during the read, per node. */
  readonly rssMaxDuringKiB: Readonly<Record<string, number>>;
  /** The serving node's VmHWM after the read: since a reset just before it where allowed. */
  readonly servingHwmAfterKiB: number | undefined;
  readonly hwmResetBeforeRead: boolean;
  readonly memoryAfter: readonly NodeMemory[];
}

function nodesOf(cluster: LocalCluster): NodeProcess[] {
  return [cluster.master, ...cluster.secondaries];
}

function memoryOf(nodes: readonly NodeProcess[]): NodeMemory[] {
  return nodes.map((node) => {
    const pid = node.pid;
    const memory: ProcessMemory | undefined = pid === undefined ? undefined : processMemory(pid);
    return { node: node.name, pid, rssKiB: memory?.rssKiB, hwmKiB: memory?.hwmKiB };
  });
}

/** log.lastId of a node's GET /health: the master's last id, a secondary's gap-free prefix. */
async function lastIdOf(origin: string, signal: AbortSignal): Promise<number> {
  const health = await new ReplicatedLogClient(origin).health({
    signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]),
  });
  return health.log.lastId;
}

async function post(
  client: Client,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ status: number; text: string | undefined }> {
  const response = await client.request({
    path: '/logs',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
  });
  if (response.statusCode >= 200 && response.statusCode < 300) {
    await response.body.dump({ limit: 16 * 1024 * 1024 });
    return { status: response.statusCode, text: undefined };
  }
  return { status: response.statusCode, text: await response.body.text() };
}

function batchBody(count: number, w: number | 'all'): string {
  return JSON.stringify({ messages: Array.from({ length: count }, () => MESSAGE), w });
}

const SINGLE_BODY = JSON.stringify({ message: MESSAGE, w: 'all' });

async function seed(origin: string, signal: AbortSignal): Promise<void> {
  const client = new Client(origin);
  try {
    const answer = await post(client, batchBody(SEED_ENTRIES, 'all'), REQUEST_TIMEOUT_MS, signal);
    if (answer.status !== 201) {
      throw new Error(`seeding the log: HTTP ${answer.status}: ${answer.text?.slice(0, 200)}`);
    }
  } finally {
    await client.destroy();
  }
}

async function singleAppends(cluster: LocalCluster, signal: AbortSignal): Promise<ScalingRun> {
  const logEntries = await lastIdOf(cluster.master.url, signal);
  const result = await runLoad({
    origin: cluster.master.url,
    path: '/logs',
    body: SINGLE_BODY,
    messagesPerRequest: 1,
    clients: 1,
    durationMs: SCALING_DURATION_MS,
    warmupMs: SCALING_WARMUP_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    signal,
  });
  // runLoad ends early on an abort and reports what it measured; this bench stops there.
  signal.throwIfAborted();
  return { logEntries, ...result };
}

/** Appends batches of FILL_BATCH (w=1, FILL_CONCURRENCY at once) until the log holds `target`. */
async function fill(
  cluster: LocalCluster,
  target: number,
  signal: AbortSignal,
): Promise<FillResult> {
  const startId = await lastIdOf(cluster.master.url, signal);
  const toAdd = Math.max(0, target - startId);
  const progress: FillProgress = {
    startId,
    toAdd,
    batches: Math.ceil(toAdd / FILL_BATCH),
    fullBody: batchBody(FILL_BATCH, 1),
    deadlineMs: performance.now() + 60_000 + toAdd * 0.3,
    startedMs: performance.now(),
    nextBatch: 0,
    requests: 0,
    retries: 0,
    added: 0,
    reportedTenths: 0,
  };
  await Promise.all(
    Array.from({ length: FILL_CONCURRENCY }, () =>
      fillWorker(cluster.master.url, progress, signal),
    ),
  );
  const ms = performance.now() - progress.startedMs;
  const lastId = await lastIdOf(cluster.master.url, signal);
  if (lastId !== target)
    throw new Error(`after the fill the master's last id is ${lastId}, not ${target}`);
  const catchUpMs = await waitForCatchUp(cluster, lastId, signal);
  return {
    entriesAdded: toAdd,
    requests: progress.requests,
    retries: progress.retries,
    ms,
    entriesPerS: ms > 0 ? (toAdd * 1000) / ms : 0,
    catchUpMs,
  };
}

/** One fill shared by its workers: they take the next batch from it and count into it. */
interface FillProgress {
  readonly startId: number;
  readonly toAdd: number;
  readonly batches: number;
  /** The body of every batch but a shorter last one, encoded once. */
  readonly fullBody: string;
  readonly deadlineMs: number;
  readonly startedMs: number;
  nextBatch: number;
  requests: number;
  retries: number;
  added: number;
  /** Tenths of the fill already reported on stderr. */
  reportedTenths: number;
}

/** One connection posting the fill's next batch until none is left. */
async function fillWorker(
  origin: string,
  progress: FillProgress,
  signal: AbortSignal,
): Promise<void> {
  const client = new Client(origin, {
    pipelining: 1,
    headersTimeout: FILL_REQUEST_TIMEOUT_MS,
    bodyTimeout: FILL_REQUEST_TIMEOUT_MS,
  });
  try {
    while (progress.nextBatch < progress.batches) {
      signal.throwIfAborted();
      if (performance.now() > progress.deadlineMs) {
        throw new Error(
          `the fill did not end in time: ${progress.added} of ${progress.toAdd} entries added`,
        );
      }
      const batch = progress.nextBatch++;
      const count = Math.min(FILL_BATCH, progress.toAdd - batch * FILL_BATCH);
      const body = count === FILL_BATCH ? progress.fullBody : batchBody(count, 1);
      await postFillBatch(client, body, progress, signal);
      progress.added += count;
      reportFillProgress(progress);
    }
  } finally {
    await client.destroy();
  }
}

/** Posts one batch until it is stored; a 503 (refused, nothing stored) is retried, boundedly. */
async function postFillBatch(
  client: Client,
  body: string,
  progress: FillProgress,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    progress.requests += 1;
    const answer = await post(client, body, FILL_REQUEST_TIMEOUT_MS, signal);
    if (answer.status === 201) return;
    // Refused and not stored (a bounded queue full, or no quorum for a moment): again.
    if (answer.status === 503 && progress.retries < FILL_MAX_RETRIES) {
      progress.retries += 1;
      await sleep(50, undefined, { signal });
      continue;
    }
    throw new Error(`fill batch: HTTP ${answer.status}: ${answer.text?.slice(0, 300)}`);
  }
}

/** A line on stderr at each tenth of the fill, so a long fill shows it is moving. */
function reportFillProgress(progress: FillProgress): void {
  const tenths = Math.floor((progress.added * 10) / progress.toAdd);
  if (tenths > progress.reportedTenths) {
    progress.reportedTenths = tenths;
    process.stderr.write(
      `  fill: ${formatCount(progress.startId + progress.added)} entries, ${formatCount((progress.added * 1000) / (performance.now() - progress.startedMs))}/s\n`,
    );
  }
}

/**
 * Replication was w=1: waits until the secondaries hold everything up to `lastId`, so that what
 * follows measures a cluster at rest, not its backlog. Returns how long that took.
 */
async function waitForCatchUp(
  cluster: LocalCluster,
  lastId: number,
  signal: AbortSignal,
): Promise<number> {
  const catchUpStarted = performance.now();
  for (;;) {
    const behind: string[] = [];
    for (const node of cluster.secondaries) {
      const id = await lastIdOf(node.url, signal);
      if (id < lastId) behind.push(`${node.name} at ${id}`);
    }
    if (behind.length === 0) break;
    if (performance.now() - catchUpStarted > CATCH_UP_TIMEOUT_MS) {
      throw new Error(
        `the secondaries did not catch up with ${lastId} entries in ${CATCH_UP_TIMEOUT_MS / 1000} s: ${behind.join(', ')}`,
      );
    }
    await sleep(100, undefined, { signal });
  }
  return performance.now() - catchUpStarted;
}

interface ClosedLoop {
  stop(): Promise<{ samples: Sample[]; truncated: boolean; errorSamples: string[] }>;
}

/** `clients` loops of single appends, each sending the next as soon as the last is answered. */
function startClosedLoop(origin: string, clients: number, signal: AbortSignal): ClosedLoop {
  const samples: Sample[] = [];
  const errorSamples = new Set<string>();
  const abort = new AbortController();
  const onAbort = (): void => {
    abort.abort(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const hardStopMs =
    performance.now() + STALL_WARMUP_MS + STALL_BASELINE_MS + READ_TIMEOUT_MS + STALL_TAIL_MS;
  let stopping = false;
  let truncated = false;
  const connections = Array.from(
    { length: clients },
    () =>
      new Client(origin, {
        pipelining: 1,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      }),
  );
  // A function, not the property read inline: it changes while the loop awaits.
  const aborted = (): boolean => abort.signal.aborted;
  const loop = async (client: Client): Promise<void> => {
    while (!stopping && !aborted() && performance.now() < hardStopMs) {
      if (samples.length >= MAX_SAMPLES) {
        truncated = true;
        return;
      }
      const sentAtMs = performance.now();
      let ok = false;
      let answered = true;
      try {
        const answer = await post(client, SINGLE_BODY, REQUEST_TIMEOUT_MS, abort.signal);
        ok = answer.status === 201;
        if (!ok && errorSamples.size < 5) {
          errorSamples.add(`HTTP ${answer.status}: ${answer.text?.slice(0, 200)}`);
        }
      } catch (error) {
        if (aborted()) return;
        answered = false;
        if (errorSamples.size < 5) errorSamples.add((error as Error).message);
      }
      samples.push({ sentAtMs, doneAtMs: performance.now(), ok });
      // No answer at all (refused, reset): no hot loop against a dead server.
      if (!answered) await sleep(10);
    }
  };
  const loops = Promise.all(connections.map(loop));
  return {
    stop: async () => {
      stopping = true;
      const drain = new AbortController();
      await Promise.race([loops, sleep(REQUEST_TIMEOUT_MS, undefined, { signal: drain.signal })]);
      drain.abort();
      abort.abort(new Error('stall load over'));
      await loops.catch(() => undefined);
      signal.removeEventListener('abort', onAbort);
      await Promise.allSettled(connections.map((client) => client.destroy()));
      return { samples, truncated, errorSamples: [...errorSamples] };
    },
  };
}

/** GET /logs without since or limit, read to the end; the body is kept for checking afterwards. */
interface FullRead {
  readonly startMs: number;
  readonly headersMs: number;
  readonly firstChunkMs: number;
  readonly endMs: number;
  readonly bytes: number;
  /** Parses and checks the body in the reader process; call once the measurement is over. */
  check(): Promise<LogCheck>;
}

/**
 * A full `GET /logs` by a reader process of its own (read-child.ts): holding 100+ MB here would
 * slow this process, and with it the appends that measure the node. Times are converted to this
 * process's `performance.now()`.
 */
async function fullRead(origin: string, signal: AbortSignal): Promise<FullRead> {
  const reader = spawn(process.execPath, [READ_CHILD, `${origin}/logs`], {
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    signal,
  });
  const { stdin, stdout, stderr: errors } = reader;
  if (stdin === null || stdout === null || errors === null) throw new Error('reader has no pipes');
  const lines = createInterface({ input: stdout })[Symbol.asyncIterator]();
  let stderr = '';
  errors.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    reader.once('close', () => {
      resolve();
    });
  });
  const nextLine = async (): Promise<string> => {
    const next = await lines.next();
    if (next.done === true) {
      await exited;
      throw new Error(
        `GET ${origin}/logs failed in the reader process: ${stderr.trim() || `exit ${reader.exitCode ?? '?'}`}`,
      );
    }
    return next.value;
  };
  const timings = JSON.parse(await nextLine()) as ReadTimings;
  const local = (atMs: number): number => atMs - performance.timeOrigin;
  return {
    startMs: local(timings.startAtMs),
    headersMs: local(timings.headersAtMs),
    firstChunkMs: local(timings.firstChunkAtMs),
    endMs: local(timings.endAtMs),
    bytes: timings.bytes,
    check: async () => {
      stdin.write('check\n');
      const check = JSON.parse(await nextLine()) as LogCheck;
      await exited;
      return check;
    },
  };
}

/** Reads the whole log from `target` while STALL_CLIENTS clients append to the master. */
async function readUnderLoad(
  cluster: LocalCluster,
  target: NodeProcess,
  signal: AbortSignal,
): Promise<ReadUnderLoad> {
  const logEntriesAtStart = await lastIdOf(target.url, signal);
  const nodes = nodesOf(cluster);
  const load = startClosedLoop(cluster.master.url, STALL_CLIENTS, signal);
  const loadStartMs = performance.now();
  let stopped: Awaited<ReturnType<ClosedLoop['stop']>> | undefined;
  const rssMax: Record<string, number> = {};
  const sampleRss = (): void => {
    for (const memory of memoryOf(nodes)) {
      if (memory.rssKiB !== undefined)
        rssMax[memory.node] = Math.max(rssMax[memory.node] ?? 0, memory.rssKiB);
    }
  };
  const eventLoop = monitorEventLoopDelay({ resolution: 10 });
  let sampler: NodeJS.Timeout | undefined;
  try {
    await sleep(STALL_WARMUP_MS + STALL_BASELINE_MS, undefined, { signal });
    const pid = target.pid;
    const hwmReset = pid !== undefined && resetPeakMemory(pid);
    sampleRss();
    sampler = setInterval(sampleRss, RSS_SAMPLE_MS);
    eventLoop.enable();
    const read = await fullRead(target.url, signal);
    eventLoop.disable();
    clearInterval(sampler);
    sampleRss();
    const servingHwmAfterKiB = pid === undefined ? undefined : processMemory(pid)?.hwmKiB;
    await sleep(STALL_TAIL_MS, undefined, { signal });
    stopped = await load.stop();
    const appends = appendsAround(stopped.samples, loadStartMs + STALL_WARMUP_MS, read);
    const memoryAfter = memoryOf(nodes);
    // Parsed only now, with the appends stopped.
    const check = await read.check();
    const totalMs = read.endMs - read.startMs;
    return {
      node: target.name,
      logEntriesAtStart,
      bytes: read.bytes,
      ttfbMs: read.headersMs - read.startMs,
      firstChunkMs: read.firstChunkMs - read.startMs,
      totalMs,
      mbPerS: totalMs > 0 ? read.bytes / 1e6 / (totalMs / 1000) : 0,
      check,
      appendsBefore: appends.before,
      appendsDuring: appends.during,
      longestGapMs: appends.longestGapMs,
      benchEventLoopMaxMs: eventLoop.max / 1e6,
      samplesTruncated: stopped.truncated,
      appendErrorSamples: stopped.errorSamples,
      rssMaxDuringKiB: rssMax,
      servingHwmAfterKiB,
      hwmResetBeforeRead: hwmReset,
      memoryAfter,
    };
  } finally {
    eventLoop.disable();
    if (sampler !== undefined) clearInterval(sampler);
    if (stopped === undefined) await load.stop();
  }
}

/** The appends' latencies around a read, and the longest time during it with none answered. */
interface AppendsAroundRead {
  /** Completed between the end of the warm-up and the start of the read. */
  readonly before: LatencyStats;
  /** In flight at any time during the read. */
  readonly during: LatencyStats;
  readonly longestGapMs: number;
}

function appendsAround(
  samples: readonly Sample[],
  warmedUpMs: number,
  read: FullRead,
): AppendsAroundRead {
  const before = latencyStats(
    samples,
    (s) => s.doneAtMs >= warmedUpMs && s.doneAtMs <= read.startMs,
  );
  const during = latencyStats(samples, (s) => s.sentAtMs < read.endMs && s.doneAtMs > read.startMs);
  const doneTimes = samples.filter((s) => s.ok).map((s) => s.doneAtMs);
  // A stall that outlasts the read ends at the first append answered after it.
  let gapEndMs = read.endMs + STALL_TAIL_MS;
  for (const at of doneTimes) if (at >= read.endMs && at < gapEndMs) gapEndMs = at;
  return { before, during, longestGapMs: longestGapMs(doneTimes, read.startMs, gapEndMs) };
}

function scalingTable(empty: ScalingRun, full: ScalingRun): string {
  const row = (run: ScalingRun): string[] => [
    formatCount(run.logEntries),
    formatCount(run.throughput),
    formatMs(run.p50Ms),
    formatMs(run.p99Ms),
    formatMs(run.maxMs),
    String(run.errors),
  ];
  return formatTable(
    ['log entries', 'appends/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'],
    [
      row(empty),
      row(full),
      [
        'ratio (full/empty)',
        formatRatio(full.throughput, empty.throughput),
        formatRatio(full.p50Ms, empty.p50Ms),
        formatRatio(full.p99Ms, empty.p99Ms),
        formatRatio(full.maxMs, empty.maxMs),
        '',
      ],
    ],
  );
}

function memoryTable(before: readonly NodeMemory[], after: readonly NodeMemory[]): string {
  return formatTable(
    ['node', 'RSS MiB', 'peak (VmHWM) MiB', 'RSS before fill MiB'],
    after.map((memory) => [
      memory.node,
      formatMiB(memory.rssKiB),
      formatMiB(memory.hwmKiB),
      formatMiB(before.find((b) => b.node === memory.node)?.rssKiB),
    ]),
  );
}

function readTable(reads: readonly ReadUnderLoad[]): string {
  return formatTable(
    ['GET /logs from', 'entries', 'MB', 'TTFB ms', 'read ms', 'MB/s', 'RSS peak MiB', 'body'],
    reads.map((read) => [
      read.node,
      read.check.entries === undefined ? '?' : formatCount(read.check.entries),
      (read.bytes / 1e6).toFixed(1),
      formatMs(read.ttfbMs),
      formatMs(read.totalMs),
      read.mbPerS.toFixed(0),
      formatMiB(Math.max(read.rssMaxDuringKiB[read.node] ?? 0, read.servingHwmAfterKiB ?? 0)),
      read.check.problem ?? (read.check.parsed ? 'ok' : '[...] only'),
    ]),
  );
}

function stallTable(reads: readonly ReadUnderLoad[]): string {
  return formatTable(
    [
      'appends while reading',
      'before: n',
      'p50 ms',
      'p99 ms',
      'max ms',
      'during: n',
      'p50 ms',
      'p99 ms',
      'max ms',
      'no answer for ms',
      'errors',
    ],
    reads.map((read) => [
      `${read.node} (${STALL_CLIENTS} clients, w=all)`,
      formatCount(read.appendsBefore.count),
      formatMs(read.appendsBefore.p50Ms),
      formatMs(read.appendsBefore.p99Ms),
      formatMs(read.appendsBefore.maxMs),
      formatCount(read.appendsDuring.count),
      formatMs(read.appendsDuring.p50Ms),
      formatMs(read.appendsDuring.p99Ms),
      formatMs(read.appendsDuring.maxMs),
      formatMs(read.longestGapMs),
      String(read.appendsBefore.errors + read.appendsDuring.errors),
    ]),
  );
}

async function measure(options: MemoryOptions, signal: AbortSignal): Promise<number> {
  const startedAt = new Date();
  const loadAvgStart = os.loadavg();
  process.stderr.write(
    `bench:memory: ${formatCount(options.entries)} entries of ${MESSAGE_BYTES} bytes, ` +
      `${os.cpus().length} CPUs, load average ${loadAvgStart.map((v) => v.toFixed(2)).join(' ')}\n`,
  );
  const cluster = await startBenchCluster({ ports: PORTS, secondaries: SECONDARY_COUNT, signal });
  try {
    const measured = await measureCluster(cluster, options.entries, signal);
    await cluster.stop();

    const clock: RunClock = {
      startedAt,
      finishedAt: new Date(),
      loadAvgStart,
      loadAvgEnd: os.loadavg(),
    };
    const out = reportLines(options, clock, measured);
    const report = resultsReport(options, clock, measured);
    const paths = writeResults('memory', startedAt, `${JSON.stringify(report, null, 2)}\n`);
    out.push(`results: ${paths.join(', ')}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return wentWrong(measured) ? 1 : 0;
  } finally {
    await cluster.stop();
  }
}

/** Everything one run measured, and what the nodes said meanwhile. */
interface Measured {
  /** Single appends on the seeded log, then on the filled one. */
  readonly empty: ScalingRun;
  readonly full: ScalingRun;
  readonly filled: FillResult;
  readonly memoryBeforeFill: readonly NodeMemory[];
  readonly memoryAfterFill: readonly NodeMemory[];
  /** The full read from the master, then from a secondary. */
  readonly reads: readonly ReadUnderLoad[];
  /** Nodes that exited during the run. */
  readonly exits: readonly string[];
  /** Each node's last warnings (LOG_LEVEL=warn), a few lines at most. */
  readonly warnings: readonly string[];
}

/** When the run started and ended, and the machine's load average then. */
interface RunClock {
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly loadAvgStart: number[];
  readonly loadAvgEnd: number[];
}

/** The bench's steps on a started cluster, in order: scaling, fill, scaling again, the reads. */
async function measureCluster(
  cluster: LocalCluster,
  entries: number,
  signal: AbortSignal,
): Promise<Measured> {
  const nodes = nodesOf(cluster);
  await seed(cluster.master.url, signal);
  process.stderr.write(`  single appends on a log of ${SEED_ENTRIES} entries...\n`);
  const empty = await singleAppends(cluster, signal);
  const memoryBeforeFill = memoryOf(nodes);
  process.stderr.write(`  filling the log to ${formatCount(entries)} entries...\n`);
  const filled = await fill(cluster, entries, signal);
  const memoryAfterFill = memoryOf(nodes);
  process.stderr.write(`  single appends on a log of ${formatCount(entries)} entries...\n`);
  const full = await singleAppends(cluster, signal);
  const reads: ReadUnderLoad[] = [];
  for (const target of [cluster.master, cluster.secondaries[0]!]) {
    process.stderr.write(`  full GET /logs from ${target.name} under load...\n`);
    reads.push(await readUnderLoad(cluster, target, signal));
  }
  const exits = cluster.nodes
    .filter((child) => !child.running)
    .map((child) => `${child.name} exited (${child.exitText ?? '?'})`);
  const warnings = cluster.nodes.flatMap((child) =>
    child
      .linesSince(child.lineCount - 30)
      .slice(0, 5)
      .map((line) => `${child.name}: ${line.slice(0, 300)}`),
  );
  return { empty, full, filled, memoryBeforeFill, memoryAfterFill, reads, exits, warnings };
}

/** The report printed on stdout: the tables and what they mean, then anything that went wrong. */
function reportLines(options: MemoryOptions, clock: RunClock, measured: Measured): string[] {
  const { empty, full, filled, reads } = measured;
  const masterAfter = measured.memoryAfterFill.find((m) => m.node === 'master');
  const out: string[] = [
    '',
    `replicated-log memory bench, ${clock.finishedAt.toISOString()}: ${formatCount(options.entries)} entries of ${MESSAGE_BYTES} bytes, ` +
      `${1 + SECONDARY_COUNT} in-memory nodes on ${HOST}`,
    `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ` +
      `load average ${clock.loadAvgStart[0]?.toFixed(2) ?? '?'} at start, ${clock.loadAvgEnd[0]?.toFixed(2) ?? '?'} at end`,
    '',
    `Scaling: single appends, 1 client, w=all, ${SCALING_DURATION_MS / 1000} s each (after ${SCALING_WARMUP_MS / 1000} s warm-up)`,
    scalingTable(empty, full),
    '',
    `Fill: ${formatCount(filled.entriesAdded)} entries in batches of ${FILL_BATCH}, w=1, ${FILL_CONCURRENCY} requests at once: ` +
      `${(filled.ms / 1000).toFixed(1)} s, ${formatCount(filled.entriesPerS)} entries/s` +
      `${filled.retries > 0 ? `, ${filled.retries} retries` : ''}; secondaries caught up ${formatMs(filled.catchUpMs)} ms later`,
    '',
    `Memory after the fill (target: master < 400 MB with 1,000,000 entries; master has ` +
      `${formatMiB(masterAfter?.rssKiB)} MiB = ${masterAfter?.rssKiB === undefined ? '?' : ((masterAfter.rssKiB * 1024) / 1e6).toFixed(0)} MB)`,
    memoryTable(measured.memoryBeforeFill, measured.memoryAfterFill),
    '',
    `Full GET /logs (no since/limit), read to the end with undici, while ${STALL_CLIENTS} clients append single messages (w=all) to the master`,
    readTable(reads),
    '',
    stallTable(reads),
    '',
    `"before": appends completed in the ${STALL_BASELINE_MS / 1000} s before the read; "during": appends in flight at any time during it;`,
    '"no answer for": the longest time during the read in which no append completed (target: no append stalls > 100 ms).',
    `RSS peak: the serving node's highest RSS during the read (sampled every ${RSS_SAMPLE_MS} ms, and VmHWM` +
      `${reads.every((r) => r.hwmResetBeforeRead) ? ' reset just before the read' : ' since the process started: reset not allowed here'}).`,
    `This process's own event loop lagged at most ${reads.map((r) => `${formatMs(r.benchEventLoopMaxMs)} ms (${r.node})`).join(', ')} during the reads.`,
  ];
  for (const read of reads) {
    if (read.samplesTruncated) out.push(`${read.node}: append samples truncated at ${MAX_SAMPLES}`);
    for (const sample of read.appendErrorSamples) out.push(`${read.node}: append error: ${sample}`);
  }
  for (const exit of measured.exits) out.push(exit);
  if (measured.warnings.length > 0)
    out.push('node log lines (LOG_LEVEL=warn):', ...measured.warnings.map((w) => `  ${w}`));
  return out;
}

/** The results file (replicated-log-memory/1): the run's settings and everything measured. */
function resultsReport(options: MemoryOptions, clock: RunClock, measured: Measured): object {
  const { empty, full } = measured;
  return {
    schema: 'replicated-log-memory/1',
    startedAt: clock.startedAt.toISOString(),
    finishedAt: clock.finishedAt.toISOString(),
    ...gitCommit(),
    environment: environment(clock.loadAvgStart, clock.loadAvgEnd),
    options: {
      entries: options.entries,
      quick: options.quick,
      messageBytes: MESSAGE_BYTES,
      nodes: 1 + SECONDARY_COUNT,
      seedEntries: SEED_ENTRIES,
      scalingDurationMs: SCALING_DURATION_MS,
      scalingWarmupMs: SCALING_WARMUP_MS,
      fillBatch: FILL_BATCH,
      fillConcurrency: FILL_CONCURRENCY,
      stallClients: STALL_CLIENTS,
      stallBaselineMs: STALL_BASELINE_MS,
    },
    results: {
      scaling: {
        empty,
        full,
        ratios: {
          throughput: full.throughput / empty.throughput,
          p50: full.p50Ms / empty.p50Ms,
          p99: full.p99Ms / empty.p99Ms,
        },
      },
      fill: measured.filled,
      memoryBeforeFill: measured.memoryBeforeFill,
      memoryAfterFill: measured.memoryAfterFill,
      reads: measured.reads,
      exits: measured.exits,
      nodeLogSamples: measured.warnings,
    },
  };
}

/** Exit code 1: a node exited, an append failed, or a read's body did not check out. */
function wentWrong(measured: Measured): boolean {
  return (
    measured.exits.length > 0 ||
    measured.empty.errors + measured.full.errors > 0 ||
    measured.reads.some(
      (read) =>
        read.check.problem !== undefined ||
        read.appendsBefore.errors + read.appendsDuring.errors > 0,
    )
  );
}

runBenchTool(
  {
    name: 'bench:memory',
    usage: MEMORY_USAGE,
    parse: parseMemoryOptions,
    budgetMs: (options) =>
      3 * 15_000 +
      2 * (SCALING_WARMUP_MS + SCALING_DURATION_MS + REQUEST_TIMEOUT_MS) +
      60_000 +
      options.entries * 0.3 +
      CATCH_UP_TIMEOUT_MS +
      2 *
        (STALL_WARMUP_MS +
          STALL_BASELINE_MS +
          READ_TIMEOUT_MS +
          STALL_TAIL_MS +
          2 * REQUEST_TIMEOUT_MS +
          30_000) +
      60_000,
    run: measure,
  },
  process.argv.slice(2),
);
