import { env } from "cloudflare:workers";
import { r2NotificationSchema } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { call, json, makeEnv } from "./helpers";

describe("POST /api/dev/r2-notification (local stand-in for R2's event notification)", () => {
  it("sends the message R2 would send for an object in the bucket", async () => {
    const key = `u/${crypto.randomUUID()}/${crypto.randomUUID()}/original`;
    const stored = await env.BUCKET.put(key, new Uint8Array([1, 2, 3, 4, 5]));
    const { env: e, sent } = makeEnv();
    const res = await call("/api/dev/r2-notification", json({ key }, { env: e }));
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
      json({ key: `u/${crypto.randomUUID()}/nothing/original` }, { env: e }),
    );
    expect(res.status).toBe(404);
    expect(sent).toHaveLength(0);
  });

  it("does not exist when DEV_LOGIN is not true (production)", async () => {
    const key = `u/${crypto.randomUUID()}/${crypto.randomUUID()}/original`;
    await env.BUCKET.put(key, new Uint8Array([1]));
    const { env: e, sent } = makeEnv({ DEV_LOGIN: "false" });
    const res = await call("/api/dev/r2-notification", json({ key }, { env: e }));
    expect(res.status).toBe(404);
    expect(sent).toHaveLength(0);
  });
});
