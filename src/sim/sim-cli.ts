/* eslint-disable no-console -- a command-line tool: its output is the point */
import { runSimulation, type SimulationStats } from './simulation.js';
import { runFailoverSimulation } from './failover-simulation.js';
import { SimViolation } from './sim-violation.js';

/**
 * Runs the deterministic simulation over a range of seeds.
 *
 *   node dist/sim/sim-cli.js [--seeds N] [--from S0] [--seed S] [--failover] [--verbose] [--stop-on-first]
 *   SEED=S npm run sim                   (replays one seed, printing its recent trace on failure)
 *   SEED=S npm run sim -- --failover     (the same for a failover cluster's seed)
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
}

function parseArgs(argv: readonly string[]): Args {
  let from = 1;
  let count = 200;
  let verbose = false;
  let stopOnFirst = false;
  let failover = false;
  const envSeed = process.env['SEED'];
  if (envSeed !== undefined && envSeed !== '') {
    from = Number(envSeed);
    count = 1;
    verbose = true;
  }
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = Number(argv[index + 1]);
    if (flag === '--seeds') count = value;
    else if (flag === '--from') from = value;
    else if (flag === '--seed') {
      from = value;
      count = 1;
      verbose = true;
    } else if (flag === '--verbose' || flag === '--stop-on-first' || flag === '--failover') {
      if (flag === '--verbose') verbose = true;
      else if (flag === '--failover') failover = true;
      else stopOnFirst = true;
      continue;
    } else
      throw new Error(
        `unknown argument ${flag}; use --seeds N, --from S0, --seed S, --failover, --verbose, --stop-on-first`,
      );
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} needs an integer`);
    index += 1;
  }
  return { from, count, verbose, stopOnFirst, failover };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const total = {
    seeds: 0,
    steps: 0,
    faults: 0,
    dropped: 0,
    duplicated: 0,
    operations: 0,
    storeFailures: 0,
    elections: 0,
    rolledBack: 0,
  };
  const kinds = new Map<string, number>();
  const failures: number[] = [];
  let lastProgress = started;
  for (let seed = args.from; seed < args.from + args.count; seed++) {
    let stats: SimulationStats;
    try {
      stats = await (args.failover ? runFailoverSimulation : runSimulation)({ seed });
    } catch (error) {
      total.seeds += 1;
      failures.push(seed);
      if (error instanceof SimViolation) {
        console.log(`FAIL seed ${seed}: ${error.message}`);
        if (args.verbose) for (const line of error.recentTrace) console.log(`  | ${line}`);
      } else {
        console.log(`FAIL seed ${seed}: ${String(error)}`);
      }
      console.log(`  replay: SEED=${seed} npm run sim${args.failover ? ' -- --failover' : ''}`);
      if (args.stopOnFirst) break;
      continue;
    }
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
    if (args.verbose) console.log(JSON.stringify(stats));
    const now = performance.now();
    if (now - lastProgress > 10_000) {
      lastProgress = now;
      console.log(`... ${total.seeds} seeds, ${failures.length} failing`);
    }
  }
  const wallS = (performance.now() - started) / 1000;
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

await main();
