import { env } from "cloudflare:workers";
import { r2NotificationSchema } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { call, json, makeEnv, productionEnv, tokenFor, userName } from "./helpers";

describe("POST /api/dev/r2-notification (local stand-in for R2's event notification)", () => {
  it("sends the message R2 would send for an object in the bucket", async () => {
    const key = `u/${crypto.randomUUID()}/${crypto.randomUUID()}/original`;
    const stored = await env.BUCKET.put(key, new Uint8Array([1, 2, 3, 4, 5]));
    const { env: e, sent } = makeEnv();
    const token = await tokenFor(userName());
    const res = await call("/api/dev/r2-notification", json({ key }, { env: e, token }));
    expect(res.status).toBe(202);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.queue).toBe("uploads");
    const note = r2NotificationSchema.parse(sent[0]?.body);
    expect(note).toMatchObject({
      action: "PutObject",
      bucket: "darkroom-originals",
      object: { key, size: 5, eTag: stored?.etag },
    });
  });

  it("sends nothing for a key the bucket does not have", async () => {
    const { env: e, sent } = makeEnv();
    const res = await call(
      "/api/dev/r2-notification",
      json(
        { key: `u/${crypto.randomUUID()}/nothing/original` },
        { env: e, token: await tokenFor(userName()) },
      ),
    );
    expect(res.status).toBe(404);
    expect(sent).toHaveLength(0);
  });

  it("requires a signed-in user even where dev routes exist", async () => {
    const key = `u/${crypto.randomUUID()}/${crypto.randomUUID()}/original`;
    await env.BUCKET.put(key, new Uint8Array([1]));
    const { env: e, sent } = makeEnv();
    const res = await call("/api/dev/r2-notification", json({ key }, { env: e }));
    expect(res.status).toBe(401);
    expect(sent).toHaveLength(0);
  });

  it("does not exist in a production configuration (DEV_LOGIN false), token or not", async () => {
    const key = `u/${crypto.randomUUID()}/${crypto.randomUUID()}/original`;
    await env.BUCKET.put(key, new Uint8Array([1]));
    const { env: e, sent } = productionEnv();
    const token = await tokenFor(userName());
    for (const init of [{ env: e }, { env: e, token }]) {
      const res = await call("/api/dev/r2-notification", json({ key }, init));
      expect(res.status).toBe(404);
    }
    expect(sent).toHaveLength(0);
  });
});
