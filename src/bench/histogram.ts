/**
 * A log-linear latency histogram in the manner of HdrHistogram: values below 2^SUB_BITS µs are
 * counted exactly, above that every power of two is split into 2^(SUB_BITS-1) equal buckets. So a
 * reported percentile is within 1/128 (< 0.8 %) of the true value, and memory is a fixed array of a
 * few thousand counters however many requests a run makes (a sorted array of samples would grow
 * with the run).
 */
const SUB_BITS = 8;
const SUB_BUCKETS = 1 << SUB_BITS; // 256: exact range, in µs
const HALF_SUB_BUCKETS = SUB_BUCKETS >> 1; // 128 buckets per power of two above it
/** Larger values are clamped: 2^31 µs is about 36 minutes, far beyond any request timeout. */
const MAX_TRACKABLE_US = 2 ** 31 - 1;
const MAX_MAGNITUDE = 30; // floor(log2(MAX_TRACKABLE_US))
const BUCKET_COUNT = SUB_BUCKETS + (MAX_MAGNITUDE - SUB_BITS + 1) * HALF_SUB_BUCKETS;

function bucketOf(valueUs: number): number {
  if (valueUs < SUB_BUCKETS) return valueUs;
  // 31 - clz32 is floor(log2) exactly, where Math.log2 could round up just below a power of two.
  const magnitude = 31 - Math.clz32(valueUs);
  const shift = magnitude - SUB_BITS + 1;
  return SUB_BUCKETS + (shift - 1) * HALF_SUB_BUCKETS + ((valueUs >>> shift) - HALF_SUB_BUCKETS);
}

/** The largest value that falls into `bucket`; percentiles report it, as HdrHistogram does. */
function highestValueOf(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket;
  const offset = bucket - SUB_BUCKETS;
  const shift = Math.floor(offset / HALF_SUB_BUCKETS) + 1;
  const sub = (offset % HALF_SUB_BUCKETS) + HALF_SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

export class LatencyHistogram {
  // Float64 rather than Uint32: exact integer counts up to 2^53, no silent wrap-around.
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #sumUs = 0;
  #minUs = Number.POSITIVE_INFINITY;
  #maxUs = 0;

  /** Records one latency, rounded to whole microseconds; negative values count as 0. */
  recordUs(latencyUs: number): void {
    const valueUs = Math.min(MAX_TRACKABLE_US, Math.max(0, Math.round(latencyUs)));
    this.#counts[bucketOf(valueUs)]! += 1;
    this.#count += 1;
    this.#sumUs += valueUs;
    if (valueUs < this.#minUs) this.#minUs = valueUs;
    if (valueUs > this.#maxUs) this.#maxUs = valueUs;
  }

  get count(): number {
    return this.#count;
  }

  /** 0 when empty, so that results stay plain numbers (JSON has no NaN). */
  get minUs(): number {
    return this.#count === 0 ? 0 : this.#minUs;
  }

  get maxUs(): number {
    return this.#maxUs;
  }

  get meanUs(): number {
    return this.#count === 0 ? 0 : this.#sumUs / this.#count;
  }

  /**
   * The value below or at which `percentile` % of the recorded values lie (nearest rank), to the
   * histogram's precision, and never outside the exact [min, max] seen; 0 when empty.
   */
  valueAtPercentileUs(percentile: number): number {
    if (!(percentile >= 0 && percentile <= 100)) {
      throw new RangeError(`percentile must be within 0..100; got ${percentile}`);
    }
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.#count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) {
        return Math.max(this.#minUs, Math.min(this.#maxUs, highestValueOf(bucket)));
      }
    }
    return this.#maxUs;
  }
}
