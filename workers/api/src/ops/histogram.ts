/**
 * Fixed-bucket latency histograms (DESIGN.md, "Counters and rollups"): every shard buckets
 * a duration the same way (migrations/0007_counters_and_rollups.sql fills
 * `ops_latency_bounds` with these lows), so histograms of several shards, or of several
 * minutes, merge by adding counts per bucket, and a percentile of the merged histogram is
 * the percentile of all the durations together, within PERCENTILE_RELATIVE_ERROR.
 *
 * Buckets: one per millisecond below EXACT_BELOW, then SUB_BUCKETS per power of two: from
 * 2^e the width is 2^e / SUB_BUCKETS. The last bucket (from LAST_LOW, ~31 h) is open.
 */
export const EXACT_BELOW = 16;
export const SUB_BUCKETS = 16;
export const BUCKET_COUNT = 384;

/**
 * A percentile read from a histogram is within this fraction of the exact nearest-rank
 * value, for durations below the open last bucket: the value reported is the middle of
 * the bucket holding that rank, at most half a bucket (2^e / 32 ≤ value / 32) away.
 */
export const PERCENTILE_RELATIVE_ERROR = 1 / 32;

/** The lower bound of bucket `i` (0 ≤ i < BUCKET_COUNT). */
export function bucketLowAt(i: number): number {
  if (i < EXACT_BELOW) return i;
  const e = 4 + Math.floor((i - EXACT_BELOW) / SUB_BUCKETS);
  const j = (i - EXACT_BELOW) % SUB_BUCKETS;
  return 2 ** e + j * 2 ** (e - 4);
}

/** Every bucket's lower bound, ascending: what `ops_latency_bounds` holds. */
export const BUCKET_LOWS: readonly number[] = Array.from({ length: BUCKET_COUNT }, (_, i) =>
  bucketLowAt(i),
);

const LAST_LOW = BUCKET_LOWS[BUCKET_COUNT - 1] ?? 0;

/** The lower bound of the bucket a duration (whole ms, ≥ 0) falls in. */
export function bucketLow(ms: number): number {
  const v = Math.max(0, Math.floor(ms));
  if (v < EXACT_BELOW) return v;
  if (v >= LAST_LOW) return LAST_LOW;
  const e = Math.floor(Math.log2(v));
  const width = 2 ** (e - 4);
  return 2 ** e + Math.floor((v - 2 ** e) / width) * width;
}

/** The value a bucket stands for: the middle of the whole milliseconds it holds. */
export function bucketValue(low: number): number {
  if (low < EXACT_BELOW || low >= LAST_LOW) return low;
  const width = 2 ** (Math.floor(Math.log2(low)) - 4);
  return Math.round(low + (width - 1) / 2);
}

/** Counts by bucket lower bound, plus the exact sum of the durations. */
export type Histogram = { readonly counts: ReadonlyMap<number, number>; readonly sumMs: number };

export const emptyHistogram: Histogram = { counts: new Map(), sumMs: 0 };

/** Histograms added: the histogram of all their durations together. */
export function mergeHistograms(parts: readonly Histogram[]): Histogram {
  const counts = new Map<number, number>();
  let sumMs = 0;
  for (const h of parts) {
    sumMs += h.sumMs;
    for (const [low, n] of h.counts) counts.set(low, (counts.get(low) ?? 0) + n);
  }
  return { counts, sumMs };
}

export function histogramCount(h: Histogram): number {
  let n = 0;
  for (const c of h.counts.values()) n += c;
  return n;
}

/**
 * The nearest-rank p-th percentile (the ceil(p·n/100)-th smallest duration), as the value
 * of the bucket holding that rank; null for an empty histogram.
 */
export function histogramPercentile(h: Histogram, p: number): number | null {
  const n = histogramCount(h);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil((p * n) / 100));
  let seen = 0;
  for (const low of [...h.counts.keys()].sort((a, b) => a - b)) {
    seen += h.counts.get(low) ?? 0;
    if (seen >= rank) return bucketValue(low);
  }
  return null;
}
