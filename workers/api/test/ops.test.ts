import { env } from "cloudflare:workers";
import { lifecycleTimings, type OpsMetrics } from "@darkroom/shared";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { beforeEach, describe, expect, it } from "vitest";
import { allDatabases, dbOf, everyShard, placeTestUser } from "../../../test/workerd/shards";
import { bucketLow, bucketValue, PERCENTILE_RELATIVE_ERROR } from "../src/ops/histogram";
import { opsMetrics, stageTimeouts } from "../src/ops/metrics";
import { sweep } from "../src/sweeper";
import { call, json, makeEnv, tokenFor, userName } from "./helpers";
import { rowsReadMeter } from "./rows-read";

const OPERATOR = "ops-operator";
const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** A fixed "now" far from the other tests' rows, so every window below is ours alone. */
const NOW = Date.UTC(2100, 0, 1);
const TIMEOUTS = stageTimeouts(lifecycleTimings(env), { urlTtlSeconds: 900, graceSeconds: 600 });

function operatorEnv() {
  return makeEnv({}, { OPERATOR_SUBS: ` other-op , ${OPERATOR}` }).env;
}

type Seed = {
  status: string;
  statusAt: number;
  uploadedAt?: number;
  processedAt?: number;
  readyAt?: number;
  error?: { stage: string; code: string };
  retriedAt?: number;
  sweeps?: number;
  sweptAt?: number;
};

let uid = "";

/**
 * The percentile a histogram reports for an exact nearest-rank value `ms`: its bucket's
 * value, checked here to be within the stated relative error of `ms`.
 */
function approx(ms: number): number {
  const reported = bucketValue(bucketLow(ms));
  expect(Math.abs(reported - ms)).toBeLessThanOrEqual(ms * PERCENTILE_RELATIVE_ERROR);
  return reported;
}

async function seed(rows: Seed[]): Promise<string[]> {
  const ids: string[] = [];
  const db = await dbOf(uid);
  const statements = rows.map((r) => {
    const id = crypto.randomUUID();
    ids.push(id);
    const error = r.error ? JSON.stringify({ ...r.error, message: "seeded" }) : null;
    return db
      .prepare(
        `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
         error, created_at, updated_at, status_at, uploaded_at, processed_at, ready_at,
         retried_at, retries, sweeps, swept_at)
       VALUES (?, ?, ?, 'seeded.jpg', 1, 'image/jpeg', ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        id,
        uid,
        crypto.randomUUID(),
        id.replaceAll("-", "").padEnd(64, "0"),
        r.status,
        error,
        r.statusAt,
        r.statusAt,
        r.statusAt,
        r.uploadedAt ?? null,
        r.processedAt ?? null,
        r.readyAt ?? null,
        r.retriedAt ?? null,
        r.retriedAt ? 1 : 0,
        r.sweeps ?? 0,
        r.sweptAt ?? null,
      );
  });
  await db.batch(statements);
  return ids;
}

/**
 * The known load: every timestamp relative to NOW, so each count and percentile below
 * follows from these rows alone.
 */
async function seedKnownLoad(now = NOW) {
  const uploadedAt = now - 40 * MINUTE;
  // 20 photos through the pipeline: uploaded → processed took i s, processed → ready i·100 ms.
  await seed(
    Array.from({ length: 20 }, (_, k) => {
      const i = k + 1;
      const processedAt = uploadedAt + i * SECOND;
      return {
        status: "ready",
        statusAt: processedAt + i * 100,
        uploadedAt,
        processedAt,
        readyAt: processedAt + i * 100,
      };
    }),
  );
  // One finished before the window: counted nowhere.
  await seed([
    {
      status: "ready",
      statusAt: now - 2 * 60 * MINUTE,
      uploadedAt: now - 2 * 60 * MINUTE - 5 * MINUTE,
      processedAt: now - 2 * 60 * MINUTE - MINUTE,
      readyAt: now - 2 * 60 * MINUTE,
    },
  ]);
  // Waiting: 3 pending (1 past URL expiry + grace = 25 min), 2 uploaded (1 past 2 min),
  // 1 processing within its lease, 1 embedding past its 5-minute lease.
  const [stuckUploaded] = await seed([
    { status: "uploaded", statusAt: now - 7 * MINUTE, sweeps: 2, sweptAt: now - MINUTE },
    { status: "uploaded", statusAt: now - 30 * SECOND },
    { status: "pending", statusAt: now - 26 * MINUTE },
    { status: "pending", statusAt: now - MINUTE },
    { status: "pending", statusAt: now - 2 * MINUTE },
    { status: "processing", statusAt: now - MINUTE },
    { status: "embedding", statusAt: now - 6 * MINUTE },
  ]);
  // Failures: 3 decode failures in the window and 1 before it; 2 dead letters.
  await seed([
    ...[1, 2, 3].map(() => ({
      status: "failed",
      statusAt: now - 5 * MINUTE - 30 * SECOND,
      error: { stage: "processing", code: "decode_failed" },
    })),
    {
      status: "failed",
      statusAt: now - 3 * 60 * MINUTE,
      error: { stage: "processing", code: "decode_failed" },
    },
    ...[1, 2].map(() => ({
      status: "failed",
      statusAt: now - 5 * MINUTE - 30 * SECOND,
      error: { stage: "embedding", code: "retries_exhausted" },
    })),
  ]);
  // Retries: two assets retried in the window, one before.
  await seed([
    { status: "processed", statusAt: now - 30 * SECOND, retriedAt: now - 10 * MINUTE },
    { status: "processed", statusAt: now - 20 * SECOND, retriedAt: now - 20 * MINUTE },
    { status: "ready", statusAt: now - 5 * 60 * MINUTE, retriedAt: now - 5 * 60 * MINUTE },
  ]);
  // Upload registration: 100 requests of 1..100 ms, a refusal and one before the window.
  // Operator-wide rows: the directory keeps them (DESIGN.md, "Sharding").
  const directory = env.DIRECTORY;
  const timing = (at: number, ms: number, status: number) =>
    directory
      .prepare(
        "INSERT INTO request_timings (route, at, duration_ms, status) VALUES ('upload_registration', ?, ?, ?)",
      )
      .bind(at, ms, status);
  await directory.batch([
    ...Array.from({ length: 100 }, (_, k) => timing(now - 30 * MINUTE + k, k + 1, 200)),
    timing(now - 30 * MINUTE, 5000, 429),
    timing(now - 90 * MINUTE, 7000, 200),
  ]);
  // Sweeper: two runs in the window, one before it.
  const run = (startedAt: number, renotified: number, reprocessed: number) =>
    directory
      .prepare(
        `INSERT INTO sweep_runs (started_at, duration_ms, renotified, expired, purged, reprocessed, reembedded)
       VALUES (?, 12, ?, 0, 0, ?, 1)`,
      )
      .bind(startedAt, renotified, reprocessed);
  await directory.batch([
    run(now - 4 * MINUTE, 1, 0),
    run(now - 2 * MINUTE, 2, 3),
    run(now - 2 * 60 * MINUTE, 50, 50),
  ]);
  return { stuckUploaded };
}

beforeEach(async () => {
  // Stage counts and failure totals are over every row: start from none.
  for (const db of allDatabases()) {
    await db.batch(
      [
        "DELETE FROM batch_items",
        "DELETE FROM assets",
        "DELETE FROM request_timings",
        "DELETE FROM sweep_runs",
        // The rollups the triggers keep: every test's load lands in the same minutes.
        "DELETE FROM ops_counts",
        "DELETE FROM ops_failures",
        "DELETE FROM ops_latency",
      ].map((sql) => db.prepare(sql)),
    );
  }
  uid = crypto.randomUUID();
  await placeTestUser(uid, userName("seed"));
});

describe("ops routes", () => {
  it("answer 404 like a missing route to non-operators, bad tokens and no token", async () => {
    const e = operatorEnv();
    const missing = await (await call("/api/no-such-route", { env: e })).json();
    for (const path of ["/api/ops/metrics", "/api/ops/metrics?format=prometheus"]) {
      for (const token of [await tokenFor("someone-else"), "not-a-jwt", undefined]) {
        const res = await call(path, { token, env: e });
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual(missing);
      }
    }
    const retry = await call(
      "/api/ops/retry",
      json({ stage: "processing", code: "x" }, { token: await tokenFor("someone-else"), env: e }),
    );
    expect(retry.status).toBe(404);
    // Nobody is an operator by default, not even a subject that is one elsewhere.
    const res = await call("/api/ops/metrics", { token: await tokenFor(OPERATOR) });
    expect(res.status).toBe(404);
  });

  it("answer an operator listed in OPERATOR_SUBS", async () => {
    const res = await call("/api/ops/metrics?since=24h", {
      token: await tokenFor(OPERATOR),
      env: operatorEnv(),
    });
    expect(res.status).toBe(200);
    const body: OpsMetrics = await res.json();
    expect(body.window.name).toBe("24h");
    expect(body.window.until - body.window.since).toBe(24 * 60 * MINUTE);
    // The deployment's AiBreaker, closed while nothing has failed.
    expect(body.breaker).toMatchObject({ state: "closed", lastFailure: null });
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("refuses a window it does not know", async () => {
    const res = await call("/api/ops/metrics?since=7d", {
      token: await tokenFor(OPERATOR),
      env: operatorEnv(),
    });
    expect(res.status).toBe(400);
  });
});

describe("ops metrics after a known load", () => {
  it("give the exact counts, ages and nearest-rank percentiles", async () => {
    const { stuckUploaded } = await seedKnownLoad();
    const m = await opsMetrics(allDatabases(), "1h", TIMEOUTS, NOW);

    expect(m.stages).toEqual({
      pending: { count: 3, oldestAgeMs: 26 * MINUTE, timeoutMs: 25 * MINUTE, stuck: 1 },
      uploaded: { count: 2, oldestAgeMs: 7 * MINUTE, timeoutMs: 2 * MINUTE, stuck: 1 },
      processing: { count: 1, oldestAgeMs: MINUTE, timeoutMs: 2 * MINUTE, stuck: 0 },
      processed: { count: 2, oldestAgeMs: 30 * SECOND, timeoutMs: 10 * MINUTE, stuck: 0 },
      embedding: { count: 1, oldestAgeMs: 6 * MINUTE, timeoutMs: 5 * MINUTE, stuck: 1 },
    });

    // Nearest rank of 20 values 1..20 s: p50 the 10th, p95 the 19th, p99 the 20th, each
    // read from the fixed-bucket histogram: its bucket's value, within the stated bound.
    // Counts and sums are exact.
    expect(m.latency.uploaded_to_processed).toEqual({
      count: 20,
      sumMs: 210 * SECOND,
      p50: approx(10 * SECOND),
      p95: approx(19 * SECOND),
      p99: approx(20 * SECOND),
    });
    expect(m.latency.processed_to_ready).toEqual({
      count: 20,
      sumMs: 21_000,
      p50: approx(1000),
      p95: approx(1900),
      p99: approx(2000),
    });
    // 100 requests of 1..100 ms: the 50th, 95th and 99th; the 429 and the old one excluded.
    expect(m.latency.upload_registration).toEqual({
      count: 100,
      sumMs: 5050,
      p50: approx(50),
      p95: approx(95),
      p99: approx(99),
    });

    // Uploads 40 min ago fall in minute 19 of the hour, processing and ready in minute 20,
    // the five failures in minute 54.
    expect(m.throughput.bucketMs).toBe(MINUTE);
    expect(m.throughput.series).toHaveLength(60);
    expect(m.throughput.series[19]).toEqual({
      at: NOW - 41 * MINUTE,
      uploaded: 20,
      processed: 0,
      ready: 0,
      failed: 0,
    });
    expect(m.throughput.series[20]).toMatchObject({ uploaded: 0, processed: 20, ready: 20 });
    expect(m.throughput.series[54]).toMatchObject({ failed: 5 });
    const nonZero = m.throughput.series.filter(
      (b) => b.uploaded + b.processed + b.ready + b.failed > 0,
    );
    expect(nonZero).toHaveLength(3);
    expect(m.throughput.perMinute).toEqual({
      uploaded: 20 / 60,
      processed: 20 / 60,
      ready: 20 / 60,
      failed: 5 / 60,
    });

    expect(m.failures).toEqual([
      { stage: "processing", code: "decode_failed", inWindow: 3, total: 4 },
      { stage: "embedding", code: "retries_exhausted", inWindow: 2, total: 2 },
    ]);
    expect(m.deadLetters.inWindow).toBe(2);
    expect(m.deadLetters.items.map((i) => i.error?.code)).toEqual([
      "retries_exhausted",
      "retries_exhausted",
    ]);
    expect(m.retries).toEqual({ assets: 2 });

    // Stuck: oldest first, with what the sweeper did about each.
    expect(m.stuck.count).toBe(3);
    expect(m.stuck.items.map((i) => [i.status, i.ageMs])).toEqual([
      ["pending", 26 * MINUTE],
      ["uploaded", 7 * MINUTE],
      ["embedding", 6 * MINUTE],
    ]);
    expect(m.stuck.items[1]).toMatchObject({
      id: stuckUploaded,
      sweeps: 2,
      sweptAt: NOW - MINUTE,
    });

    expect(m.sweeper.lastRun).toEqual({
      startedAt: NOW - 2 * MINUTE,
      durationMs: 12,
      renotified: 2,
      expired: 0,
      purged: 0,
      reprocessed: 3,
      reembedded: 1,
    });
    expect(m.sweeper.inWindow).toEqual({
      runs: 2,
      renotified: 3,
      expired: 0,
      purged: 0,
      reprocessed: 3,
      reembedded: 2,
    });
  });

  it("merged over two shards add every count and keep the percentiles", async () => {
    await seedKnownLoad();
    const one = await opsMetrics(allDatabases(), "1h", TIMEOUTS, NOW);
    // Every database twice: the same load again, so every count doubles and a merged
    // histogram of two equal halves has the same percentiles.
    const two = await opsMetrics([...allDatabases(), ...allDatabases()], "1h", TIMEOUTS, NOW);
    expect(two.stages.pending).toEqual({ ...one.stages.pending, count: 6, stuck: 2 });
    expect(two.latency.uploaded_to_processed).toEqual({
      ...one.latency.uploaded_to_processed,
      count: 40,
      sumMs: 420 * SECOND,
    });
    expect(two.throughput.perMinute.ready).toBe(2 * one.throughput.perMinute.ready);
    expect(two.failures).toEqual(
      one.failures.map((f) => ({ ...f, inWindow: 2 * f.inWindow, total: 2 * f.total })),
    );
    expect(two.retries.assets).toBe(4);
    expect(two.stuck.count).toBe(6);
    expect(two.stuck.items.map((i) => i.ageMs)).toEqual(
      one.stuck.items.flatMap((i) => [i.ageMs, i.ageMs]),
    );
    expect(two.sweeper.inWindow.runs).toBe(4);
  });

  it("over 24 hours read as many rows for 1,000 photos in the window as for 10", async () => {
    const photos = (n: number) =>
      seed(
        Array.from({ length: n }, (_, k) => ({
          status: "ready",
          statusAt: NOW - 3 * MINUTE,
          uploadedAt: NOW - 5 * MINUTE - (k % 7) * SECOND,
          processedAt: NOW - 4 * MINUTE,
          readyAt: NOW - 3 * MINUTE,
        })),
      );
    const rowsRead = async () => {
      const meters = allDatabases().map(rowsReadMeter);
      const m = await opsMetrics(
        meters.map((meter) => meter.db),
        "24h",
        TIMEOUTS,
        NOW,
      );
      const rows = meters.reduce((n, meter) => n + meter.rowsRead(), 0);
      return { rows, ready: m.latency.processed_to_ready.count };
    };
    await photos(10);
    const small = await rowsRead();
    for (let i = 0; i < 11; i++) await photos(90);
    const large = await rowsRead();
    expect([small.ready, large.ready]).toEqual([10, 1000]);
    expect(large.rows).toBe(small.rows);
    expect(small.rows).toBeGreaterThan(0);
  });

  it("over 24 hours count what the last hour left out", async () => {
    await seedKnownLoad();
    const m = await opsMetrics(allDatabases(), "24h", TIMEOUTS, NOW);
    expect(m.throughput.bucketMs).toBe(30 * MINUTE);
    expect(m.throughput.series).toHaveLength(48);
    expect(m.latency.uploaded_to_processed.count).toBe(21);
    expect(m.latency.upload_registration).toMatchObject({ count: 101, p99: approx(100) });
    expect(m.failures[0]).toEqual({
      stage: "processing",
      code: "decode_failed",
      inWindow: 4,
      total: 4,
    });
    expect(m.retries).toEqual({ assets: 3 });
    expect(m.sweeper.inWindow.runs).toBe(3);
  });

  it("in Prometheus text parse with a real parser and carry the same numbers", async () => {
    // Through the route: its window ends at the real now, so the load is seeded there.
    await seedKnownLoad(Date.now());
    const res = await call("/api/ops/metrics?format=prometheus", {
      token: await tokenFor(OPERATOR),
      env: operatorEnv(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusTextFormat(await res.text());
    const byName = new Map(families.map((f) => [f.name, f]));

    const summary = byName.get("darkroom_uploaded_to_processed_seconds");
    expect(summary?.type).toBe("SUMMARY");
    expect(summary?.metrics[0]).toMatchObject({
      quantiles: {
        "0.5": String(approx(10 * SECOND) / 1000),
        "0.95": String(approx(19 * SECOND) / 1000),
        "0.99": String(approx(20 * SECOND) / 1000),
      },
      count: "20",
      sum: "210",
    });
    const stuck = byName.get("darkroom_stage_stuck_assets");
    expect(stuck?.type).toBe("GAUGE");
    expect(stuck?.metrics).toContainEqual({ labels: { stage: "embedding" }, value: "1" });
    expect(byName.get("darkroom_failed_assets")?.metrics).toContainEqual({
      labels: { stage: "processing", code: "decode_failed" },
      value: "3",
    });
    expect(byName.get("darkroom_ai_breaker_state")?.metrics).toEqual([
      { labels: { state: "closed" }, value: "1" },
    ]);
    expect(byName.get("darkroom_dead_letters")?.metrics[0]?.value).toBe("2");
  });
});

describe("ops actions and records", () => {
  it("retry all with a code sends back exactly those failed assets, through the user retry path", async () => {
    const [emb1, emb2] = await seed([
      { status: "failed", statusAt: NOW, error: { stage: "embedding", code: "ai_not_allowed" } },
      { status: "failed", statusAt: NOW, error: { stage: "embedding", code: "ai_not_allowed" } },
    ]);
    const [other, otherStage] = await seed([
      { status: "failed", statusAt: NOW, error: { stage: "embedding", code: "thumb_missing" } },
      { status: "failed", statusAt: NOW, error: { stage: "processing", code: "ai_not_allowed" } },
    ]);
    const { env: e, sent } = makeEnv({}, { OPERATOR_SUBS: OPERATOR });
    const res = await call(
      "/api/ops/retry",
      json(
        { stage: "embedding", code: "ai_not_allowed" },
        { token: await tokenFor(OPERATOR), env: e },
      ),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      requeued: 2,
      reupload: 0,
      skipped: 0,
      retryLimitReached: 0,
    });
    // Paid like a user's retries: one work token per asset from the operator's bucket.
    expect(res.headers.get("RateLimit-Remaining")).not.toBeNull();
    const status = async (id: string | undefined) =>
      everyShard
        .prepare("SELECT status, retries, retried_at FROM assets WHERE id = ?")
        .bind(id ?? "")
        .first<{ status: string; retries: number; retried_at: number | null }>();
    for (const id of [emb1, emb2]) {
      expect(await status(id)).toMatchObject({ status: "processed", retries: 1 });
      expect(sent).toContainEqual({ queue: "embed", body: { assetId: id, uid } });
    }
    expect(await status(other)).toMatchObject({ status: "failed", retries: 0 });
    expect(await status(otherStage)).toMatchObject({ status: "failed", retries: 0 });
    expect(sent).toHaveLength(2);
  });

  it("refuses a retry without a stage and code", async () => {
    const res = await call(
      "/api/ops/retry",
      json({ code: "x" }, { token: await tokenFor(OPERATOR), env: operatorEnv() }),
    );
    expect(res.status).toBe(400);
  });

  it("keeps the api's time of each upload registration", async () => {
    const before = Date.now();
    const res = await call(
      "/api/uploads",
      json(
        {
          files: [
            {
              clientId: "a",
              name: "a.jpg",
              size: 10,
              type: "image/jpeg",
              sha256: "ab".repeat(32),
            },
          ],
        },
        { token: await tokenFor(userName()) },
      ),
    );
    expect(res.status).toBe(200);
    const row = await env.DIRECTORY.prepare(
      "SELECT route, at, duration_ms, status FROM request_timings ORDER BY id DESC LIMIT 1",
    ).first<{ route: string; at: number; duration_ms: number; status: number }>();
    expect(row).toMatchObject({ route: "upload_registration", status: 200 });
    expect(row?.at).toBeGreaterThanOrEqual(before);
    expect(row?.duration_ms).toBeGreaterThanOrEqual(0);
    // Other routes keep nothing in D1.
    await call("/api/stats", { token: await tokenFor(userName()) });
    const n = await env.DIRECTORY.prepare("SELECT COUNT(*) AS n FROM request_timings").first<{
      n: number;
    }>();
    expect(n?.n).toBe(1);
  });

  it("shows what the sweeper re-sent for a stuck asset, and its run", async () => {
    const [stuck] = await seed([{ status: "processed", statusAt: Date.now() - 11 * MINUTE }]);
    await everyShard
      .prepare("UPDATE assets SET updated_at = status_at WHERE id = ?")
      .bind(stuck ?? "")
      .run();
    const report = await sweep(makeEnv().env);
    expect(report.reembedded).toBe(1);
    const m = await opsMetrics(allDatabases(), "1h", TIMEOUTS);
    expect(m.stuck.items).toEqual([
      expect.objectContaining({ id: stuck, status: "processed", sweeps: 1 }),
    ]);
    expect(m.sweeper.lastRun).toMatchObject({ reembedded: 1 });
    expect(m.sweeper.inWindow).toMatchObject({ runs: 1, reembedded: 1 });
  });
});
