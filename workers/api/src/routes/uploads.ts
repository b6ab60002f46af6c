import {
  type AssetEventInput,
  assetEvent,
  eventColumns,
  eventRowSchema,
  originalKey,
  PIPELINE,
  storeFor,
  type UploadResponse,
  uploadRequestSchema,
  versioned,
} from "@darkroom/shared";
import { assets, batches, batchItems, filterOnly } from "@darkroom/shared/db";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { Hono } from "hono";
import { z } from "zod";
import { BadRequest, Conflict, NotFound } from "../errors";
import { chunks } from "../lib/bindings/db";
import { publish } from "../lib/bindings/hub";
import { config, UPLOAD_URL_TTL_SECONDS } from "../lib/config/config";
import { backlogOf, backlogQueries, backlogRefusal } from "../lib/limits/backlog";
import { limits } from "../lib/limits/limits";
import { charge, rateLimit } from "../lib/limits/rate-limit";
import { assertUploadSigning, signUpload } from "../lib/signing/upload-urls";
import type { AppEnv } from "../types";

/**
 * Rows per multi-row INSERT into assets: 15 bound parameters a row (drizzle binds the
 * column defaults too), D1 allows 100.
 */
const ASSET_ROWS_PER_INSERT = 6;

type Plan =
  | { kind: "new"; assetId: string }
  | { kind: "resume"; assetId: string }
  | { kind: "duplicate"; assetId: string };

// Every answer carries the work bucket's RateLimit headers, refusals included (rateLimit).
export const uploads = new Hono<AppEnv>().post("/", rateLimit("work"), async (c) => {
  const cfg = config(c.env);
  assertUploadSigning(c.env, cfg);
  const uid = c.get("uid");
  const raw: unknown = await c.req.json().catch(() => undefined);
  const parsed = uploadRequestSchema(cfg.MAX_UPLOAD_BYTES).safeParse(raw);
  if (!parsed.success) {
    throw new BadRequest(
      raw === undefined ? "invalid_json" : "invalid_request",
      raw === undefined ? "The body must be JSON" : "The upload request is invalid",
      raw === undefined ? undefined : z.flattenError(parsed.error),
    );
  }
  const { files } = parsed.data;
  const d = (await storeFor(c.env, uid)).db;
  const now = Date.now();

  // One D1 round trip for everything the plan needs: the batch (when one is named), the
  // user's backlog against its caps (lib/limits/backlog.ts), and what this user already has, by
  // content hash (50 hashes per statement: D1's limit). The same lookup answers who won
  // a race below.
  const byHash = (hashes: string[]) =>
    chunks([...new Set(hashes)], 50).map((part) =>
      d
        .select({ id: assets.id, sha256: assets.sha256, status: assets.status })
        .from(assets)
        .where(and(eq(assets.userId, uid), inArray(assets.sha256, part))),
    );
  const lookups = byHash(files.map((f) => f.sha256));
  const named = parsed.data.batchId;
  // Without a named batch this looks up id "" (a primary-key miss), which keeps the
  // batch's first result the batch's row whatever the request.
  const batchLookup = d
    .select({ id: batches.id })
    .from(batches)
    .where(and(eq(batches.id, named ?? ""), eq(batches.userId, uid)));
  const lim = limits(c.env);
  const [pendingCount, emptyCount] = backlogQueries(d, uid, lim, now);
  const [foundBatch, pendingRows, emptyRows, ...found] = await d.batch([
    batchLookup,
    pendingCount,
    emptyCount,
    ...lookups,
  ]);
  if (named && !foundBatch[0]) {
    throw new NotFound("No such batch");
  }
  const batchId = named ?? crypto.randomUUID();
  const newBatch = !named;
  const existing = new Map<string, { id: string; status: string }>();
  for (const r of found.flat()) existing.set(r.sha256, r);

  const seen = new Map<string, string>();
  const busy: string[] = [];
  const plans: Plan[] = files.map((f) => {
    const first = seen.get(f.sha256);
    if (first) return { kind: "duplicate", assetId: first };
    const prior = existing.get(f.sha256);
    let plan: Plan;
    if (!prior) plan = { kind: "new", assetId: crypto.randomUUID() };
    else if (prior.status === "pending") plan = { kind: "resume", assetId: prior.id };
    else {
      if (prior.status === "deleting") busy.push(f.clientId);
      plan = { kind: "duplicate", assetId: prior.id };
    }
    seen.set(f.sha256, plan.assetId);
    return plan;
  });
  if (busy.length > 0) {
    throw new Conflict(
      "asset_deleting",
      "A copy of these files is being deleted; retry in a moment",
      {
        clientIds: busy,
      },
    );
  }

  // Checked before anything is written, like every refusal above.
  const fresh = plans.filter((p) => p.kind === "new").length;
  const tooMuch = backlogRefusal(
    backlogOf(pendingRows, emptyRows),
    { newFiles: fresh, newBatch },
    lim,
    now,
  );
  if (tooMuch) {
    throw tooMuch;
  }

  // New files pay for their processing; the others (duplicates, resumes) for the rows
  // and URLs they still cost, so re-posting the same files is no free loop either.
  await charge(c, fresh * lim.costNewFile + (plans.length - fresh) * lim.costListedFile, "uploads");

  const expiresAt = now + UPLOAD_URL_TTL_SECONDS * 1000;
  const writes: BatchItem<"sqlite">[] = [];
  if (newBatch) writes.push(d.insert(batches).values({ id: batchId, userId: uid, createdAt: now }));
  // New assets go in multi-row INSERTs: one statement per row made a 50-file request
  // spend most of its time in D1.
  const newFiles = files.flatMap((f, i) => {
    const p = plans[i];
    return p?.kind === "new" ? [{ i, f, assetId: p.assetId }] : [];
  });
  const insertStatements = chunks(newFiles, ASSET_ROWS_PER_INSERT).map((part) => {
    const statement = d
      .insert(assets)
      .values(
        part.map(({ f, assetId }) => ({
          id: assetId,
          userId: uid,
          batchId,
          name: f.name,
          size: f.size,
          type: f.type,
          sha256: f.sha256,
          // Where the pipeline starts (pipeline.ts): the upload stage's `from`.
          status: PIPELINE[0].from,
          version: 1,
          expiresAt,
          createdAt: now,
          updatedAt: now,
          statusAt: now,
        })),
      )
      .onConflictDoNothing()
      .returning({ id: assets.id });
    writes.push(statement);
    return { part, at: writes.length - 1 };
  });
  const resumes: { i: number; f: (typeof files)[number]; assetId: string; at: number }[] = [];
  files.forEach((f, i) => {
    const p = plans[i];
    if (p?.kind === "resume") {
      // The same bytes again: the client may have renamed the file; keep its latest word.
      // A write like any other (versioned): a sweep that read the row before cannot
      // delete it now (sweeper.ts, expirePending).
      writes.push(
        d
          .update(assets)
          .set(versioned({ name: f.name, size: f.size, type: f.type, expiresAt }, now))
          .where(
            and(eq(assets.id, p.assetId), eq(assets.userId, uid), eq(assets.status, "pending")),
          )
          .returning(eventColumns),
      );
      resumes.push({ i, f, assetId: p.assetId, at: writes.length - 1 });
    }
  });
  // Batch items go in the same round trip, copied from the asset rows themselves: an
  // INSERT above that lost a race to a concurrent request inserted no row, so it gets no
  // item here, and the winner's item is added below.
  const itemsFor = (ids: string[]) =>
    chunks(ids, 50).map((part) =>
      d
        .insert(batchItems)
        .select(
          d
            .select({
              batchId: sql<string>`${batchId}`.as("batch_id"),
              assetId: assets.id,
              userId: assets.userId,
              createdAt: sql<number>`${now}`.as("created_at"),
            })
            .from(assets)
            // By key: a plain user filter made SQLite walk the user's library through
            // the covering (user_id, created_at, id) index (95 ms at 200,000 photos).
            .where(and(inArray(assets.id, part), filterOnly(assets.userId, uid))),
        )
        .onConflictDoNothing(),
    );
  writes.push(...itemsFor([...new Set(plans.map((p) => p.assetId))]));
  const results = await d.batch(writes as [BatchItem<"sqlite">]);

  const events: AssetEventInput[] = [];
  // A resumed row that changed meanwhile (swept, or uploaded through another request) is
  // looked up again like an INSERT that lost a race.
  const resumedAway = resumes.filter(({ at }) => {
    const result = results[at];
    const row = Array.isArray(result) ? eventRowSchema.safeParse(result[0]) : null;
    if (row?.success) events.push(assetEvent(row.data));
    return !row?.success;
  });
  // A concurrent request may have inserted the same hash first: answer with its asset.
  const lostInserts = insertStatements.flatMap(({ part, at }) => {
    const result = results[at];
    const inserted = new Set<string>();
    if (Array.isArray(result)) {
      for (const r of result) {
        if (r && typeof r === "object" && "id" in r && typeof r.id === "string") inserted.add(r.id);
      }
    }
    return part.filter(({ assetId }) => !inserted.has(assetId));
  });
  const lost = [...lostInserts, ...resumedAway];
  if (lost.length > 0) {
    const [firstLookup, ...restLookups] = byHash(lost.map(({ f }) => f.sha256));
    const winners = new Map<string, { id: string; status: string }>();
    if (firstLookup) {
      for (const r of (await d.batch([firstLookup, ...restLookups])).flat()) {
        winners.set(r.sha256, r);
      }
    }
    for (const { i, f } of lost) {
      const winner = winners.get(f.sha256);
      if (!winner) throw new Conflict("upload_race", "Another request changed these files; retry");
      plans[i] = {
        kind: winner.status === "pending" ? "resume" : "duplicate",
        assetId: winner.id,
      };
    }
    const [first, ...rest] = itemsFor([
      ...new Set(lost.flatMap(({ i }) => plans[i]?.assetId ?? [])),
    ]);
    if (first) await d.batch([first, ...rest]);
  }

  const origin = new URL(c.req.url).origin;
  const body: UploadResponse = { batchId, files: [] };
  for (const [i, f] of files.entries()) {
    const p = plans[i];
    if (!p) continue;
    if (p.kind === "duplicate") {
      body.files.push({ clientId: f.clientId, assetId: p.assetId, status: "duplicate" });
      continue;
    }
    const upload = await signUpload(
      c.env,
      cfg,
      origin,
      {
        assetId: p.assetId,
        key: originalKey(uid, p.assetId),
        type: f.type,
        size: f.size,
        sha256: f.sha256,
      },
      now,
    );
    body.files.push({ clientId: f.clientId, assetId: p.assetId, status: "upload", upload });
    if (p.kind === "new")
      events.push({ assetId: p.assetId, batchId, status: "pending", version: 1 });
  }
  if (events.length > 0) c.executionCtx.waitUntil(publish(c.env, uid, events));
  return c.json(body, 200);
});
