/**
 * A value per time bucket (per second, say) over a sliding window, for the dashboard's chart:
 * samples are folded into their bucket with `combine` (a sum for counts, a max for lags), buckets
 * older than the window are dropped, so it holds at most `count` buckets whatever happens.
 */

/** What a bucket without samples shows: 0 (nothing counted), or the value before it (a level). */
export type BucketFill = 'zero' | 'previous';

export class BucketSeries {
  /** Value by bucket number (time / bucketMs, rounded down). */
  readonly #buckets = new Map<number, number>();
  /** The newest dropped bucket's value: what a 'previous' fill starts from. */
  #before: { readonly bucket: number; readonly value: number } | undefined;
  /** The last bucket of the last prune: until time reaches the next one, nothing gets old. */
  #prunedAtBucket = -Infinity;

  constructor(
    readonly bucketMs: number,
    /** Buckets in the window, the current one included. */
    readonly count: number,
    private readonly combine: (held: number, sample: number) => number,
  ) {
    if (!(bucketMs > 0) || !Number.isInteger(count) || count < 1) {
      throw new Error(
        `a bucket series needs bucketMs > 0 and a whole count >= 1 (got ${bucketMs} ms, ${count}); pass positive values`,
      );
    }
  }

  /** Folds `value` into the bucket of `atMs`; a sample older than the window is dropped. */
  add(atMs: number, value: number, nowMs: number): void {
    this.#prune(nowMs);
    const bucket = Math.floor(atMs / this.bucketMs);
    if (bucket <= this.#lastBucket(nowMs) - this.count) return;
    const held = this.#buckets.get(bucket);
    this.#buckets.set(bucket, held === undefined ? value : this.combine(held, value));
  }

  /** Start of the bucket `nowMs` falls in. */
  currentStartMs(nowMs: number): number {
    return this.#lastBucket(nowMs) * this.bucketMs;
  }

  /** The window's values, oldest first, the current bucket last; null: nothing to show yet. */
  values(nowMs: number, fill: BucketFill): (number | null)[] {
    this.#prune(nowMs);
    const last = this.#lastBucket(nowMs);
    let previous: number | null = this.#before?.value ?? null;
    const values: (number | null)[] = [];
    for (let bucket = last - this.count + 1; bucket <= last; bucket++) {
      const value = this.#buckets.get(bucket);
      if (value !== undefined) previous = value;
      values.push(value ?? (fill === 'zero' ? 0 : previous));
    }
    return values;
  }

  #lastBucket(nowMs: number): number {
    return Math.floor(nowMs / this.bucketMs);
  }

  #prune(nowMs: number): void {
    // Samples go only into the window's buckets, so a prune within the same bucket finds nothing:
    // skipping it keeps `add` (once per append, for the appends chart) from scanning every bucket.
    const last = this.#lastBucket(nowMs);
    if (last === this.#prunedAtBucket) return;
    this.#prunedAtBucket = last;
    const oldest = last - this.count + 1;
    for (const [bucket, value] of this.#buckets) {
      if (bucket >= oldest) continue;
      this.#buckets.delete(bucket);
      if (this.#before === undefined || bucket > this.#before.bucket) {
        this.#before = { bucket, value };
      }
    }
  }
}
