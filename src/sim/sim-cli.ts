/* eslint-disable no-console -- a command-line tool: its output is the point */
import { parseArgs } from 'node:util';
import { runSimulation, type SimulationStats } from './simulation.js';
import { runFailoverSimulation } from './failover-simulation.js';
import {
  FAILOVER_NEMESIS_VERSIONS,
  LATEST_FAILOVER_NEMESIS,
  type FailoverNemesisVersion,
} from './failover-nemesis.js';
import { SimViolation } from './sim-violation.js';

/**
 * Runs the deterministic simulation over a range of seeds (USAGE below).
 *
 * Without `--failover` it runs the fixed master's simulation (simulation.ts); with it, the
 * failover cluster's (failover-simulation.ts).
 *
 * Every failing seed is printed with the guarantee it broke and a one-line replay command; the
 * summary counts seeds, steps, fault events and client operations checked.
 */
interface Args {
  readonly from: number;
  readonly count: number;
  readonly verbose: boolean;
  /** Stop at the first failing seed (the mutants runner asks whether a bug is caught at all). */
  readonly stopOnFirst: boolean;
  readonly failover: boolean;
  readonly nemesis: FailoverNemesisVersion;
}

const USAGE = `usage: node dist/sim/sim-cli.js [options]     (npm run sim -- [options])
       SEED=S npm run sim [-- --failover]     replays one seed, printing its recent trace on failure

  --seeds N            how many seeds to run (default 200)
  --from S             the first seed (default 1)
  --seed S             one seed, verbose (as SEED=S)
  --failover           the failover cluster's simulation instead of the fixed master's
  --nemesis V          failover: the nemesis's version (1 or 2, default 2); 1 replays the
                       regression seeds of failover-simulation.test.ts as they were found
  --verbose            each seed's statistics, and the recent trace of a failing one
  --stop-on-first      stop at the first failing seed`;

const OPTIONS = {
  seeds: { type: 'string' },
  from: { type: 'string' },
  seed: { type: 'string' },
  failover: { type: 'boolean', default: false },
  nemesis: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  'stop-on-first': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** A whole number from an option (`fallback` when absent), or why the text is not one. */
function wholeNumber(name: string, text: string | undefined, fallback: number): number | string {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text)))
    return `${name} must be a whole number; got "${text}"`;
  return Number(text);
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** The arguments from parsed options and SEED, or why they are not valid. */
function argsOf(values: Values): Args | string {
  const envSeed = process.env['SEED'];
  const oneSeed = values.seed ?? (envSeed === '' ? undefined : envSeed);
  const fromName = values.seed === undefined ? '--from (or SEED)' : '--seed';
  const from = wholeNumber(fromName, oneSeed ?? values.from, 1);
  const count = oneSeed === undefined ? wholeNumber('--seeds', values.seeds, 200) : 1;
  if (typeof from === 'string') return from;
  if (typeof count === 'string') return count;
  if (count === 0) return '--seeds must be at least 1: 0 seeds would check nothing';
  const nemesis = FAILOVER_NEMESIS_VERSIONS.find((version) => String(version) === values.nemesis);
  if (values.nemesis !== undefined && nemesis === undefined)
    return `--nemesis must be one of ${FAILOVER_NEMESIS_VERSIONS.join(', ')}; got "${values.nemesis}"`;
  return {
    from,
    count,
    verbose: values.verbose || oneSeed !== undefined,
    stopOnFirst: values['stop-on-first'],
    failover: values.failover,
    nemesis: nemesis ?? LATEST_FAILOVER_NEMESIS,
  };
}

/** The arguments, or undefined after printing the usage (asked for, or an argument not valid). */
function parseOptions(argv: readonly string[]): Args | undefined {
  let args: Args | string;
  try {
    const { values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true });
    if (values.help) {
      console.log(USAGE);
      return undefined;
    }
    args = argsOf(values);
  } catch (error) {
    args = (error as Error).message;
  }
  if (typeof args !== 'string') return args;
  console.error(`${args}\n${USAGE}`);
  process.exitCode = 2;
  return undefined;
}

/** Sums over the seeds that ran to the end, for the summary line. */
interface Totals {
  seeds: number;
  steps: number;
  faults: number;
  dropped: number;
  duplicated: number;
  operations: number;
  storeFailures: number;
  elections: number;
  rolledBack: number;
}

/** What the run has found so far: the sums, the faults by kind, the failing seeds. */
interface Tally {
  readonly total: Totals;
  readonly kinds: Map<string, number>;
  readonly failures: number[];
}

async function main(): Promise<void> {
  const args = parseOptions(process.argv.slice(2));
  if (args === undefined) return;
  const started = performance.now();
  const tally: Tally = {
    total: {
      seeds: 0,
      steps: 0,
      faults: 0,
      dropped: 0,
      duplicated: 0,
      operations: 0,
      storeFailures: 0,
      elections: 0,
      rolledBack: 0,
    },
    kinds: new Map<string, number>(),
    failures: [],
  };
  let lastProgress = started;
  for (let seed = args.from; seed < args.from + args.count; seed++) {
    const stats = await runSeed(args, seed, tally);
    if (stats === undefined) {
      if (args.stopOnFirst) break;
      continue;
    }
    addStats(tally, stats);
    if (args.verbose) console.log(JSON.stringify(stats));
    const now = performance.now();
    if (now - lastProgress > 10_000) {
      lastProgress = now;
      console.log(`... ${tally.total.seeds} seeds, ${tally.failures.length} failing`);
    }
  }
  printSummary(args, tally, (performance.now() - started) / 1000);
}

/** One seed's statistics, or undefined once its failure is counted and printed with its replay. */
async function runSeed(
  args: Args,
  seed: number,
  tally: Tally,
): Promise<SimulationStats | undefined> {
  try {
    return await (args.failover ? runFailoverSimulation : runSimulation)({
      seed,
      failoverNemesis: args.nemesis,
    });
  } catch (error) {
    tally.total.seeds += 1;
    tally.failures.push(seed);
    if (error instanceof SimViolation) {
      console.log(`FAIL seed ${seed}: ${error.message}`);
      if (args.verbose) for (const line of error.recentTrace) console.log(`  | ${line}`);
    } else {
      console.log(`FAIL seed ${seed}: ${String(error)}`);
    }
    console.log(`  replay: SEED=${seed} npm run sim${replayFlags(args)}`);
    return undefined;
  }
}

/** Adds a seed that ran to the end to the sums and to the faults by kind. */
function addStats({ total, kinds }: Tally, stats: SimulationStats): void {
  total.seeds += 1;
  total.steps += stats.steps;
  total.faults += stats.faults;
  total.dropped += stats.messagesDropped;
  total.duplicated += stats.messagesDuplicated;
  total.operations += stats.operations;
  total.storeFailures += stats.storeFailures;
  total.elections += stats.outcomes['elections'] ?? 0;
  total.rolledBack += stats.outcomes['rolled-back entries'] ?? 0;
  for (const [kind, count] of Object.entries(stats.faultKinds))
    kinds.set(kind, (kinds.get(kind) ?? 0) + count);
}

/** The summary lines; a failing seed makes the exit code 1. */
function printSummary(args: Args, { total, kinds, failures }: Tally, wallS: number): void {
  console.log(
    `seeds ${total.seeds} (${args.from}..${args.from + args.count - 1}), steps ${total.steps}, ` +
      `fault events ${total.faults} (+ ${total.dropped} messages dropped, ${total.duplicated} duplicated), ` +
      `client ops ${total.operations}, violations ${failures.length}, wall ${wallS.toFixed(1)} s`,
  );
  if (args.failover) {
    console.log(
      `masters elected ${total.elections}, entries rolled back (and reported) ${total.rolledBack}`,
    );
  }
  const byKind = [...kinds].sort(([a], [b]) => a.localeCompare(b));
  console.log(
    `faults by kind: ${byKind.map(([kind, count]) => `${kind} ${count}`).join(', ')}; store writes failed ${total.storeFailures}`,
  );
  if (failures.length > 0) {
    console.log(
      `failing seeds: ${failures.slice(0, 50).join(' ')}${failures.length > 50 ? ' ...' : ''}`,
    );
    process.exitCode = 1;
  }
}

function replayFlags(args: Args): string {
  if (!args.failover) return '';
  return args.nemesis === LATEST_FAILOVER_NEMESIS
    ? ' -- --failover'
    : ` -- --failover --nemesis ${args.nemesis}`;
}

await main();
