/**
 * `npm run bench`'s command line: the usage text, the options it parses into, and the plan of
 * scenarios (which of ours in which mode, which anchors are installed). Kept apart from the
 * runner (bench.ts), which starts servers when imported, so that it can be tested.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ANCHORS, OUR_IDS, SCENARIOS, type Scenario } from './bench-scenarios.js';
import { anchorMissing } from './bench-servers.js';

export const ANCHOR_IDS = ANCHORS.map((scenario) => scenario.id);
const MODES = ['fixed', 'failover', 'both'] as const;
export type Mode = (typeof MODES)[number];

/** Clients of the burst that starts a run with fewer (`--prime-s`). */
export const PRIME_CLIENTS = 16;

export const USAGE = `Usage: node dist/bench/bench.js [options]   (npm run bench -- [options])

  --duration-s S     measured seconds per run (default 5; --quick: 2)
  --warmup-s S       warm-up seconds before each run, not counted (default 1; --quick: 0.5)
  --prime-s S        a run with fewer than ${PRIME_CLIENTS} clients first drives its fresh server at
                     ${PRIME_CLIENTS} clients for S seconds, not counted, so that the server's code is
                     as warm as after a higher load (default 2; --quick: 1; 0: no burst)
  --clients LIST     concurrent clients, comma-separated (default 1,16,64; --quick: 1,64)
  --scenarios LIST   of ${OUR_IDS.join(', ')} (ours) and ${ANCHOR_IDS.join(', ')} (the anchors),
                     comma-separated (default all; --quick: w1, wall, batch, wall-fsync and the
                     anchors). An anchor whose binary is missing is skipped with a note.
  --mode MODE        where our scenarios run: fixed (the course's fixed master, in memory but
                     wall-fsync), failover (3 failover nodes, as npm start runs them: on disk,
                     FSYNC=never but wall-fsync, rows labelled "fo ... nofsync") or both
                     (default both; --quick: fixed)
  --json FILE        also write the results there (they always go to bench-results/)
  --repeat N         rounds of the whole plan (default 1); the table shows each figure's median
                     over the rounds and the range of the throughput ratio, the JSON every run
  --env KEY=VALUE    a setting for every node (repeatable), to measure a tuning:
                     --env MAX_INFLIGHT_BATCHES=8 --env MAX_BATCH_ENTRIES=256
  --cpu-prof DIR     every node and no-op server writes a V8 CPU profile into DIR/<run>/
                     (open in Chrome DevTools or speedscope); profiling slows the runs
  --quick            the short run: about 80 s
  -h, --help         this text`;

export interface BenchOptions {
  readonly durationS: number;
  readonly warmupS: number;
  /** Seconds at PRIME_CLIENTS before a run with fewer clients; its warm-up follows. */
  readonly primeS: number;
  readonly clients: readonly number[];
  readonly scenarios: readonly Scenario[];
  readonly jsonPath: string | undefined;
  readonly cpuProfileDir: string | undefined;
  /** Extra environment for every node (`--env`), recorded with the results. */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly quick: boolean;
  readonly repeat: number;
  readonly mode: Mode;
  /** Anchors asked for but not installed here, each with the note saying how to add it. */
  readonly skipped: readonly string[];
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const FLAGS = {
  'duration-s': { type: 'string' },
  'warmup-s': { type: 'string' },
  'prime-s': { type: 'string' },
  clients: { type: 'string' },
  scenarios: { type: 'string' },
  json: { type: 'string' },
  'cpu-prof': { type: 'string' },
  env: { type: 'string', multiple: true },
  quick: { type: 'boolean', default: false },
  repeat: { type: 'string' },
  mode: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The options of `argv`, or undefined for `--help`; throws a UsageError naming the bad flag. */
export function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({ args: [...argv], options: FLAGS, strict: true });
  if (values.help) return undefined;
  const quick = values.quick;
  const durationS = seconds('duration-s', values['duration-s'], quick ? 2 : 5, 600);
  if (durationS < 0.1) throw new UsageError(`--duration-s must be at least 0.1; got ${durationS}`);
  const mode = (values.mode ?? (quick ? 'fixed' : 'both')) as Mode;
  if (!MODES.includes(mode))
    throw new UsageError(`--mode takes ${MODES.join(', ')}; got "${values.mode ?? ''}"`);
  const { scenarios, skipped } = planScenarios(scenarioIds(values.scenarios, quick), mode);
  return {
    durationS,
    warmupS: seconds('warmup-s', values['warmup-s'], quick ? 0.5 : 1, 60),
    primeS: seconds('prime-s', values['prime-s'], quick ? 1 : 2, 60),
    clients: clientCounts(values.clients ?? (quick ? '1,64' : '1,16,64')),
    scenarios,
    mode,
    skipped,
    jsonPath: values.json,
    cpuProfileDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    nodeEnv: nodeEnvOf(values.env ?? []),
    quick,
    repeat: repeatOf(values.repeat ?? '1'),
  };
}

function seconds(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new UsageError(`--${flag} must be a number of seconds from 0 to ${max}; got "${raw}"`);
  }
  return value;
}

/** `--clients`: distinct counts, in the order given. */
function clientCounts(raw: string): number[] {
  const counts = raw.split(',').map((item) => {
    const value = Number(item.trim());
    if (!/^\s*[0-9]+\s*$/.test(item) || value < 1 || value > 1024) {
      throw new UsageError(
        `--clients takes integers from 1 to 1024, comma-separated; got "${item}"`,
      );
    }
    return value;
  });
  return [...new Set(counts)];
}

function scenarioIds(raw: string | undefined, quick: boolean): Set<string> {
  const quickIds = ['w1', 'wall', 'batch', 'wall-fsync', ...ANCHOR_IDS];
  const ids =
    raw?.split(',').map((item) => item.trim()) ?? (quick ? quickIds : [...OUR_IDS, ...ANCHOR_IDS]);
  for (const id of ids) {
    if (!OUR_IDS.includes(id) && !ANCHOR_IDS.includes(id))
      throw new UsageError(
        `--scenarios takes ${[...OUR_IDS, ...ANCHOR_IDS].join(', ')}, comma-separated; got "${id}"`,
      );
  }
  return new Set(ids);
}

function nodeEnvOf(items: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    items.map((item) => {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(item);
      if (match === null) {
        throw new UsageError(`--env takes KEY=VALUE with an upper-case KEY; got "${item}"`);
      }
      return [match[1]!, match[2]!];
    }),
  );
}

function repeatOf(raw: string): number {
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < 1 || value > 20) {
    throw new UsageError(`--repeat takes an integer from 1 to 20; got "${raw}"`);
  }
  return value;
}

/**
 * Our scenarios among `ids` in each mode asked for (the fixed master's first), then the anchors
 * whose binaries are installed; the notes of those that are not.
 */
function planScenarios(
  ids: ReadonlySet<string>,
  mode: Mode,
): { scenarios: Scenario[]; skipped: string[] } {
  const servers = new Set<Scenario['server']>(['redis', 'etcd']);
  if (mode !== 'failover') servers.add('cluster');
  if (mode !== 'fixed') servers.add('failover');
  const scenarios: Scenario[] = [];
  const skipped = new Set<string>();
  for (const scenario of SCENARIOS) {
    if (!servers.has(scenario.server) || !ids.has(scenario.id.replace(/^fo-/, ''))) continue;
    const missing = anchorMissing(scenario);
    if (missing === undefined) scenarios.push(scenario);
    else skipped.add(missing);
  }
  return { scenarios, skipped: [...skipped] };
}
