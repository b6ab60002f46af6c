import { env } from "cloudflare:workers";
import { originalKey } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { mediaExpiry, mediaUrl } from "../src/lib/signing/media";
import {
  call,
  fileFor,
  jpegBytes,
  requestUploads,
  setStatus,
  tokenFor,
  uidFor,
  userName,
} from "./helpers";

const SVG = new TextEncoder().encode(
  '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
);

async function storedAsset(bytes: Uint8Array, type = "image/jpeg") {
  const user = userName();
  const { body } = await requestUploads(await tokenFor(user), [await fileFor(bytes, "x", type)]);
  const assetId = body.files[0]?.assetId ?? "";
  await env.BUCKET.put(originalKey(await uidFor(user), assetId), bytes);
  await setStatus(assetId, "uploaded");
  return assetId;
}

describe("GET /api/media/:assetId/:variant", () => {
  it("serves the original as the type its bytes sniff as, sandboxed and cacheable until expiry", async () => {
    const bytes = jpegBytes(300);
    const id = await storedAsset(bytes);
    const res = await call(await mediaUrl(env.MEDIA_SIGNING_SECRET, id, "original"));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/jpeg");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Security-Policy")).toBe("sandbox");
    expect(res.headers.get("ETag")).toMatch(/^".+"$/);
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get("Cache-Control") ?? "")?.[1]);
    expect(res.headers.get("Cache-Control")).toMatch(/^private, /);
    expect(maxAge).toBeGreaterThan(3600 - 5);
    expect(maxAge).toBeLessThanOrEqual(7200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("answers a matching If-None-Match with 304", async () => {
    const id = await storedAsset(jpegBytes());
    const url = await mediaUrl(env.MEDIA_SIGNING_SECRET, id, "original");
    const etag = (await call(url)).headers.get("ETag") ?? "";
    const res = await call(url, { headers: { "If-None-Match": etag } });
    expect(res.status).toBe(304);
  });

  it("never serves an SVG declared as a PNG as an image", async () => {
    const id = await storedAsset(SVG, "image/png");
    const res = await call(await mediaUrl(env.MEDIA_SIGNING_SECRET, id, "original"));
    expect(res.status).toBe(415);
    expect(res.headers.get("Content-Type")).toContain("application/json");
  });

  it("rounds expiry up to the hour so URLs signed within the hour are identical", async () => {
    const t = Date.UTC(2026, 10, 23, 10, 5, 0);
    expect(mediaExpiry(t)).toBe(Date.UTC(2026, 10, 23, 12, 0, 0) / 1000);
    expect(mediaExpiry(t + 40 * 60_000)).toBe(mediaExpiry(t));
    const id = crypto.randomUUID();
    expect(await mediaUrl("s", id, "thumb", t)).toBe(
      await mediaUrl("s", id, "thumb", t + 50 * 60_000),
    );
  });

  it("refuses a tampered, expired or other-variant signature", async () => {
    const id = await storedAsset(jpegBytes());
    const url = new URL(
      await mediaUrl(env.MEDIA_SIGNING_SECRET, id, "original"),
      "https://darkroom.test",
    );
    const swapped = new URL(url);
    swapped.pathname = `/api/media/${id}/thumb`;
    const expired = new URL(
      await mediaUrl(env.MEDIA_SIGNING_SECRET, id, "original", Date.now() - 3 * 3600_000),
      url,
    );
    const tampered = new URL(url);
    tampered.searchParams.set("exp", String(Number(url.searchParams.get("exp")) + 3600));
    for (const u of [swapped, expired, tampered]) {
      expect((await call(u.toString())).status).toBe(403);
    }
  });

  it("answers a variant that does not exist yet with 404", async () => {
    const id = await storedAsset(jpegBytes());
    expect((await call(await mediaUrl(env.MEDIA_SIGNING_SECRET, id, "thumb"))).status).toBe(404);
  });
});
