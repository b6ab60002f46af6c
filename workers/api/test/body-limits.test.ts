import { UPLOAD_REQUEST_MAX_BYTES } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { call, countedBody, fileFor, jpegBytes, json, requestUploads, signIn } from "./helpers";

const MB = 1024 * 1024;

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body: { error: { code: string; message: string } } = await res.json();
  return body.error;
}

describe("request body limits", () => {
  it("refuses a 60 MB JSON body to POST /api/uploads with 413 before reading it", async () => {
    const { token } = await signIn();
    const { stream, pulled } = countedBody(60 * MB);
    const res = await call("/api/uploads", {
      method: "POST",
      token,
      body: stream,
      headers: { "Content-Type": "application/json", "Content-Length": String(60 * MB) },
    });
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toEqual({
      code: "payload_too_large",
      message: `The request body is over this route's ${UPLOAD_REQUEST_MAX_BYTES} bytes`,
      details: { maxBytes: UPLOAD_REQUEST_MAX_BYTES },
    });
    // Refused on the declared length: not one chunk was read, let alone parsed.
    expect(pulled.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it("refuses a 60 MB chunked body (no Content-Length) as soon as it passes the limit", async () => {
    const { token } = await signIn();
    const { stream, pulled } = countedBody(60 * MB);
    const res = await call("/api/uploads", {
      method: "POST",
      token,
      body: stream,
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
    // Read up to the limit and one chunk more (plus what the stream buffers ahead), never 60 MB.
    expect(pulled.bytes).toBeLessThanOrEqual(UPLOAD_REQUEST_MAX_BYTES + 4 * 64 * 1024);
  });

  it("sizes the limit from the contract: the largest valid request fits", async () => {
    const { token } = await signIn();
    // 100 files whose names and client ids are all control characters: JSON escapes
    // each as \u0001, the most bytes a UTF-16 unit can take; the longest declared type.
    const files = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => ({
        ...(await fileFor(jpegBytes(16), "photo", "application/octet-stream")),
        clientId: `${i}`.padEnd(200, "\u0001"),
        name: "\u0001".repeat(1024),
      })),
    );
    const body = JSON.stringify({ batchId: crypto.randomUUID(), files });
    expect(body.length).toBeGreaterThan(740_000);
    expect(body.length).toBeLessThanOrEqual(UPLOAD_REQUEST_MAX_BYTES);
    const res = await call("/api/uploads", json({ files }, { token }));
    expect(res.status).toBe(200);
  });

  it("refuses an over-long file name or client id with 400, storing nothing", async () => {
    const { token, uid } = await signIn();
    const file = await fileFor(jpegBytes());
    for (const over of [
      { ...file, name: "a".repeat(1025) },
      { ...file, clientId: "c".repeat(201) },
    ]) {
      const { res } = await requestUploads(token, [over]);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_request");
    }
    const rows = await everyShard
      .sum("SELECT COUNT(*) AS n FROM batches WHERE user_id = ?")
      .bind(uid)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("refuses an over-long search query, cursor or dev login name with 400", async () => {
    const { token } = await signIn();
    const search = await call(`/api/search?q=${"x".repeat(201)}`, { token });
    expect(search.status).toBe(400);
    const list = await call(`/api/assets?cursor=${"x".repeat(201)}`, { token });
    expect(list.status).toBe(400);
    const login = await call("/api/dev/login", json({ user: "u".repeat(101) }));
    expect(login.status).toBe(400);
  });

  it("refuses a dev login body over 4 KiB with 413", async () => {
    const res = await call("/api/dev/login", json({ user: "u", pad: "x".repeat(5000) }));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
  });

  it("refuses a local upload longer than any upload may be before looking it up", async () => {
    const res = await call(`/api/local-upload/${crypto.randomUUID()}?exp=1&sig=x`, {
      method: "PUT",
      headers: { "Content-Length": String(60 * MB), "Content-Type": "image/jpeg" },
    });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
  });
});
