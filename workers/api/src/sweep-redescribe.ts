import { aiBreaker, type BreakerNamespace, type RedescribeMessage } from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { and, asc, eq, isNotNull, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";

/** Photos re-described per sweep: a pace Workers AI's 720 image-to-text requests a minute absorb. */
export const REDESCRIBE_BATCH = 25;
/** A photo sent for a re-describe is sent again after this long if it is still marked. */
export const REDESCRIBE_RETRY_MS = 30 * 60_000;

type Bindings = {
  DB: D1Database;
  AI_BREAKER: BreakerNamespace;
  EMBED_QUEUE: { send(body: RedescribeMessage): Promise<unknown> };
};

/**
 * The sweeper's re-describe rule: `ready` photos that skipped AI for a reason that
 * passes (breaker open, daily allocation used up, model unavailable) are sent to the
 * embedder again, oldest mark first, a bounded batch per run, and only while the AI
 * breaker is closed: an open breaker means the provider is still failing, and the
 * half-open probe belongs to fresh photos. Each mark is pushed `REDESCRIBE_RETRY_MS`
 * ahead before its message goes out (conditionally, so racing sweeps send it once); the
 * embedder clears it when the description is complete.
 */
export async function redescribeSkipped(env: Bindings, now = Date.now()): Promise<number> {
  const breaker = await aiBreaker(env.AI_BREAKER).status(now);
  if (breaker.state !== "closed") return 0;
  const d = drizzle(env.DB);
  const rows = await d
    .select({ id: assets.id, userId: assets.userId, redescribeAt: assets.redescribeAt })
    .from(assets)
    .where(
      and(
        eq(assets.status, "ready"),
        isNotNull(assets.redescribeAt),
        lte(assets.redescribeAt, now),
      ),
    )
    .orderBy(asc(assets.redescribeAt))
    .limit(REDESCRIBE_BATCH);
  let sent = 0;
  for (const row of rows) {
    if (row.redescribeAt === null) continue;
    const touched = await d
      .update(assets)
      .set({ redescribeAt: now + REDESCRIBE_RETRY_MS })
      .where(
        and(
          eq(assets.id, row.id),
          eq(assets.status, "ready"),
          eq(assets.redescribeAt, row.redescribeAt),
        ),
      )
      .returning({ id: assets.id });
    if (!touched[0]) continue;
    await env.EMBED_QUEUE.send({
      assetId: row.id,
      uid: row.userId,
      redescribe: true,
    } satisfies RedescribeMessage);
    sent += 1;
  }
  return sent;
}
