import { isUserMoving, MOVE_RETRY_AFTER_SECONDS, UPLOAD_REQUEST_MAX_BYTES } from "@darkroom/shared";
import { Hono } from "hono";
import { timing } from "hono/timing";
import { requireUser } from "./auth";
import { HttpError } from "./errors";
import { requireProductionConfig } from "./lib/config/production-config";
import { limitBody } from "./lib/http/body-limit";
import { requestLatency } from "./lib/http/request-latency";
import { requireOperator } from "./ops/operators";
import { assetRoutes } from "./routes/assets";
import { devRoutes } from "./routes/dev";
import { eventRoutes } from "./routes/events";
import { localUpload } from "./routes/local-upload";
import { mediaRoutes } from "./routes/media";
import { opsRoutes } from "./routes/ops";
import { searchRoutes } from "./routes/search";
import { similarRoutes } from "./routes/similar";
import { statsRoutes } from "./routes/stats";
import { uploads } from "./routes/uploads";
import type { AppEnv } from "./types";

const app = new Hono<AppEnv>();

// First of all: a production worker that lacks a secret or carries an unsafe var answers
// 503 `misconfigured` naming it, /api/health included, before anything else runs.
app.use("/api/*", requireProductionConfig);
// Each request's time inside the worker, for Analytics Engine in production; upload
// registration's is also kept in D1 for the ops metrics. Before auth, so it includes it; it
// writes only for a request that has a user (lib/http/request-latency.ts).
app.use("/api/*", requestLatency());

app.get("/api/health", (c) => c.json({ ok: true }));
app.route("/api/dev", devRoutes);
// Signed URLs carry their own authority: no bearer token.
app.route("/api/local-upload", localUpload);
app.route("/api/media", mediaRoutes);
// The upgrade carries a single-use ticket; the ticket route itself requires the token.
app.route("/api/events", eventRoutes);

// Server-Timing `total` on the JSON API: what the request cost inside the worker, auth
// included, apart from any wait before it got there (the load test reports both).
for (const path of [
  "/api/uploads/*",
  "/api/assets/*",
  "/api/stats/*",
  "/api/search/*",
  "/api/ops/*",
]) {
  app.use(path, timing({ totalDescription: "worker" }));
}
// Nothing before the token check reads a body, D1 or a Durable Object: a request
// without a valid token costs that check and nothing more (test/unauthenticated.test.ts).
app.use("/api/uploads/*", requireUser);
// After auth: a declared Content-Length over the limit is refused on its header, but a
// chunked body is read (up to the limit) to be counted, which only a user may make us do.
app.use("/api/uploads/*", limitBody(UPLOAD_REQUEST_MAX_BYTES));
app.use("/api/assets/*", requireUser);
app.use("/api/stats/*", requireUser);
app.use("/api/search/*", requireUser);
app.route("/api/uploads", uploads);
app.route("/api/assets", assetRoutes);
app.route("/api/stats", statsRoutes);
app.route("/api/search", searchRoutes);
// GET /api/assets/:id/similar: a search, kept beside it; auth is /api/assets/*'s above.
app.route("/api/assets", similarRoutes);
// Operators only; a 404 to everyone else (workers/api/src/ops/operators.ts).
app.use("/api/ops/*", requireOperator);
app.route("/api/ops", opsRoutes);

app.notFound(() => {
  throw new HttpError(404, "not_found", "No such route");
});

app.onError((err, c) => {
  if (err instanceof HttpError) {
    const body = {
      error: {
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
      },
    };
    return c.json(body, err.status, err.headers);
  }
  // A user moving between shards (DESIGN.md, "Sharding: moving a user"): their writes
  // are held for the seconds the copy takes; the client's retry rules wait and try again.
  if (isUserMoving(err)) {
    return c.json(
      { error: { code: "user_moving", message: "Your library is being moved; try again shortly" } },
      503,
      { "Retry-After": String(MOVE_RETRY_AFTER_SECONDS) },
    );
  }
  // Never a stack trace to clients; the log has it.
  console.error("unhandled", err);
  return c.json({ error: { code: "internal", message: "Internal error" } }, 500);
});

export default app;
