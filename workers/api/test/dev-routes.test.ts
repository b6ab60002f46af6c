import { describe, expect, it } from "vitest";
import { devRoutes } from "../src/routes/dev";
import { call, json, makeEnv, productionEnv, tokenFor, userName } from "./helpers";

// Every route of the dev router, read from the router itself: a route added later is
// held to the same rules without anyone remembering to list it here.
const routes = devRoutes.routes
  .filter((r) => r.method !== "ALL")
  .map((r) => ({ method: r.method, path: `/api/dev${r.path}` }));

describe("/api/dev/*", () => {
  it("has the routes this test is about", () => {
    expect(routes.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        "/api/dev/login",
        "/api/dev/r2-notification",
        "/api/dev/publish-burst",
      ]),
    );
  });

  it("requires a signed-in user on every route but the sign-in itself", async () => {
    for (const r of routes.filter((r) => r.path !== "/api/dev/login")) {
      const res = await call(r.path, { ...json({}), method: r.method, env: makeEnv().env });
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it("does not exist in a production configuration, with or without a token", async () => {
    const token = await tokenFor(userName());
    for (const r of routes) {
      for (const auth of [{}, { token }]) {
        const res = await call(r.path, {
          ...json({}),
          ...auth,
          method: r.method,
          env: productionEnv().env,
        });
        expect(res.status, `${r.method} ${r.path}`).toBe(404);
      }
    }
  });
});
