import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  BUCKET_LOWS,
  bucketLow,
  bucketValue,
  type Histogram,
  histogramCount,
  histogramPercentile,
  mergeHistograms,
  PERCENTILE_RELATIVE_ERROR,
} from "../src/ops/histogram";

/** A fixed pseudo-random sequence (a linear congruential generator): the same every run. */
function durations(n: number, seed: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    // Spread over six orders of magnitude, like real latencies (1 ms .. ~20 min).
    out.push(Math.floor(10 ** (6 * (x / 2 ** 31))));
  }
  return out;
}

function histogramOf(values: readonly number[]): Histogram {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(bucketLow(v), (counts.get(bucketLow(v)) ?? 0) + 1);
  return { counts, sumMs: values.reduce((a, b) => a + b, 0) };
}

/** The exact nearest-rank percentile: the ceil(p·n/100)-th smallest value. */
function exactPercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1] ?? Number.NaN;
}

describe("latency histograms", () => {
  it("have the same buckets in D1 as in code", async () => {
    const { results } = await env.DB_0.prepare(
      "SELECT lo FROM ops_latency_bounds ORDER BY lo",
    ).all<{
      lo: number;
    }>();
    expect(results.map((r) => r.lo)).toEqual(BUCKET_LOWS);
  });

  it("bucket a duration in D1's trigger as the code does", async () => {
    const values = [0, 1, 15, 16, 17, 31, 32, 33, 100, 999, 1000, 1024, 65_535, 3_600_000];
    const at = Date.UTC(2102, 0, 1);
    const db = env.DB_0;
    await db.batch(
      values.map((ms, i) =>
        db
          .prepare(
            "INSERT INTO request_timings (route, at, duration_ms, status) VALUES (?, ?, ?, 200)",
          )
          .bind(`bucket_check_${i}`, at, ms),
      ),
    );
    const { results } = await db
      .prepare("SELECT series, lo FROM ops_latency WHERE series LIKE 'bucket_check_%'")
      .all<{ series: string; lo: number }>();
    const byIndex = new Map(results.map((r) => [Number(r.series.split("_").at(-1)), r.lo]));
    expect(values.map((_, i) => byIndex.get(i))).toEqual(values.map((ms) => bucketLow(ms)));
  });

  it("put every duration in the bucket whose range holds it", () => {
    for (const v of durations(5000, 7)) {
      const low = bucketLow(v);
      const i = BUCKET_LOWS.indexOf(low);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(low).toBeLessThanOrEqual(v);
      const next = BUCKET_LOWS[i + 1];
      if (next !== undefined) expect(v).toBeLessThan(next);
    }
  });

  it("merged across shards equal the histogram of all durations, percentiles within the bound", () => {
    const shardA = durations(3000, 1);
    const shardB = durations(1700, 2);
    const shardC = durations(40, 3);
    const merged = mergeHistograms([histogramOf(shardA), histogramOf(shardB), histogramOf(shardC)]);
    const all = [...shardA, ...shardB, ...shardC];
    const whole = histogramOf(all);
    expect(histogramCount(merged)).toBe(all.length);
    expect(merged.sumMs).toBe(whole.sumMs);
    expect(new Map([...merged.counts].sort())).toEqual(new Map([...whole.counts].sort()));
    for (const p of [1, 10, 50, 90, 95, 99, 99.9, 100]) {
      const exact = exactPercentile(all, p);
      const reported = histogramPercentile(merged, p);
      expect(reported).not.toBeNull();
      expect(Math.abs((reported ?? 0) - exact)).toBeLessThanOrEqual(
        exact * PERCENTILE_RELATIVE_ERROR,
      );
    }
  });

  it("report a bucket's middle, exact below 32 ms, and nothing for no durations", () => {
    for (let v = 0; v < 32; v++) expect(bucketValue(bucketLow(v))).toBe(v);
    // 1000 ms falls in [992, 1024): 32 ms wide, reported as its middle.
    expect(bucketLow(1000)).toBe(992);
    expect(bucketValue(992)).toBe(1008);
    expect(histogramPercentile({ counts: new Map(), sumMs: 0 }, 50)).toBeNull();
  });
});
