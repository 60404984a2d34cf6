/**
 * The benches' processes: a fresh local cluster (src/launcher/) on free ports of a bench's own
 * range, in memory or durable, and the guard that stops every child process on every way out of
 * the bench process.
 */
import { LocalCluster } from '../launcher/cluster.js';
import { killAllNow, LOOPBACK } from '../launcher/node-process.js';
import { freePortsIn, type PortRange } from '../launcher/ports.js';

export { stopAll as stopChildren } from '../launcher/node-process.js';
export type { PortRange } from '../launcher/ports.js';

export const HOST = LOOPBACK;
export const HEALTH_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3000;

export interface BenchClusterOptions {
  /** The bench's own ports, clear of the nodes' defaults (8000...) and of the other benches. */
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
 * (`durable`) each with its own empty temporary DATA_DIR and FSYNC=always, removed by `stop()`.
 * `stop()` sends SIGTERM (the master first) and SIGKILLs what still runs after 3 s.
 */
export async function startBenchCluster(options: BenchClusterOptions): Promise<LocalCluster> {
  const count = 1 + options.secondaries;
  const ports = await freePortsIn(options.ports, count, HOST, options.taken ?? []);
  const durable = options.durable === true;
  return LocalCluster.launch(
    {
      secondaries: options.secondaries,
      ports,
      env: { LOG_LEVEL: 'warn', ...options.nodeEnv, ...(durable ? { FSYNC: 'always' } : {}) },
      // The default, set so that a value in the caller's shell cannot change the runs.
      masterEnv: { HEARTBEAT_INTERVAL_MS: '1000' },
      ...(durable ? { dataDirs: { temporary: 'rlog-bench-' } } : {}),
      ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
      stopGraceMs: STOP_GRACE_MS,
    },
    { timeoutMs: HEALTH_TIMEOUT_MS, signal: options.signal },
  );
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
    killAllNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The last resort (the launcher also kills its children on 'exit'): no node outlives the bench.
  process.on('exit', killAllNow);

  // Every step is bounded on its own; this bounds their sum too, in case something is not.
  const watchdog = setTimeout(() => {
    process.stderr.write(
      `${tool}: still running after ${Math.round(budgetMs / 1000)} s; giving up\n`,
    );
    killAllNow();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();
  return () => {
    clearTimeout(watchdog);
  };
}
