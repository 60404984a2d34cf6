/**
 * `npm run bench:failover -- [--kills 20] [--writers 3]`: issue 14's failover figures, measured
 * with the failover round of `npm test` (src/e2e/failover-round.ts, the same code): three failover
 * nodes on loopback (FSYNC=always) under a load of w="majority" appends (a fifth w=1), the master
 * of the moment killed -9 N times and restarted. Prints the time from each kill to the first
 * append acknowledged by another node (p50, max), the majority-acknowledged entries lost (must be
 * 0), the minority-acknowledged entries rolled back (GET /admin/rollbacks), the epochs begun, and
 * every violation the history checker found (F1–F5). Exit code 1 on a violation or a lost entry.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runFailoverRounds, type FailoverRoundsResult } from '../e2e/failover-round.js';
import { environment, formatMs, gitCommit, writeResults } from './bench-results.js';
import { runBenchTool } from './bench-tool.js';
import { LatencyHistogram } from './histogram.js';

const USAGE = `usage: npm run bench:failover -- [--kills N] [--writers N]

  --kills N     kills -9 of the master, one per round (default 20, 1..200)
  --writers N   concurrent writers (default 3, 1..32)`;

/** Per round at most: a master, 20 acks, the kill's aftermath, a restart, convergence. */
const ROUND_BUDGET_MS = 90_000;
const SETUP_BUDGET_MS = 120_000;

interface FailoverBenchOptions {
  readonly kills: number;
  readonly writers: number;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integerFlag(raw: string | undefined, flag: string, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new UsageError(`--${flag} must be an integer from 1 to ${max}; got "${raw}"`);
  return value;
}

function parseOptions(argv: readonly string[]): FailoverBenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kills: { type: 'string' },
      writers: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  return {
    kills: integerFlag(values.kills, 'kills', 20, 200),
    writers: integerFlag(values.writers, 'writers', 3, 32),
  };
}

function summary(result: FailoverRoundsResult): string[] {
  const histogram = new LatencyHistogram();
  for (const round of result.rounds) histogram.recordUs(round.killToAckMs * 1000);
  const elected = new LatencyHistogram();
  for (const round of result.rounds) elected.recordUs(round.killToMasterMs * 1000);
  const rejoin = new LatencyHistogram();
  for (const round of result.rounds) rejoin.recordUs(round.rejoinMs * 1000);
  const f = result.figures;
  const failures = Object.entries(f.failures)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  return [
    `kills: ${result.rounds.length}; kill -9 -> first ack on a new master: p50 ${formatMs(histogram.valueAtPercentileUs(50) / 1000)} ms, max ${formatMs(histogram.maxUs / 1000)} ms`,
    `kill -9 -> another node's /health says master (status ok): p50 ${formatMs(elected.valueAtPercentileUs(50) / 1000)} ms, max ${formatMs(elected.maxUs / 1000)} ms`,
    `restart -> converged: p50 ${formatMs(rejoin.valueAtPercentileUs(50) / 1000)} ms, max ${formatMs(rejoin.maxUs / 1000)} ms; killed nodes back as: ${[...new Set(result.rounds.map((round) => round.rejoinedAs))].join(', ')}`,
    `appends: ${f.appends} (majority-acknowledged ${f.majorityAcknowledged}, minority-acknowledged ${f.minorityAcknowledged}, stored 504 ${f.stored}, refused ${f.refused}, unknown ${f.unknown}${failures === '' ? '' : `; errors: ${failures}`})`,
    `majority-acknowledged entries lost: ${f.majorityLost}`,
    `minority-acknowledged entries rolled back: ${f.minorityRolledBack} (entries listed at GET /admin/rollbacks: ${f.rolledBackEntries})`,
    `epochs begun (elections won or tried): ${f.epochs}; final log ${f.finalLength} entries`,
    `history checker (F1-F5 and guarantees 1-10): ${result.violations.length} violations`,
    ...result.violations.map((violation) => `  [${violation.guarantee}] ${violation.message}`),
  ];
}

async function benchFailover(options: FailoverBenchOptions, signal: AbortSignal): Promise<number> {
  const startedAt = new Date();
  const loadAvgStart = os.loadavg();
  const result = await runFailoverRounds({
    kills: options.kills,
    writers: options.writers,
    signal,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const lines = summary(result);
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const report = {
    tool: 'bench:failover',
    startedAt: startedAt.toISOString(),
    ...gitCommit(),
    environment: environment(loadAvgStart, os.loadavg()),
    options,
    rounds: result.rounds,
    figures: result.figures,
    violations: result.violations,
  };
  const paths = writeResults('failover', startedAt, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results: ${paths.join(', ')}\n`);
  const failed = result.violations.length > 0 || result.figures.majorityLost > 0;
  if (failed) process.stdout.write(`\n--- node output ---\n${result.diagnostics}\n`);
  return failed ? 1 : 0;
}

runBenchTool(
  {
    name: 'bench:failover',
    usage: USAGE,
    parse: parseOptions,
    budgetMs: (options) => SETUP_BUDGET_MS + options.kills * ROUND_BUDGET_MS,
    run: benchFailover,
  },
  process.argv.slice(2),
);
