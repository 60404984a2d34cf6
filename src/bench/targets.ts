/**
 * Issue 15's targets, each a ratio of two figures measured in the same bench run (or, for the
 * batch, an absolute rate): what the bench prints after its table, and writes with its results.
 */

/** The figures of one scenario at one client count (a row of the table). */
export interface TargetFigures {
  readonly throughput: number;
  readonly p50Ms: number;
}

/** The row of scenario `id` at `clients`, if that run was measured. */
export type FindFigures = (id: string, clients: number) => TargetFigures | undefined;

export interface TargetResult {
  /** What is compared, e.g. `w=all 64c vs redis WAIT 2`. */
  readonly name: string;
  /** The measured ratio (or rate); undefined when a figure it needs was not measured. */
  readonly measured: number | undefined;
  readonly comparison: '>=' | '<=';
  readonly bound: number;
  readonly unit: 'ratio' | 'rate';
  /** Why it could not be evaluated, when `measured` is undefined. */
  readonly missing?: string;
  readonly met: boolean | undefined;
}

/** One target: how to get its measured value from a run's figures. */
export interface Target {
  readonly name: string;
  readonly comparison: '>=' | '<=';
  readonly bound: number;
  /** 'ratio' prints x0.62; 'rate' prints 250,000/s. */
  readonly unit: 'ratio' | 'rate';
  /** The measured value, or a text naming the run that is missing. */
  measure(find: FindFigures): number | string;
}

/** Scenario ids of the anchors (the same in every mode). */
const REDIS_WAIT2 = 'redis-wait2';
const REDIS_WAIT0 = 'redis-wait0';
const ETCD = 'etcd';
const NOOP = 'noop';
const MANY = 64;
export const BATCH_TARGET_PER_S = 250_000;

type Pick = 'throughput' | 'p50Ms';

/** find(a).pick / find(b).pick, or a text naming the first run that is missing. */
function ratioOf(
  find: FindFigures,
  [idA, idB]: readonly [string, string],
  clients: number,
  pick: Pick,
): number | string {
  const a = find(idA, clients);
  const b = find(idB, clients);
  if (a === undefined) return `${idA} at ${clients} clients not measured`;
  if (b === undefined) return `${idB} at ${clients} clients not measured`;
  if (!(a[pick] > 0) || !(b[pick] > 0)) return `no successful request in ${idA} or ${idB}`;
  return a[pick] / b[pick];
}

/**
 * The targets for our scenarios whose ids start with `prefix` ('' for the fixed master, 'fo-'
 * for the failover cluster), named with `labelOf(id)`; anchors and the no-op server keep their ids.
 */
export function issue15Targets(prefix: string, labelOf: (id: string) => string): Target[] {
  const our = (id: string): string => `${prefix}${id}`;
  const ratio = (
    a: string,
    b: string,
    clients: number,
    pick: Pick,
    comparison: '>=' | '<=',
    bound: number,
  ): Target => ({
    name: `${labelOf(a)} ${clients}c ${pick === 'p50Ms' ? 'p50 ' : ''}vs ${labelOf(b)}`,
    comparison,
    bound,
    unit: 'ratio',
    measure: (find) => ratioOf(find, [a, b], clients, pick),
  });
  return [
    ratio(our('wall'), REDIS_WAIT2, MANY, 'throughput', '>=', 1.0),
    ratio(our('w1'), our('wall'), MANY, 'throughput', '>=', 1.0),
    ratio(our('w1'), REDIS_WAIT0, MANY, 'throughput', '>=', 0.9),
    ratio(our('wall'), NOOP, 1, 'p50Ms', '<=', 2.0),
    ratio(our('wall-fsync'), ETCD, 1, 'p50Ms', '<=', 1.0),
    ratio(our('wall-fsync'), ETCD, MANY, 'throughput', '>=', 3.0),
    ratio(our('wall-fsync'), our('wall'), MANY, 'throughput', '>=', 0.6),
    batchTarget(our('batch'), labelOf),
  ];
}

/** The batch's best rate over the client counts measured (64 is the one the issue quotes). */
function batchTarget(id: string, labelOf: (id: string) => string): Target {
  return {
    name: `${labelOf(id)} messages/s`,
    comparison: '>=',
    bound: BATCH_TARGET_PER_S,
    unit: 'rate',
    measure: (find) => {
      const rates = [1, 16, MANY, 128, 256].flatMap((clients) => {
        const figures = find(id, clients);
        return figures === undefined ? [] : [figures.throughput];
      });
      return rates.length === 0 ? `${id} not measured` : Math.max(...rates);
    },
  };
}

export function evaluate(targets: readonly Target[], find: FindFigures): TargetResult[] {
  return targets.map((target) => {
    const value = target.measure(find);
    const { name, comparison, bound, unit } = target;
    const common = { name, comparison, bound, unit };
    if (typeof value === 'string')
      return { ...common, measured: undefined, missing: value, met: undefined };
    const met = target.comparison === '>=' ? value >= target.bound : value <= target.bound;
    return { ...common, measured: value, met };
  });
}

/** `w=all 64c vs redis WAIT 2: x0.62  target >= 1.0  MISSED`, one line per target. */
export function formatTargets(results: readonly TargetResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  return results
    .map((result) => {
      const rate = result.unit === 'rate';
      const show = (value: number): string =>
        rate ? `${Math.round(value).toLocaleString('en-US')}/s` : `x${value.toFixed(2)}`;
      const head = `${result.name.padEnd(width)}  `;
      const bound = `target ${result.comparison} ${rate ? show(result.bound) : result.bound.toFixed(1)}`;
      if (result.measured === undefined)
        return `${head}${'-'.padStart(8)}  ${bound}  not measured (${result.missing ?? '?'})`;
      return `${head}${show(result.measured).padStart(8)}  ${bound}  ${result.met === true ? '✓ met' : '✗ MISSED'}`;
    })
    .join('\n');
}
