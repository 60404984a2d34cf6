/** The guarantees of docs/GUARANTEES.md, by number, as the simulator names them in its errors. */
export const GUARANTEES = {
  1: 'acknowledged-means-held',
  2: 'no-lost-acknowledgements',
  3: 'agreement',
  4: 'gap-free-prefix',
  5: 'no-duplicates',
  6: 'no-phantoms',
  7: 'order-respects-time',
  8: 'monotonic-reads',
  9: 'honest-write-concern',
  10: 'read-only-is-explicit',
  11: 'convergence',
  12: 'no-head-of-line-blocking',
  13: 'health-is-accurate',
} as const;

export type GuaranteeNumber = keyof typeof GUARANTEES;

/** Where a run is: enough to name a failure and to replay it. */
export interface RunPosition {
  readonly seed: number;
  readonly step: number;
  readonly nowMs: number;
}

/** A broken guarantee (or a core invariant that threw), with what it takes to replay it. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';

  constructor(
    readonly guarantee: string,
    readonly position: RunPosition,
    readonly details: string,
    readonly recentTrace: readonly string[] = [],
  ) {
    super(
      `${guarantee} violated at seed ${position.seed}, step ${position.step}, t=${position.nowMs}ms: ${details}`,
    );
  }
}

export function guaranteeLabel(number: GuaranteeNumber): string {
  return `G${number} ${GUARANTEES[number]}`;
}
