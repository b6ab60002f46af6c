import { env } from "cloudflare:workers";
import { moveUser, storeFor } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { call, makeEnv, signIn } from "./helpers";
import { library } from "./move-helpers";

// A user's move as the api shows it: a held user's requests, the operator's routes.

describe("moving a user, through the api", () => {
  it("answers a held user 503 user_moving with Retry-After, and serves them from the new shard after", async () => {
    const { token, uid } = await signIn();
    const other = 1 - (await storeFor(env, uid)).shard;
    const during: Response[] = [];
    await moveUser(makeEnv().env, uid, other, {
      afterStep: async (step) => {
        if (step === "held") during.push(await call("/api/stats", { token }));
      },
    });
    const [held] = during;
    expect(held?.status).toBe(503);
    expect(held?.headers.get("Retry-After")).toBe("5");
    expect(await held?.json()).toMatchObject({ error: { code: "user_moving" } });
    expect((await call("/api/stats", { token })).status).toBe(200);
    expect((await storeFor(env, uid)).shard).toBe(other);
  });

  it("runs the move from the operator route through the user's hub, a repeat a no-op", async () => {
    const { uid } = await library();
    const ops = await signIn();
    const e = makeEnv({}, { OPERATOR_SUBS: ops.user }).env;
    const move = () =>
      call(`/api/ops/users/${uid}/move`, {
        method: "POST",
        token: ops.token,
        env: e,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ shard: 1 }),
      });
    const first = await move();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ outcome: "moved", source: 0, target: 1 });
    expect(await (await move()).json()).toMatchObject({ outcome: "already-there" });
    const status = await call(`/api/ops/users/${uid}`, { token: ops.token, env: e });
    expect(await status.json()).toEqual({
      uid,
      shard: 1,
      move: null,
      shards: [
        { shard: 0, assets: 0 },
        { shard: 1, assets: 3 },
      ],
    });
    const bad = await call(`/api/ops/users/${uid}/move`, {
      method: "POST",
      token: ops.token,
      env: e,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ shard: 7 }),
    });
    expect(bad.status).toBe(400);
  });
});
