import { crossUserStores, directoryEntry } from "@darkroom/shared";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { HttpError, NotFound } from "../errors";
import { hubFor } from "../lib/bindings/hub";
import { parseOrThrow } from "../lib/http/validate";
import type { AppEnv } from "../types";

// An operator's look at where a user lives, and the move of a user to another shard
// (DESIGN.md, "Sharding: moving a user"; docs/operations.md, "Growing the shards").
// Mounted under /api/ops, behind `requireOperator`.

const moveBody = z.object({ shard: z.number().int().min(0) });

/** The answer status of each refusal or failure of a move. */
const MOVE_STATUS: Record<string, ContentfulStatusCode> = {
  invalid_shard: 400,
  no_such_user: 404,
  move_in_progress: 409,
  move_running: 409,
  move_failed: 500,
};

function userIdParam(raw: string): string {
  if (!z.uuid().safeParse(raw).success) throw new NotFound("No such user");
  return raw;
}

export const opsUserRoutes = new Hono<AppEnv>()
  // Where the user lives, the move running if any, and the user's assets in every shard
  // (after a move: all of them on one shard, none left on the other).
  .get("/:uid", async (c) => {
    const uid = userIdParam(c.req.param("uid"));
    const entry = await directoryEntry(c.env, uid);
    if (!entry) throw new NotFound("No such user");
    const assets = await Promise.all(
      crossUserStores(c.env).map(async (s) => {
        const row = await s.d1
          .prepare("SELECT COUNT(*) AS n FROM assets WHERE user_id = ?")
          .bind(uid)
          .first<{ n: number }>();
        return { shard: s.shard, assets: row?.n ?? 0 };
      }),
    );
    c.header("Cache-Control", "no-store");
    return c.json({ uid, shard: entry.shard, move: entry.move, shards: assets });
  })
  // Moves the user to `shard`, or finishes a move to it left half done; run by the
  // user's hub, one at a time. A move to where the user is already is a no-op.
  .post("/:uid/move", async (c) => {
    const uid = userIdParam(c.req.param("uid"));
    const raw: unknown = await c.req.json().catch(() => undefined);
    const body = parseOrThrow(moveBody, raw, "body");
    const answer = await hubFor(c.env, uid).moveShard(uid, body.shard);
    if (answer.ok) return c.json(answer.result);
    throw new HttpError(MOVE_STATUS[answer.code] ?? 500, answer.code, answer.message, {
      aborted: answer.aborted,
    });
  });
