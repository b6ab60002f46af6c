import { Hono } from "hono";
import { z } from "zod";
import { devToken } from "../auth";
import { NotFound } from "../errors";
import { config } from "../lib/config";
import { parseOrThrow } from "../lib/validate";
import type { AppEnv } from "../types";

/** Local sign-in: a user name in, an HS256 token out. Absent unless DEV_LOGIN=true. */
export const devRoutes = new Hono<AppEnv>().post("/login", async (c) => {
  if (!config(c.env).devLogin) throw new NotFound();
  const body = parseOrThrow(
    z.object({ user: z.string().trim().min(1).max(100) }),
    await c.req.json().catch(() => null),
    "login body",
  );
  return c.json({ token: await devToken(c.env.AUTH_SECRET, body.user) });
});
