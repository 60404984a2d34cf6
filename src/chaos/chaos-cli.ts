/**
 * `npm run chaos -- [--duration-s 30] [--seed N] [--clients 8] [--netns auto|on|off]
 * [--schedule random|round-robin] [--faults kind,kind,...] [--quiet] [--in-memory] [--failover]`
 *
 * Runs a real-process fault-injection session (see chaos.ts), prints a summary of operations and
 * faults and every violation the history checker found. Exit code 0: no violation; 1: violations,
 * no convergence or a fault that could not be applied/healed; 2: bad arguments or setup failure.
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, formatSummary, runChaos, type ChaosResult, type FaultKind } from './chaos.js';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run chaos -- [--duration-s 30] [--seed N] [--clients 8] [--netns auto|on|off] [--schedule random|round-robin] [--faults ${FAULT_KINDS.join(',')}] [--quiet] [--in-memory (negative control: kill -9 must lose entries)] [--failover (failover nodes; kill -9, SIGSTOP and /admin/faults partition of the current master; clients on every node; F1-F5 checked)]\n`,
  );
  process.exit(2);
}

function integer(raw: string | undefined, name: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    usage(`--${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

/** The command line's options, checked. */
interface CliOptions {
  readonly durationS: number;
  readonly seed: number;
  readonly clients: number;
  readonly netns: 'auto' | 'on' | 'off';
  readonly schedule: 'random' | 'round-robin';
  /** Undefined without --faults: runChaos's default. */
  readonly faults: FaultKind[] | undefined;
  readonly quiet: boolean;
  readonly inMemory: boolean;
  readonly failover: boolean;
}

/** Anything malformed, or --help, ends the process here with the usage (exit 2). */
function parseCli(args: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'duration-s': { type: 'string' },
        seed: { type: 'string' },
        clients: { type: 'string' },
        netns: { type: 'string' },
        schedule: { type: 'string' },
        faults: { type: 'string' },
        quiet: { type: 'boolean' },
        'in-memory': { type: 'boolean' },
        failover: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    usage((error as Error).message);
  }
  const values = parsed.values;
  if (values.help === true) usage('Real-process fault injection for replicated-log.');
  const durationS = integer(values['duration-s'], 'duration-s', 30, 1);
  if (durationS > 3600) usage('--duration-s must be at most 3600');
  const seed = integer(values.seed, 'seed', Math.floor(Math.random() * 1_000_000), 0);
  const clients = integer(values.clients, 'clients', 8, 1);
  if (clients > 64) usage('--clients must be at most 64');
  const netns = values.netns ?? 'auto';
  if (netns !== 'auto' && netns !== 'on' && netns !== 'off')
    usage(`--netns must be auto, on or off, got "${netns}"`);
  const schedule = values.schedule ?? 'random';
  if (schedule !== 'random' && schedule !== 'round-robin')
    usage(`--schedule must be random or round-robin, got "${schedule}"`);
  return {
    durationS,
    seed,
    clients,
    netns,
    schedule,
    faults: values.faults === undefined ? undefined : faultKinds(values.faults),
    quiet: values.quiet === true,
    inMemory: values['in-memory'] === true,
    failover: values.failover === true,
  };
}

/** --faults kind,kind,...: each one a known kind; empty items are skipped. */
function faultKinds(raw: string): FaultKind[] {
  const faults: FaultKind[] = [];
  for (const kind of raw.split(',').filter((item) => item !== '')) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind))
      usage(`unknown fault kind "${kind}"; known: ${FAULT_KINDS.join(', ')}`);
    faults.push(kind as FaultKind);
  }
  return faults;
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const { seed, durationS, clients, netns, schedule, faults } = cli;
  out(
    `chaos: seed ${seed}, ${durationS} s, ${clients} clients, netns ${netns}, schedule ${schedule} (replay: --seed ${seed})`,
  );
  const start = Date.now();
  const result = await runChaos({
    durationMs: durationS * 1000,
    seed,
    clients,
    netns,
    schedule,
    inMemory: cli.inMemory,
    failover: cli.failover,
    ...(faults === undefined ? {} : { faults }),
    log: (line) => {
      if (!cli.quiet) out(`[${((Date.now() - start) / 1000).toFixed(1)}s] ${line}`);
    },
  });
  printResult(result, seed);
}

/** The summary, the nodes' output when something went wrong, the verdict and the exit code. */
function printResult(result: ChaosResult, seed: number): void {
  out('');
  out(formatSummary(result));
  const failed =
    result.violations.length > 0 || !result.converged || result.nemesisErrors.length > 0;
  if (failed && result.diagnostics !== '') {
    out('');
    out('--- node output (most recent last) ---');
    out(result.diagnostics);
  }
  out('');
  out(failed ? `FAILED (replay with --seed ${seed})` : 'OK: no violation');
  process.exitCode = failed ? 1 : 0;
}

// Ctrl-C or a TERM: exit through process.exit, so the exit handlers kill the nodes, remove the
// data directories and any namespace.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`chaos: ${signal}, cleaning up\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 2;
});
