/** What the bench's table shows for one scenario at one client count. */
export interface RoundResult {
  readonly label: string;
  readonly clients: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly errors: number;
  readonly vsNoop?: {
    readonly throughput: number;
    readonly p50: number;
    readonly p99: number;
    readonly p999: number;
  };
}

export interface RoundSummary extends RoundResult {
  readonly rounds: number;
  /** Lowest and highest throughput ratio to the no-op server over the rounds. */
  readonly throughputRatioRange?: readonly [number, number];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * One row per scenario and client count, in the order first measured: the median of each figure
 * (and of each ratio, each taken within its own round) over the rounds, errors summed. On a
 * shared machine one round can land on a burst of someone else's work; the median of several
 * does not.
 */
export function summarizeRounds(results: readonly RoundResult[]): RoundSummary[] {
  const groups = new Map<string, RoundResult[]>();
  for (const result of results) {
    const key = `${result.label}\u0000${result.clients}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [result]);
    else group.push(result);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const of = (pick: (result: RoundResult) => number): number => median(group.map(pick));
    const ratios = group.flatMap((result) => (result.vsNoop === undefined ? [] : [result.vsNoop]));
    const summary: RoundSummary = {
      label: first.label,
      clients: first.clients,
      rounds: group.length,
      throughput: of((result) => result.throughput),
      p50Ms: of((result) => result.p50Ms),
      p99Ms: of((result) => result.p99Ms),
      p999Ms: of((result) => result.p999Ms),
      errors: group.reduce((sum, result) => sum + result.errors, 0),
    };
    if (ratios.length === 0) return summary;
    const throughputs = ratios.map((ratio) => ratio.throughput);
    return {
      ...summary,
      vsNoop: {
        throughput: median(throughputs),
        p50: median(ratios.map((ratio) => ratio.p50)),
        p99: median(ratios.map((ratio) => ratio.p99)),
        p999: median(ratios.map((ratio) => ratio.p999)),
      },
      throughputRatioRange: [Math.min(...throughputs), Math.max(...throughputs)],
    };
  });
}
