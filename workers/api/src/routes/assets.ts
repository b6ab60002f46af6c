import {
  assetStatusSchema,
  beginDelete,
  lifecycleOn,
  retryFailed,
  storeFor,
} from "@darkroom/shared";
import { assets, batchItems } from "@darkroom/shared/db";
import { and, desc, eq, lt, ne, or, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { BadRequest, Conflict } from "../errors";
import { assetJson } from "../lib/answers/asset-json";
import { parseOrThrow } from "../lib/http/validate";
import { limits } from "../lib/limits/limits";
import { charge, rateLimit } from "../lib/limits/rate-limit";
import {
  allRetryLimitsReached,
  countRetries,
  failedToRetry,
  retryLimitReached,
  retryPaid,
  uncountRetry,
} from "../lib/limits/retry-budget";
import { ownedAsset } from "../lib/owned-asset";
import { purgeAsset } from "../lib/purge-asset";
import type { AppEnv } from "../types";

const listQuery = z.object({
  batchId: z.uuid().optional(),
  status: assetStatusSchema.exclude(["deleting"]).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const cursorSchema = z.object({ t: z.number().int(), id: z.string() });

function encodeCursor(t: number, id: string): string {
  return btoa(JSON.stringify({ t, id })).replaceAll("=", "");
}

function decodeCursor(raw: string): z.infer<typeof cursorSchema> {
  try {
    return cursorSchema.parse(JSON.parse(atob(raw)));
  } catch {
    throw new BadRequest("invalid_cursor", "The cursor is not one this API issued");
  }
}

export const assetRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const q = parseOrThrow(listQuery, c.req.query(), "query");
    const uid = c.get("uid");
    const d = (await storeFor(c.env, uid)).db;
    const conds: (SQL | undefined)[] = [eq(assets.userId, uid), ne(assets.status, "deleting")];
    if (q.status) conds.push(eq(assets.status, q.status));
    if (q.cursor) {
      const cur = decodeCursor(q.cursor);
      conds.push(
        or(lt(assets.createdAt, cur.t), and(eq(assets.createdAt, cur.t), lt(assets.id, cur.id))),
      );
    }
    const order = [desc(assets.createdAt), desc(assets.id)];
    const rows = q.batchId
      ? (
          await d
            .select({ asset: assets })
            .from(batchItems)
            .innerJoin(assets, eq(assets.id, batchItems.assetId))
            .where(and(eq(batchItems.batchId, q.batchId), eq(batchItems.userId, uid), ...conds))
            .orderBy(...order)
            .limit(q.limit + 1)
        ).map((r) => r.asset)
      : await d
          .select()
          .from(assets)
          .where(and(...conds))
          .orderBy(...order)
          .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > q.limit && last ? encodeCursor(last.createdAt, last.id) : null;
    return c.json({
      assets: await Promise.all(
        page.map((r) => assetJson(r, c.env.MEDIA_SIGNING_SECRET, q.batchId)),
      ),
      nextCursor,
    });
  })
  .post("/retry-failed", rateLimit("work"), async (c) => {
    const q = parseOrThrow(z.object({ batchId: z.uuid().optional() }), c.req.query(), "query");
    const lim = limits(c.env);
    const { failed, retryLimitReached } = await failedToRetry(c.env, c.get("uid"), q.batchId, lim);
    if (failed.length === 0 && retryLimitReached > 0) {
      throw allRetryLimitsReached(retryLimitReached, lim.maxRetries);
    }
    return c.json({ ...(await retryPaid(c, failed, lim)), retryLimitReached });
  })
  .get("/:id", async (c) => {
    const row = await ownedAsset(c.env, c.get("uid"), c.req.param("id"));
    return c.json(await assetJson(row, c.env.MEDIA_SIGNING_SECRET));
  })
  .post("/:id/retry", rateLimit("work"), async (c) => {
    const row = await ownedAsset(c.env, c.get("uid"), c.req.param("id"));
    if (row.status !== "failed")
      throw new Conflict("not_failed", `The asset is ${row.status}, not failed`);
    const lim = limits(c.env);
    if (row.retries >= lim.maxRetries) throw retryLimitReached(row, lim.maxRetries);
    await charge(c, lim.costRetry, "retries");
    const store = await storeFor(c.env, c.get("uid"));
    if (!(await countRetries(store, [row.id], lim.maxRetries)).has(row.id)) {
      const now = await ownedAsset(c.env, c.get("uid"), row.id);
      if (now.status === "failed" && now.retries >= lim.maxRetries) {
        throw retryLimitReached(now, lim.maxRetries);
      }
      throw new Conflict("not_failed", "The asset changed meanwhile; refetch it");
    }
    const outcome = await retryFailed(c.env, lifecycleOn(c.env, store), row);
    if (outcome === "skipped") {
      await uncountRetry(store, row.id);
      throw new Conflict("not_failed", "The asset changed meanwhile; refetch it");
    }
    const fresh = await ownedAsset(c.env, c.get("uid"), row.id);
    return c.json({ outcome, asset: await assetJson(fresh, c.env.MEDIA_SIGNING_SECRET) });
  })
  .delete("/:id", async (c) => {
    const uid = c.get("uid");
    const row = await ownedAsset(c.env, uid, c.req.param("id"));
    const store = await storeFor(c.env, uid);
    let version = row.version;
    if (row.status !== "deleting") {
      const t = await beginDelete(lifecycleOn(c.env, store), row.id, row.status);
      if (!t) throw new Conflict("asset_changed", "The asset changed meanwhile; try again");
      version = t.version;
    }
    await purgeAsset(c.env, store, row.id, row.batchId, version);
    return c.body(null, 204);
  });
