import { parseAssetError } from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { Conflict } from "../errors";
import { chunks, db } from "./db";

type Row = typeof assets.$inferSelect;

/**
 * Retries are capped per asset (`MAX_RETRIES_PER_ASSET`): a photo that always fails
 * would otherwise be reprocessed (R2 reads, decoding, AI) for as long as someone asks.
 * Past the cap the photo stays `failed`; deleting it frees its hash for a new upload,
 * which costs a new file's token like any other.
 */
export function retryLimitReached(row: Pick<Row, "retries" | "error">, maxRetries: number) {
  const last = parseAssetError(row.error);
  return new Conflict(
    "retry_limit_reached",
    `This photo failed again after ${row.retries} retries, the most one photo gets` +
      `${last ? ` (last error: ${last.code})` : ""}. Delete it to upload it anew.`,
    { retries: row.retries, maxRetries },
  );
}

/**
 * Counts one retry for each asset still `failed` and under the cap, in one conditional
 * statement per 90 ids (D1 binds at most 100 parameters), before the retry runs: two
 * concurrent retries cannot both take an asset's last one. Returns the ids it counted.
 */
export async function countRetries(
  env: Env,
  ids: string[],
  maxRetries: number,
): Promise<Set<string>> {
  const d = db(env);
  const counted = new Set<string>();
  for (const part of chunks(ids, 90)) {
    const rows = await d
      .update(assets)
      .set({ retries: sql`${assets.retries} + 1` })
      .where(
        and(inArray(assets.id, part), eq(assets.status, "failed"), lt(assets.retries, maxRetries)),
      )
      .returning({ id: assets.id });
    for (const r of rows) counted.add(r.id);
  }
  return counted;
}

/** Gives back a retry counted for an asset that then changed before it was sent back. */
export async function uncountRetry(env: Env, id: string): Promise<void> {
  await db(env)
    .update(assets)
    .set({ retries: sql`${assets.retries} - 1` })
    .where(and(eq(assets.id, id), sql`${assets.retries} > 0`));
}
