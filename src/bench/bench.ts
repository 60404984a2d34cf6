/**
 * `npm run bench`: starts a no-op HTTP server and a local in-memory cluster (master + 2
 * secondaries) as child processes, drives each scenario with the closed-loop generator at each
 * client count, and prints appends/s and latency percentiles, each also as a ratio to the no-op
 * server measured by the same generator in the same run: absolute figures drift with whatever
 * else the machine is doing, the ratios much less.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { environment, formatCount, formatMs, gitCommit, writeResults } from './bench-results.js';
import type { LocalCluster } from '../launcher/cluster.js';
import { NodeProcess } from '../launcher/node-process.js';
import { freePortsIn } from '../launcher/ports.js';
import { HEALTH_TIMEOUT_MS, HOST, startBenchCluster, type PortRange } from './bench-cluster.js';
import { runLoad, type LoadResult } from './load-generator.js';
import { runBenchTool } from './bench-tool.js';
import { processCpuMs } from './process-cpu.js';
import { summarizeRounds, type RoundSummary } from './rounds.js';

const USAGE = `Usage: node dist/bench/bench.js [options]   (npm run bench -- [options])

  --duration-s S     measured seconds per run (default 5; --quick: 2)
  --warmup-s S       warm-up seconds before each run, not counted (default 1; --quick: 0.5)
  --clients LIST     concurrent clients, comma-separated (default 1,16,64; --quick: 1,64)
  --scenarios LIST   of w1, w2, wall, batch, wall-fsync (default all; --quick: w1,wall,batch,wall-fsync)
  --json FILE        also write the results there (they always go to bench-results/)
  --repeat N         rounds of the whole plan (default 1); the table shows each figure's median
                     over the rounds and the range of the throughput ratio, the JSON every run
  --env KEY=VALUE    a setting for every node (repeatable), to measure a tuning:
                     --env MAX_INFLIGHT_BATCHES=8 --env MAX_BATCH_ENTRIES=256
  --cpu-prof DIR     every node and no-op server writes a V8 CPU profile into DIR/<run>/
                     (open in Chrome DevTools or speedscope); profiling slows the runs
  --quick            the short run: about 40 s
  -h, --help         this text`;

/** The bench keeps to its own port range, clear of the nodes' defaults (8000...). */
const PORTS: PortRange = { min: 9100, max: 9199 };
const MESSAGE_BYTES = 100;
const BATCH_SIZE = 100;
const SECONDARY_COUNT = 2;
const REQUEST_TIMEOUT_MS = 10_000;
/** Every run may also spend this on starting and stopping a cluster; used for the time budget. */
const RUN_OVERHEAD_MS = 2 * HEALTH_TIMEOUT_MS;
const GENERATOR_WARMUP_MS = 1000;
/** Typical time to start a fresh cluster and stop it again, for the announced run time. */
const CLUSTER_START_STOP_MS = 1800;

const NOOP_ENTRY = fileURLToPath(new URL('./noop-server.js', import.meta.url));

type WriteConcern = number | 'all' | 'majority';

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly w: WriteConcern;
  readonly messagesPerRequest: number;
  /** Every node keeps its log on disk (a fresh temporary DATA_DIR) with FSYNC=always. */
  readonly durable?: true;
}

const SCENARIOS: readonly Scenario[] = [
  { id: 'w1', label: 'w=1', w: 1, messagesPerRequest: 1 },
  { id: 'w2', label: 'w=2', w: 2, messagesPerRequest: 1 },
  { id: 'wall', label: 'w=all', w: 'all', messagesPerRequest: 1 },
  // w=3 is every node of this 3-node cluster, as w=all; written as a number as the issue does.
  { id: 'batch', label: `batch ${BATCH_SIZE} w=3`, w: 3, messagesPerRequest: BATCH_SIZE },
  { id: 'wall-fsync', label: 'w=all fsync', w: 'all', messagesPerRequest: 1, durable: true },
];

/** The baselines: the same bodies as the scenarios, sent to the no-op server. */
const NOOP: Scenario = { id: 'noop', label: 'no-op', w: 1, messagesPerRequest: 1 };
const NOOP_BATCH: Scenario = {
  id: 'noop-batch',
  label: `no-op batch ${BATCH_SIZE}`,
  w: 3,
  messagesPerRequest: BATCH_SIZE,
};

interface BenchOptions {
  readonly durationS: number;
  readonly warmupS: number;
  readonly clients: readonly number[];
  readonly scenarios: readonly Scenario[];
  readonly jsonPath: string | undefined;
  readonly cpuProfileDir: string | undefined;
  /** Extra environment for every node (`--env`), recorded with the results. */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly quick: boolean;
  readonly repeat: number;
}

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
  readonly target: 'noop' | 'cluster';
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

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'duration-s': { type: 'string' },
      'warmup-s': { type: 'string' },
      clients: { type: 'string' },
      scenarios: { type: 'string' },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      env: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      repeat: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick;
  const number = (flag: string, raw: string | undefined, fallback: number, max: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > max) {
      throw new UsageError(`--${flag} must be a number of seconds from 0 to ${max}; got "${raw}"`);
    }
    return value;
  };
  const durationS = number('duration-s', values['duration-s'], quick ? 2 : 5, 600);
  if (durationS < 0.1) throw new UsageError(`--duration-s must be at least 0.1; got ${durationS}`);
  const warmupS = number('warmup-s', values['warmup-s'], quick ? 0.5 : 1, 60);
  const clients = (values.clients ?? (quick ? '1,64' : '1,16,64')).split(',').map((item) => {
    const value = Number(item.trim());
    if (!/^\s*[0-9]+\s*$/.test(item) || value < 1 || value > 1024) {
      throw new UsageError(
        `--clients takes integers from 1 to 1024, comma-separated; got "${item}"`,
      );
    }
    return value;
  });
  const scenarios = (
    values.scenarios ?? (quick ? 'w1,wall,batch,wall-fsync' : SCENARIOS.map((s) => s.id).join(','))
  )
    .split(',')
    .map((item) => {
      const scenario = SCENARIOS.find((candidate) => candidate.id === item.trim());
      if (scenario === undefined) {
        throw new UsageError(
          `--scenarios takes ${SCENARIOS.map((s) => s.id).join(', ')}, comma-separated; got "${item}"`,
        );
      }
      return scenario;
    });
  return {
    durationS,
    warmupS,
    clients: [...new Set(clients)],
    scenarios: [...new Set(scenarios)],
    jsonPath: values.json,
    cpuProfileDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    nodeEnv: Object.fromEntries(
      (values.env ?? []).map((item) => {
        const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(item);
        if (match === null) {
          throw new UsageError(`--env takes KEY=VALUE with an upper-case KEY; got "${item}"`);
        }
        return [match[1]!, match[2]!];
      }),
    ),
    quick,
    repeat: (() => {
      const raw = values.repeat ?? '1';
      const value = Number(raw);
      if (!/^[0-9]+$/.test(raw) || value < 1 || value > 20) {
        throw new UsageError(`--repeat takes an integer from 1 to 20; got "${raw}"`);
      }
      return value;
    })(),
  };
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
function sampleCpu(watched: readonly NodeProcess[]): CpuSample {
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

function requestBody(scenario: Scenario): string {
  const message = `bench ${'x'.repeat(MESSAGE_BYTES - 6)}`;
  const body =
    scenario.messagesPerRequest === 1
      ? { message, w: scenario.w }
      : {
          messages: Array.from({ length: scenario.messagesPerRequest }, () => message),
          w: scenario.w,
        };
  return JSON.stringify(body);
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

async function bench(options: BenchOptions, signal: AbortSignal): Promise<number> {
  const startedAt = new Date();
  const loadAvgStart = os.loadavg();
  const withBatch = options.scenarios.some((scenario) => scenario.messagesPerRequest > 1);
  const baselines = withBatch ? [NOOP, NOOP_BATCH] : [NOOP];
  const runCount =
    options.repeat * options.clients.length * (baselines.length + options.scenarios.length);
  const runMs = (options.warmupS + options.durationS) * 1000;
  const clusterRuns = options.repeat * options.clients.length * options.scenarios.length;
  const estimatedMs =
    GENERATOR_WARMUP_MS + runCount * runMs + clusterRuns * CLUSTER_START_STOP_MS + 1000;
  process.stderr.write(
    `bench: ${runCount} runs of ${options.warmupS} s warm-up + ${options.durationS} s, ` +
      `${MESSAGE_BYTES}-byte messages, ${os.cpus().length} CPUs, load average ${loadAvgStart.map((v) => v.toFixed(2)).join(' ')}; ` +
      `about ${Math.ceil(estimatedMs / 1000)} s\n`,
  );

  const profileDir = (run: string): string | undefined => {
    if (options.cpuProfileDir === undefined) return undefined;
    const dir = join(options.cpuProfileDir, run);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  cpuProfileRunDir = profileDir('noop');
  const noop = await startNoop(signal);
  const noopPort = Number(new URL(noop.origin).port);
  // The first run of a process would otherwise also warm up the generator itself (JIT, undici),
  // and that first run is the one-client baseline everything is divided by.
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
  const records: RunRecord[] = [];
  let runNo = 0;
  const rounds = Array.from({ length: options.repeat }, (_, index) => index + 1);
  for (const [round, clients] of rounds.flatMap((round) =>
    options.clients.map((clients) => [round, clients] as const),
  )) {
    // Baselines first within each client count, so they are measured close in time to what
    // they are compared with.
    const baselineResults = new Map<string, LoadResult>();
    const plan = [
      ...baselines.map((scenario) => ({ scenario, target: 'noop' as const })),
      ...options.scenarios.map((scenario) => ({ scenario, target: 'cluster' as const })),
    ];
    for (const { scenario, target } of plan) {
      signal.throwIfAborted();
      runNo += 1;
      const notes: string[] = [];
      // A fresh cluster per run: the in-memory log starts empty, and no run inherits another's
      // backlog of replication.
      if (target === 'cluster')
        cpuProfileRunDir = profileDir(`${runNo}-${scenario.id}-${clients}c-r${round}`);
      const cluster: LocalCluster | undefined =
        target === 'cluster'
          ? await startBenchCluster({
              ports: PORTS,
              taken: [noopPort],
              secondaries: SECONDARY_COUNT,
              signal,
              durable: scenario.durable === true,
              nodeEnv: options.nodeEnv,
              nodeArgs: profileArgs,
            })
          : undefined;
      const watched = cluster?.nodes ?? [noop.child];
      const linesBefore = watched.reduce((sum, child) => sum + child.lineCount, 0);
      const linesBeforeByChild = new Map(watched.map((child) => [child, child.lineCount]));
      let result: LoadResult;
      // CPU is sampled over the measured seconds only, as the generator counts them.
      const cpuSamples: { start?: CpuSample; end?: CpuSample } = {};
      const cpuTimer = setTimeout(() => {
        cpuSamples.start = sampleCpu(watched);
      }, options.warmupS * 1000);
      try {
        result = await runLoad({
          origin: cluster?.master.url ?? noop.origin,
          path: '/logs',
          body: requestBody(scenario),
          messagesPerRequest: scenario.messagesPerRequest,
          clients,
          durationMs: options.durationS * 1000,
          warmupMs: options.warmupS * 1000,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          signal,
        });
        cpuSamples.end = sampleCpu(watched);
        for (const child of watched) {
          if (!child.running) notes.push(`${child.name} exited (${child.exitText ?? '?'})`);
        }
      } finally {
        clearTimeout(cpuTimer);
        await cluster?.stop();
      }
      const cpu =
        cpuSamples.start === undefined
          ? []
          : cpuShares(cpuSamples.start, cpuSamples.end, result.requests);
      signal.throwIfAborted();
      const nodeLogLines = watched.reduce((sum, child) => sum + child.lineCount, 0) - linesBefore;
      const nodeLogSamples = watched
        .flatMap((child) =>
          child
            .linesSince(linesBeforeByChild.get(child) ?? 0)
            .map((line) => `${child.name}: ${line}`),
        )
        .slice(0, 5);
      if (!noop.child.running) throw new Error(noop.child.report());
      const baselineId = scenario.messagesPerRequest > 1 ? NOOP_BATCH.id : NOOP.id;
      const baseline = target === 'cluster' ? baselineResults.get(baselineId) : undefined;
      if (target === 'noop') baselineResults.set(scenario.id, result);
      const record: RunRecord = {
        scenario: scenario.id,
        label: scenario.label,
        round,
        target,
        w: scenario.w,
        messagesPerRequest: scenario.messagesPerRequest,
        ...result,
        ...(baseline === undefined
          ? {}
          : { baseline: baselineId, vsNoop: compare(result, baseline) }),
        nodeLogLines,
        nodeLogSamples,
        notes,
        cpu,
      };
      records.push(record);
      process.stderr.write(
        `  [${String(runNo).padStart(String(runCount).length)}/${runCount}] ${scenario.label.padEnd(16)} ` +
          `${String(clients).padStart(3)} clients: ${formatCount(result.throughput)} appends/s, ` +
          `p99 ${formatMs(result.p99Ms)} ms, ${result.errors} errors\n`,
      );
      for (const sample of result.errorSamples) process.stderr.write(`        error: ${sample}\n`);
      for (const note of notes) process.stderr.write(`        ${note}\n`);
    }
  }
  await noop.child.stop();

  const finishedAt = new Date();
  const loadAvgEnd = os.loadavg();
  process.stdout.write(
    `\nreplicated-log bench, ${finishedAt.toISOString()}: ${options.durationS} s per run after ${options.warmupS} s warm-up, ` +
      `${MESSAGE_BYTES}-byte messages, 3 in-memory nodes on ${HOST}\n` +
      `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ` +
      `load average ${loadAvgStart[0]?.toFixed(2) ?? '?'} at start, ${loadAvgEnd[0]?.toFixed(2) ?? '?'} at end\n\n`,
  );
  const summaries = summarizeRounds(records);
  if (options.repeat > 1) {
    process.stdout.write(
      `Medians of ${options.repeat} rounds; "range" is the lowest and highest appends/s ratio to the no-op server over the rounds.\n`,
    );
  }
  process.stdout.write(`${table(summaries, options.repeat > 1)}\n\n`);
  const cpuText = cpuTable(records);
  if (cpuText !== undefined) process.stdout.write(`${cpuText}\n\n`);
  process.stdout.write(
    'appends/s counts messages (100 per request for batch). "vs" is the ratio to the no-op server at\n' +
      'the same client count with the same body (batch against "no-op batch"): for appends/s higher\n' +
      'is better (1.0 = as fast as a server that does nothing), for latencies lower is better.\n' +
      'The generator, the no-op server and the nodes share this machine: compare ratios across\n' +
      'runs, not absolute figures.\n',
  );
  const logged = records.filter((record) => record.nodeLogLines > 0);
  if (logged.length > 0) {
    process.stdout.write(
      `nodes logged warnings during: ${logged.map((r) => `${r.label}/${r.clients} (${r.nodeLogLines} lines)`).join(', ')}\n`,
    );
    for (const record of logged) {
      for (const sample of record.nodeLogSamples)
        process.stdout.write(`  ${sample.slice(0, 300)}\n`);
    }
  }

  const report = {
    schema: 'replicated-log-bench/1',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    ...gitCommit(),
    environment: environment(loadAvgStart, loadAvgEnd),
    options: {
      durationS: options.durationS,
      warmupS: options.warmupS,
      clients: options.clients,
      scenarios: options.scenarios.map((scenario) => scenario.id),
      quick: options.quick,
      nodeEnv: options.nodeEnv,
      messageBytes: MESSAGE_BYTES,
      batchSize: BATCH_SIZE,
      nodes: 1 + SECONDARY_COUNT,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    },
    results: records,
    medians: summaries,
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
      const baselines = options.scenarios.some((s) => s.messagesPerRequest > 1) ? 2 : 1;
      const runCount =
        options.repeat * options.clients.length * (options.scenarios.length + baselines);
      const runMs =
        (options.warmupS + options.durationS) * 1000 + REQUEST_TIMEOUT_MS + RUN_OVERHEAD_MS;
      return runCount * runMs + 60_000;
    },
    run: bench,
  },
  process.argv.slice(2),
);
