/**
 * The pure parts of the memory bench (memory.ts): its options, latency statistics over recorded
 * samples, the check of a full GET /logs body, and the text tables.
 */
import { parseArgs } from 'node:util';

export const MEMORY_USAGE = `Usage: node dist/bench/memory.js [options]   (npm run bench:memory -- [options])

Starts an in-memory cluster (master + 2 secondaries), measures single appends on an almost empty
log, fills the log with 100-byte messages, measures the same appends again, reads every node's
memory, then reads the whole log (GET /logs) from the master and from a secondary while 4 clients
keep appending, and reports how long those appends waited meanwhile.

  --entries N   fill the log to N entries (default 1000000; --quick: 100000)
  --quick       the short run: 100,000 entries
  -h, --help    this text`;

export const DEFAULT_ENTRIES = 1_000_000;
export const QUICK_ENTRIES = 100_000;
export const MIN_ENTRIES = 1000;
export const MAX_ENTRIES = 20_000_000;

export interface MemoryOptions {
  readonly entries: number;
  readonly quick: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The options, or undefined for --help; throws UsageError (or parseArgs' own) on bad input. */
export function parseMemoryOptions(argv: readonly string[]): MemoryOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      entries: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick;
  const raw = values.entries;
  if (raw === undefined) return { entries: quick ? QUICK_ENTRIES : DEFAULT_ENTRIES, quick };
  const cleaned = raw.trim().replaceAll('_', '').replaceAll(',', '');
  const entries = Number(cleaned);
  if (!/^[0-9]+$/.test(cleaned) || entries < MIN_ENTRIES || entries > MAX_ENTRIES) {
    throw new UsageError(
      `--entries must be an integer from ${MIN_ENTRIES} to ${MAX_ENTRIES}; got "${raw}"`,
    );
  }
  return { entries, quick };
}

/** One request of a closed loop: when it left and when its answer was read (performance.now()). */
export interface Sample {
  readonly sentAtMs: number;
  readonly doneAtMs: number;
  readonly ok: boolean;
}

export interface LatencyStats {
  /** Successful requests counted. */
  readonly count: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of an ascending array; 0 when empty. */
export function percentile(sorted: readonly number[], percent: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Latency statistics of the samples `include` selects (exact: every latency is kept). */
export function latencyStats(
  samples: readonly Sample[],
  include: (sample: Sample) => boolean,
): LatencyStats {
  const latencies: number[] = [];
  let errors = 0;
  for (const sample of samples) {
    if (!include(sample)) continue;
    if (sample.ok) latencies.push(sample.doneAtMs - sample.sentAtMs);
    else errors += 1;
  }
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length === 0 ? 0 : latencies[latencies.length - 1]!,
  };
}

/**
 * The longest time between `fromMs` and `toMs` in which no request completed: with a few clients
 * in a closed loop, about the longest time the server answered nobody.
 */
export function longestGapMs(doneAtMs: readonly number[], fromMs: number, toMs: number): number {
  const inside = doneAtMs.filter((at) => at > fromMs && at < toMs).sort((a, b) => a - b);
  let previous = fromMs;
  let longest = 0;
  for (const at of [...inside, toMs]) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return longest;
}

export interface LogCheck {
  /** Entries in the body, when it was parsed. */
  readonly entries: number | undefined;
  readonly lastId: number | undefined;
  /** Why the body is not a well-formed log (ids 1..n in order, each with a string message). */
  readonly problem: string | undefined;
  /** False when the body was only checked for its first and last bytes (too large to parse). */
  readonly parsed: boolean;
}

/** Bodies above this are only checked for '[' ... ']': one JavaScript string cannot hold more. */
export const MAX_PARSED_BYTES = 400 * 1024 * 1024;

/** Checks a full GET /logs body: a JSON array of {id, message}, ids 1, 2, 3, ... in order. */
export function checkLogBody(body: Buffer): LogCheck {
  const first = body.length > 0 ? body[0] : undefined;
  const last = body.length > 0 ? body[body.length - 1] : undefined;
  if (first !== 0x5b || last !== 0x5d) {
    const ends = `${body.subarray(0, 20).toString()} ... ${body.subarray(-20).toString()}`;
    return {
      entries: undefined,
      lastId: undefined,
      problem: `not a JSON array: ${JSON.stringify(ends)}`,
      parsed: false,
    };
  }
  if (body.length > MAX_PARSED_BYTES) {
    return { entries: undefined, lastId: undefined, problem: undefined, parsed: false };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return {
      entries: undefined,
      lastId: undefined,
      problem: `not JSON: ${(error as Error).message}`,
      parsed: false,
    };
  }
  if (!Array.isArray(parsed)) {
    return { entries: undefined, lastId: undefined, problem: 'not an array', parsed: true };
  }
  let problem: string | undefined;
  for (let index = 0; index < parsed.length; index++) {
    const entry = parsed[index] as { id?: unknown; message?: unknown } | null;
    if (entry?.id !== index + 1 || typeof entry.message !== 'string') {
      problem = `entry ${index} is ${JSON.stringify(entry).slice(0, 100)}, expected id ${index + 1} with a message`;
      break;
    }
  }
  const lastEntry = parsed[parsed.length - 1] as { id?: unknown } | undefined;
  return {
    entries: parsed.length,
    lastId: typeof lastEntry?.id === 'number' ? lastEntry.id : undefined,
    problem,
    parsed: true,
  };
}

/** Columns padded to their widest cell: the first left-aligned, the others right-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    header
      .map((_, column) => {
        const cell = cells[column] ?? '';
        return column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!);
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

/** later / earlier as "x1.23"; "-" when there is nothing to divide by. */
export function formatRatio(later: number, earlier: number): string {
  if (!(earlier > 0) || !Number.isFinite(later)) return '-';
  const value = later / earlier;
  return `x${value < 10 ? value.toFixed(2) : value.toFixed(1)}`;
}

export function formatMiB(kib: number | undefined): string {
  return kib === undefined ? '?' : (kib / 1024).toFixed(0);
}
