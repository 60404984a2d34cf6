/**
 * `npm run bench`: starts a no-op HTTP server, then for each run a fresh server to measure — our
 * cluster (master + 2 secondaries) on a fixed master or with failover, and, where installed, the
 * anchors Redis (1 master + 2 replicas, XADD + WAIT) and etcd (3 members, a put per append) — and
 * drives each with the same closed-loop generator at each client count. Prints appends/s and
 * latency percentiles, each also as a ratio to the no-op server measured in the same run, then
 * issue 15's targets as ratios measured in that run: absolute figures drift with whatever else
 * the machine is doing, the ratios much less.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment, formatCount, formatMs, gitCommit, writeResults } from './bench-results.js';
import { NodeProcess } from '../launcher/node-process.js';
import { freePortsIn } from '../launcher/ports.js';
import { HEALTH_TIMEOUT_MS, HOST, type PortRange } from './bench-cluster.js';
import {
  ANCHOR_IDS,
  parseOptions,
  PRIME_CLIENTS,
  USAGE,
  type BenchOptions,
} from './bench-options.js';
import {
  BATCH_SIZE,
  MESSAGE_BYTES,
  NOOP,
  NOOP_BATCH,
  requestBody,
  scenarioById,
  type Scenario,
  type WriteConcern,
} from './bench-scenarios.js';
import { startServer, type RunServer, type Watched } from './bench-servers.js';
import { runLoad, type LoadResult } from './load-generator.js';
import { runBenchTool } from './bench-tool.js';
import { processCpuMs } from './process-cpu.js';
import { summarizeRounds, type RoundSummary } from './rounds.js';
import { evaluate, formatTargets, issue15Targets, type TargetResult } from './targets.js';

/** The bench keeps to its own port range, clear of the nodes' defaults (8000...). */
const PORTS: PortRange = { min: 9100, max: 9199 };
const SECONDARY_COUNT = 2;
const REQUEST_TIMEOUT_MS = 10_000;
/** Every run may also spend this on starting and stopping its servers; used for the time budget. */
const RUN_OVERHEAD_MS = 2 * HEALTH_TIMEOUT_MS;
const GENERATOR_WARMUP_MS = 1000;
/** Typical time to start fresh servers and stop them again, for the announced run time. */
const START_STOP_MS: Readonly<Record<Scenario['server'], number>> = {
  noop: 0,
  cluster: 1800,
  failover: 3000,
  redis: 1000,
  etcd: 2500,
};

const NOOP_ENTRY = fileURLToPath(new URL('./noop-server.js', import.meta.url));

interface Ratios {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

/** What one process used of the machine's cores during a run's measured seconds. */
interface CpuShare {
  readonly process: string;
  /** CPU seconds per second: 1 is one core kept busy the whole time. */
  readonly cores: number;
  /** CPU time per request answered. */
  readonly usPerRequest: number;
}

interface RunRecord extends LoadResult {
  readonly scenario: string;
  readonly label: string;
  /** Which round of `--repeat` it belongs to, from 1. */
  readonly round: number;
  readonly target: Scenario['server'];
  readonly w: WriteConcern;
  readonly messagesPerRequest: number;
  /** The no-op run this one is compared with (absent for the no-op runs themselves). */
  readonly baseline?: string;
  readonly vsNoop?: Ratios;
  /** Log lines the nodes wrote during the run (LOG_LEVEL=warn: warnings and errors only). */
  readonly nodeLogLines: number;
  /** The first of those lines (node name and message), so that a warning is never anonymous. */
  readonly nodeLogSamples: readonly string[];
  readonly notes: readonly string[];
  /** The generator (this process) and each server process; empty where /proc is missing. */
  readonly cpu: readonly CpuShare[];
}

/** Where the children of the current run write CPU profiles (`--cpu-prof`), if anywhere. */
let cpuProfileRunDir: string | undefined;

/** Node options for a child named `name`: a CPU profile into the current run's directory. */
function profileArgs(name: string): string[] {
  return cpuProfileRunDir === undefined
    ? []
    : ['--cpu-prof', '--cpu-prof-dir', cpuProfileRunDir, '--cpu-prof-name', `${name}.cpuprofile`];
}

interface CpuSample {
  readonly atMs: number;
  readonly byProcess: ReadonlyMap<string, number>;
}

/** CPU time used so far by the generator (this process) and by each child, in ms. */
function sampleCpu(watched: readonly Watched[]): CpuSample {
  const byProcess = new Map<string, number>();
  const own = process.cpuUsage();
  byProcess.set('generator', (own.user + own.system) / 1000);
  for (const child of watched) {
    const pid = child.pid;
    const ms = pid === undefined ? undefined : processCpuMs(pid);
    if (ms !== undefined) byProcess.set(child.name, ms);
  }
  return { atMs: performance.now(), byProcess };
}

function cpuShares(start: CpuSample, end: CpuSample, requests: number): CpuShare[] {
  const wallMs = end.atMs - start.atMs;
  if (wallMs <= 0) return [];
  const shares: CpuShare[] = [];
  for (const [name, endMs] of end.byProcess) {
    const startMs = start.byProcess.get(name);
    if (startMs === undefined) continue;
    const usedMs = endMs - startMs;
    shares.push({
      process: name,
      cores: usedMs / wallMs,
      usPerRequest: requests > 0 ? (usedMs * 1000) / requests : 0,
    });
  }
  return shares;
}

async function startNoop(signal: AbortSignal): Promise<{ child: NodeProcess; origin: string }> {
  const [port] = await freePortsIn(PORTS, 1, HOST);
  const child = new NodeProcess({
    name: 'no-op',
    script: NOOP_ENTRY,
    port: port!,
    nodeArgs: profileArgs('no-op'),
  });
  await child.start(HEALTH_TIMEOUT_MS, signal);
  return { child, origin: child.url };
}

function ratio(value: number, baseline: number): number {
  return baseline > 0 ? value / baseline : 0;
}

function compare(result: LoadResult, baseline: LoadResult): Ratios {
  return {
    throughput: ratio(result.throughput, baseline.throughput),
    p50: ratio(result.p50Ms, baseline.p50Ms),
    p99: ratio(result.p99Ms, baseline.p99Ms),
    p999: ratio(result.p999Ms, baseline.p999Ms),
  };
}

function formatRatio(value: number | undefined): string {
  return value === undefined || value === 0
    ? ''
    : `x${value < 10 ? value.toFixed(2) : value.toFixed(1)}`;
}

function table(rows: readonly RoundSummary[], withRange: boolean): string {
  const header = [
    'scenario',
    'clients',
    'appends/s',
    'vs no-op',
    ...(withRange ? ['range'] : []),
    'p50 ms',
    'vs',
    'p99 ms',
    'vs',
    'p99.9 ms',
    'vs',
    'errors',
  ];
  const cells = rows.map((row) => [
    row.label,
    String(row.clients),
    formatCount(row.throughput),
    formatRatio(row.vsNoop?.throughput),
    ...(withRange
      ? [
          row.throughputRatioRange === undefined
            ? ''
            : `${row.throughputRatioRange[0].toFixed(2)}-${row.throughputRatioRange[1].toFixed(2)}`,
        ]
      : []),
    formatMs(row.p50Ms),
    formatRatio(row.vsNoop?.p50),
    formatMs(row.p99Ms),
    formatRatio(row.vsNoop?.p99),
    formatMs(row.p999Ms),
    formatRatio(row.vsNoop?.p999),
    String(row.errors),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => row[column]!.length)),
  );
  const line = (texts: readonly string[]): string =>
    texts
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  const out = [line(header), line(widths.map((width) => '-'.repeat(width)))];
  let previousClients: number | undefined;
  for (const [index, row] of cells.entries()) {
    const clients = rows[index]!.clients;
    // A blank line between client counts: each block shares one no-op baseline.
    if (previousClients !== undefined && clients !== previousClients) out.push('');
    previousClients = clients;
    out.push(line(row));
  }
  return out.join('\n');
}

/** Where the cores went in each run: CPU per process, as cores kept busy and µs per request. */
function cpuTable(records: readonly RunRecord[]): string | undefined {
  const measured = records.filter((record) => record.cpu.length > 0);
  if (measured.length === 0) return undefined;
  const lines = measured.map((record) => {
    const total = record.cpu.reduce((sum, share) => sum + share.cores, 0);
    const parts = record.cpu.map(
      (share) =>
        `${share.process} ${share.cores.toFixed(2)} (${Math.round(share.usPerRequest)} µs)`,
    );
    const round =
      record.round > 1 || records.some((other) => other.round > 1) ? ` r${record.round}` : '';
    return `${`${record.label} ${record.clients}c${round}`.padEnd(27)} ${total.toFixed(2)} cores: ${parts.join(', ')}`;
  });
  return [
    'CPU during the measured seconds, cores busy (CPU µs per request), from /proc:',
    ...lines,
  ].join('\n');
}

function baselinesFor(scenarios: readonly Scenario[]): Scenario[] {
  return scenarios.some((scenario) => scenario.messagesPerRequest > 1)
    ? [NOOP, NOOP_BATCH]
    : [NOOP];
}

/** Says what the bench will do and about how long it will take, and which anchors it skips. */
function announce(options: BenchOptions): void {
  const perClients = [...baselinesFor(options.scenarios), ...options.scenarios];
  const rounds = options.repeat * options.clients.length;
  const runCount = rounds * perClients.length;
  const runMs = (options.warmupS + options.durationS) * 1000;
  const primed = options.clients.filter((clients) => primes(options, clients)).length;
  const primeMs = options.repeat * primed * perClients.length * options.primeS * 1000;
  const startStopMs = perClients.reduce((sum, scenario) => sum + START_STOP_MS[scenario.server], 0);
  const estimatedMs =
    GENERATOR_WARMUP_MS + runCount * runMs + primeMs + rounds * startStopMs + 1000;
  const loadAvg = os.loadavg();
  const primeText =
    primed === 0
      ? ''
      : ` (below ${PRIME_CLIENTS} clients after ${options.primeS} s at ${PRIME_CLIENTS})`;
  process.stderr.write(
    `bench: ${runCount} runs of ${options.warmupS} s warm-up + ${options.durationS} s${primeText}, ` +
      `${MESSAGE_BYTES}-byte messages, mode ${options.mode}, Node ${process.version}, ${os.cpus().length} CPUs, load average ${loadAvg.map((v) => v.toFixed(2)).join(' ')}; ` +
      `about ${Math.ceil(estimatedMs / 1000)} s\n`,
  );
  for (const note of options.skipped) process.stderr.write(`bench: ${note}\n`);
}

interface RunContext {
  readonly options: BenchOptions;
  readonly signal: AbortSignal;
  readonly noop: NodeProcess;
  readonly runNo: number;
  readonly runCount: number;
  readonly round: number;
  readonly clients: number;
}

/** Whether a run at `clients` starts with the burst (`--prime-s`). */
function primes(options: BenchOptions, clients: number): boolean {
  return options.primeS > 0 && clients < PRIME_CLIENTS;
}

/**
 * A burst at PRIME_CLIENTS before a run with fewer clients, not counted. A fresh node at one
 * client sees ~600 requests in a second of warm-up, and V8 was still compiling its hot functions
 * seconds later: its p50 fell from 1.46 to 0.85 ms over the first 10,000 requests. Every server
 * (ours, the no-op, the anchors) gets the same burst.
 */
async function prime(server: RunServer, scenario: Scenario, context: RunContext): Promise<void> {
  const { options } = context;
  if (!primes(options, context.clients)) return;
  await runLoad({
    ...server.target,
    messagesPerRequest: scenario.messagesPerRequest,
    clients: PRIME_CLIENTS,
    durationMs: options.primeS * 1000,
    warmupMs: 0,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    signal: context.signal,
  });
}

/** CPU is sampled over the measured seconds only, as the generator counts them. */
async function measure(
  server: RunServer,
  scenario: Scenario,
  context: RunContext,
): Promise<{ result: LoadResult; cpu: CpuShare[] }> {
  const { options } = context;
  await prime(server, scenario, context);
  const samples: { start?: CpuSample } = {};
  const timer = setTimeout(() => {
    samples.start = sampleCpu(server.watched);
  }, options.warmupS * 1000);
  try {
    const result = await runLoad({
      ...server.target,
      messagesPerRequest: scenario.messagesPerRequest,
      clients: context.clients,
      durationMs: options.durationS * 1000,
      warmupMs: options.warmupS * 1000,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      signal: context.signal,
    });
    const end = sampleCpu(server.watched);
    const cpu = samples.start === undefined ? [] : cpuShares(samples.start, end, result.requests);
    return { result, cpu };
  } finally {
    clearTimeout(timer);
  }
}

/** One run: a fresh server (but the shared no-op), the load, the server stopped; its record. */
async function runOne(
  scenario: Scenario,
  context: RunContext,
  baselines: ReadonlyMap<string, LoadResult>,
): Promise<RunRecord> {
  const { options, signal, clients, round } = context;
  if (scenario.server !== 'noop')
    cpuProfileRunDir = profileDir(options, `${context.runNo}-${scenario.id}-${clients}c-r${round}`);
  const server = await startServer(scenario, {
    ports: PORTS,
    taken: [context.noop.port],
    signal,
    nodeEnv: options.nodeEnv,
    nodeArgs: profileArgs,
    noop: context.noop,
  });
  const linesBefore = new Map(server.nodes.map((node) => [node, node.lineCount]));
  const notes: string[] = [];
  let measured: { result: LoadResult; cpu: CpuShare[] };
  try {
    measured = await measure(server, scenario, context);
    for (const child of server.watched) {
      if (!child.running) notes.push(`${child.name} exited (${child.exitText ?? '?'})`);
    }
  } finally {
    await server.stop();
  }
  signal.throwIfAborted();
  if (!context.noop.running) throw new Error(context.noop.report());
  const nodeLines = server.nodes.flatMap((node) =>
    node.linesSince(linesBefore.get(node) ?? 0).map((line) => `${node.name}: ${line}`),
  );
  const baselineId = scenario.messagesPerRequest > 1 ? NOOP_BATCH.id : NOOP.id;
  const baseline = scenario.server === 'noop' ? undefined : baselines.get(baselineId);
  const { result, cpu } = measured;
  return {
    scenario: scenario.id,
    label: scenario.label,
    round,
    target: scenario.server,
    w: scenario.w,
    messagesPerRequest: scenario.messagesPerRequest,
    ...result,
    ...(baseline === undefined ? {} : { baseline: baselineId, vsNoop: compare(result, baseline) }),
    nodeLogLines: server.nodes.reduce(
      (sum, node) => sum + node.lineCount - (linesBefore.get(node) ?? 0),
      0,
    ),
    nodeLogSamples: nodeLines.slice(0, 5),
    notes,
    cpu,
  };
}

function profileDir(options: BenchOptions, run: string): string | undefined {
  if (options.cpuProfileDir === undefined) return undefined;
  const dir = join(options.cpuProfileDir, run);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every round and client count: the baselines first, measured close in time to the rest. */
async function runAll(
  options: BenchOptions,
  signal: AbortSignal,
  noop: NodeProcess,
): Promise<RunRecord[]> {
  const perClients = [...baselinesFor(options.scenarios), ...options.scenarios];
  const runCount = options.repeat * options.clients.length * perClients.length;
  const records: RunRecord[] = [];
  for (let round = 1; round <= options.repeat; round++) {
    for (const clients of options.clients) {
      const baselines = new Map<string, LoadResult>();
      for (const scenario of perClients) {
        signal.throwIfAborted();
        const context = {
          options,
          signal,
          noop,
          runNo: records.length + 1,
          runCount,
          round,
          clients,
        };
        const record = await runOne(scenario, context, baselines);
        if (scenario.server === 'noop') baselines.set(scenario.id, record);
        records.push(record);
        progress(record, context);
      }
    }
  }
  return records;
}

function progress(record: RunRecord, context: RunContext): void {
  const width = String(context.runCount).length;
  process.stderr.write(
    `  [${String(context.runNo).padStart(width)}/${context.runCount}] ${record.label.padEnd(24)} ` +
      `${String(record.clients).padStart(3)} clients: ${formatCount(record.throughput)} appends/s, ` +
      `p99 ${formatMs(record.p99Ms)} ms, ${record.errors} errors\n`,
  );
  for (const sample of record.errorSamples) process.stderr.write(`        error: ${sample}\n`);
  for (const note of record.notes) process.stderr.write(`        ${note}\n`);
}

/** Issue 15's targets for each mode measured, from the table's rows (medians over the rounds). */
function targetsOf(options: BenchOptions, summaries: readonly RoundSummary[]): TargetResult[] {
  const byKey = new Map(summaries.map((row) => [`${row.label}\u0000${row.clients}`, row]));
  const find = (id: string, clients: number): RoundSummary | undefined => {
    const scenario = scenarioById(id);
    return scenario === undefined ? undefined : byKey.get(`${scenario.label}\u0000${clients}`);
  };
  const labelOf = (id: string): string => scenarioById(id)?.label ?? id;
  const prefixes =
    options.mode === 'both' ? ['', 'fo-'] : options.mode === 'fixed' ? [''] : ['fo-'];
  return prefixes.flatMap((prefix) => evaluate(issue15Targets(prefix, labelOf), find));
}

function printTargets(results: readonly TargetResult[], skipped: readonly string[]): void {
  process.stdout.write(
    `Issue 15's targets, as ratios of figures measured in this run (medians over the rounds):\n${formatTargets(results)}\n`,
  );
  for (const note of skipped) process.stdout.write(`(${note})\n`);
  process.stdout.write('\n');
}

function printHeader(
  options: BenchOptions,
  loadAvgStart: readonly number[],
  finishedAt: Date,
): void {
  const loadAvgEnd = os.loadavg();
  process.stdout.write(
    `\nreplicated-log bench, ${finishedAt.toISOString()}: ${options.durationS} s per run after ${options.warmupS} s warm-up` +
      `${options.primeS > 0 ? ` (runs below ${PRIME_CLIENTS} clients after ${options.primeS} s at ${PRIME_CLIENTS}, not counted)` : ''}, ` +
      `${MESSAGE_BYTES}-byte messages, 3 nodes on ${HOST} (mode ${options.mode}: fixed master in memory, ` +
      `failover "fo" rows on disk), anchors ${ANCHOR_IDS.filter((id) => options.scenarios.some((s) => s.id === id)).join(', ') || 'none'}\n` +
      `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ` +
      `load average ${loadAvgStart[0]?.toFixed(2) ?? '?'} at start, ${loadAvgEnd[0]?.toFixed(2) ?? '?'} at end\n\n`,
  );
}

function printLegend(records: readonly RunRecord[]): void {
  process.stdout.write(
    'appends/s counts messages (100 per request for batch). "vs" is the ratio to the no-op server at\n' +
      'the same client count with the same body (batch against "no-op batch"): for appends/s higher\n' +
      'is better (1.0 = as fast as a server that does nothing), for latencies lower is better.\n' +
      'redis: XADD + WAIT n 0 pipelined on one connection per client; etcd: a put through its JSON\n' +
      'gateway to the leader. The generator, the no-op server and the servers share this machine:\n' +
      'compare ratios across runs, not absolute figures.\n',
  );
  const logged = records.filter((record) => record.nodeLogLines > 0);
  if (logged.length === 0) return;
  process.stdout.write(
    `nodes logged warnings during: ${logged.map((r) => `${r.label}/${r.clients} (${r.nodeLogLines} lines)`).join(', ')}\n`,
  );
  for (const record of logged) {
    for (const sample of record.nodeLogSamples) process.stdout.write(`  ${sample.slice(0, 300)}\n`);
  }
}

async function bench(options: BenchOptions, signal: AbortSignal): Promise<number> {
  const startedAt = new Date();
  const loadAvgStart = os.loadavg();
  announce(options);
  cpuProfileRunDir = profileDir(options, 'noop');
  const noop = await startNoop(signal);
  // The first run of a process would otherwise also warm up the generator itself (the JIT), and
  // that first run is the one-client baseline everything is divided by.
  await runLoad({
    origin: noop.origin,
    path: '/logs',
    body: requestBody(NOOP),
    messagesPerRequest: 1,
    clients: 4,
    durationMs: GENERATOR_WARMUP_MS,
    warmupMs: 0,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    signal,
  });
  const records = await runAll(options, signal, noop.child);
  await noop.child.stop();

  const finishedAt = new Date();
  printHeader(options, loadAvgStart, finishedAt);
  const summaries = summarizeRounds(records);
  if (options.repeat > 1) {
    process.stdout.write(
      `Medians of ${options.repeat} rounds; "range" is the lowest and highest appends/s ratio to the no-op server over the rounds.\n`,
    );
  }
  process.stdout.write(`${table(summaries, options.repeat > 1)}\n\n`);
  const targets = targetsOf(options, summaries);
  printTargets(targets, options.skipped);
  const cpuText = cpuTable(records);
  if (cpuText !== undefined) process.stdout.write(`${cpuText}\n\n`);
  printLegend(records);

  const report = {
    schema: 'replicated-log-bench/2',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    ...gitCommit(),
    environment: environment(loadAvgStart, os.loadavg()),
    options: {
      durationS: options.durationS,
      warmupS: options.warmupS,
      primeS: options.primeS,
      primeClients: PRIME_CLIENTS,
      clients: options.clients,
      scenarios: options.scenarios.map((scenario) => scenario.id),
      mode: options.mode,
      skippedAnchors: options.skipped,
      quick: options.quick,
      nodeEnv: options.nodeEnv,
      messageBytes: MESSAGE_BYTES,
      batchSize: BATCH_SIZE,
      nodes: 1 + SECONDARY_COUNT,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    },
    results: records,
    medians: summaries,
    targets,
  };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const paths = writeResults('bench', startedAt, text, options.jsonPath);
  process.stdout.write(`results: ${paths.join(', ')}\n`);
  return records.some((record) => record.errors > 0 || record.notes.length > 0) ? 1 : 0;
}

runBenchTool(
  {
    name: 'bench',
    usage: USAGE,
    parse: parseOptions,
    budgetMs: (options) => {
      // Every step is bounded on its own; the watchdog bounds their sum too, in case one is not.
      const runCount =
        options.repeat *
        options.clients.length *
        (options.scenarios.length + baselinesFor(options.scenarios).length);
      // The burst before a run (`--prime-s`) is bounded as a run is: its time and a drain.
      const primeMs = options.primeS * 1000 + REQUEST_TIMEOUT_MS;
      const runMs =
        (options.warmupS + options.durationS) * 1000 +
        primeMs +
        REQUEST_TIMEOUT_MS +
        RUN_OVERHEAD_MS;
      return runCount * runMs + 60_000;
    },
    run: bench,
  },
  process.argv.slice(2),
);
