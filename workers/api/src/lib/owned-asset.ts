import { storeFor } from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { NotFound } from "../errors";

/** The user's asset `id`, or 404: for every `/api/assets/:id…` route (assets, similar). */
export async function ownedAsset(env: Env, uid: string, id: string) {
  if (!z.uuid().safeParse(id).success) throw new NotFound("No such asset");
  const [row] = await (await storeFor(env, uid)).db
    .select()
    .from(assets)
    .where(and(eq(assets.id, id), eq(assets.userId, uid)));
  // Another user's asset is indistinguishable from a missing one.
  if (!row) throw new NotFound("No such asset");
  return row;
}
