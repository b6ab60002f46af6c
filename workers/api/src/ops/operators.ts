import { createMiddleware } from "hono/factory";
import { bearerToken, userIdFor, verifiedSub } from "../auth";
import { NotFound } from "../errors";
import { config } from "../lib/config/config";
import type { AppEnv } from "../types";

/**
 * Operators are configuration: the JWT subjects in `OPERATOR_SUBS`. To everyone else,
 * signed in or not, every ops route is a 404 exactly like a route that does not exist
 * (the same body as `app.notFound`), as another user's asset is: the ops API does not
 * show that it exists. A non-operator's request creates no user row either.
 */
export const requireOperator = createMiddleware<AppEnv>(async (c, next) => {
  const hidden = new NotFound("No such route");
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw hidden;
  const sub = await verifiedSub(c.env, token).catch(() => null);
  if (sub === null || !config(c.env).OPERATOR_SUBS.includes(sub)) throw hidden;
  c.set("sub", sub);
  c.set("uid", await userIdFor(c.env, sub));
  await next();
});
