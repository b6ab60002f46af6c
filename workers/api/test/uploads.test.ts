import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import {
  call,
  fileFor,
  jpegBytes,
  json,
  makeEnv,
  putUpload,
  refillSince,
  requestUploads,
  setStatus,
  tokenFor,
  userName,
} from "./helpers";

async function rowCount(sql: string, ...params: unknown[]): Promise<number> {
  const r = await everyShard
    .sum(sql)
    .bind(...params)
    .first<{ n: number }>();
  return r?.n ?? 0;
}

describe("POST /api/uploads", () => {
  it("answers every new file with a signed PUT and records it pending in a new batch", async () => {
    const token = await tokenFor(userName());
    const files = await Promise.all([jpegBytes(), jpegBytes(), jpegBytes()].map((b) => fileFor(b)));
    const { res, body } = await requestUploads(token, files);
    expect(res.status).toBe(200);
    expect(body.batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.files.map((f) => f.clientId)).toEqual(files.map((f) => f.clientId));
    for (const [i, f] of body.files.entries()) {
      expect(f.status).toBe("upload");
      expect(f.upload?.method).toBe("PUT");
      expect(f.upload?.url).toContain(`/api/local-upload/${f.assetId}?exp=`);
      expect(f.upload?.headers).toEqual({
        "Content-Type": "image/jpeg",
        "x-amz-checksum-sha256": btoa(
          String.fromCharCode(
            ...(files[i]?.sha256.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)),
          ),
        ),
        "If-None-Match": "*",
      });
      const expires = Date.parse(f.upload?.expiresAt ?? "");
      expect(expires - Date.now()).toBeGreaterThan(14 * 60_000);
      expect(expires - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    }
    expect(
      await rowCount(
        "SELECT COUNT(*) AS n FROM assets WHERE batch_id = ? AND status = 'pending'",
        body.batchId,
      ),
    ).toBe(3);
    expect(
      await rowCount("SELECT COUNT(*) AS n FROM batch_items WHERE batch_id = ?", body.batchId),
    ).toBe(3);
  });

  it("says in Server-Timing how long the request took inside the worker", async () => {
    const token = await tokenFor(userName());
    const { res } = await requestUploads(token, [await fileFor(jpegBytes())]);
    expect(res.headers.get("Server-Timing")).toMatch(/^total;dur=\d+(\.\d+)?;desc="worker"$/);
  });

  it("carries RateLimit headers and their X- twins on a successful answer", async () => {
    const token = await tokenFor(userName());
    const { res } = await requestUploads(token, [await fileFor(jpegBytes())]);
    for (const h of ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]) {
      expect(res.headers.get(h)).toMatch(/^\d+$/);
      expect(res.headers.get(`X-${h}`)).toBe(res.headers.get(h));
    }
    expect(res.headers.get("RateLimit-Limit")).toBe("250");
    expect(Number(res.headers.get("RateLimit-Remaining"))).toBe(249);
    // The current draft's fields: 250 tokens, refilled at 60 a minute (w: empty to full).
    expect(res.headers.get("RateLimit-Policy")).toBe('"work";q=250;w=250');
    expect(res.headers.get("RateLimit")).toMatch(/^"work";r=249;t=\d+$/);
  });

  it("carries the bucket's RateLimit headers on a refusal that charged nothing (an unknown batch)", async () => {
    const token = await tokenFor(userName());
    await requestUploads(token, [await fileFor(jpegBytes())]);
    const { res } = await requestUploads(token, [await fileFor(jpegBytes())], {
      batchId: crypto.randomUUID(),
    });
    expect(res.status).toBe(404);
    // The first request's token is spent, the refused one took none (a slow machine may
    // have refilled one meanwhile, the bucket never exceeding its 250).
    expect(Number(res.headers.get("RateLimit-Remaining"))).toBeGreaterThanOrEqual(249);
    expect(res.headers.get("RateLimit-Limit")).toBe("250");
    expect(res.headers.get("X-RateLimit-Remaining")).toBe(res.headers.get("RateLimit-Remaining"));
    expect(res.headers.get("RateLimit-Policy")).toBe('"work";q=250;w=250');
    expect(res.headers.get("Retry-After")).toBeNull();
  });

  it("answers a repeat of the same bytes inside one request as a duplicate of the first", async () => {
    const token = await tokenFor(userName());
    const bytes = jpegBytes();
    const a = await fileFor(bytes, "a.jpg");
    const b = { ...(await fileFor(bytes, "copy of a.jpg")) };
    const { body } = await requestUploads(token, [a, b]);
    expect(body.files[0]?.status).toBe("upload");
    expect(body.files[1]).toEqual({
      clientId: b.clientId,
      assetId: body.files[0]?.assetId,
      status: "duplicate",
    });
    expect(await rowCount("SELECT COUNT(*) AS n FROM assets WHERE sha256 = ?", a.sha256)).toBe(1);
  });

  it("gives a still-pending file a fresh URL for the same asset (resume)", async () => {
    const token = await tokenFor(userName());
    const f = await fileFor(jpegBytes());
    const first = await requestUploads(token, [f]);
    const again = await requestUploads(token, [{ ...f, clientId: "second-try" }]);
    expect(again.body.files[0]?.status).toBe("upload");
    expect(again.body.files[0]?.assetId).toBe(first.body.files[0]?.assetId);
    expect(again.body.files[0]?.upload?.url).toBeTruthy();
  });

  it("answers bytes already uploaded as a duplicate, across requests and batches, and counts it in its new batch", async () => {
    const token = await tokenFor(userName());
    const bytes = jpegBytes();
    const f = await fileFor(bytes);
    const first = await requestUploads(token, [f]);
    const upload = first.body.files[0]?.upload;
    if (!upload) throw new Error("no upload ticket");
    expect((await putUpload(upload, bytes)).status).toBe(200);
    await setStatus(first.body.files[0]?.assetId ?? "", "uploaded");

    const second = await requestUploads(token, [{ ...f, clientId: "later" }]);
    expect(second.body.batchId).not.toBe(first.body.batchId);
    expect(second.body.files[0]).toEqual({
      clientId: "later",
      assetId: first.body.files[0]?.assetId,
      status: "duplicate",
    });
    const stats = await call(`/api/stats?batchId=${second.body.batchId}`, { token });
    expect(await stats.json()).toMatchObject({ total: 1, uploaded: 1 });
  });

  it("answers concurrent requests for the same new bytes with one asset, listed in every batch", async () => {
    const token = await tokenFor(userName());
    const f = await fileFor(jpegBytes());
    const answers = await Promise.all(
      ["a", "b", "c", "d"].map((id) => requestUploads(token, [{ ...f, clientId: id }])),
    );
    for (const { res } of answers) expect(res.status).toBe(200);
    const ids = new Set(answers.map(({ body }) => body.files[0]?.assetId));
    expect(ids.size).toBe(1);
    expect(await rowCount("SELECT COUNT(*) AS n FROM assets WHERE sha256 = ?", f.sha256)).toBe(1);
    for (const { body } of answers) {
      expect(
        await rowCount(
          "SELECT COUNT(*) AS n FROM batch_items WHERE batch_id = ? AND asset_id = ?",
          body.batchId,
          [...ids][0],
        ),
      ).toBe(1);
    }
  });

  it("charges ten duplicates what one new file costs", async () => {
    const token = await tokenFor(userName());
    const files = await Promise.all(Array.from({ length: 10 }, () => fileFor(jpegBytes())));
    // The test project refills 60 a minute; a slow machine may give some back meanwhile.
    const refilled = refillSince(60);
    const first = await requestUploads(token, files);
    expect(first.res.headers.get("RateLimit-Remaining")).toBe("240");
    for (const f of first.body.files) await setStatus(f.assetId, "ready");
    const { res, body } = await requestUploads(token, files);
    expect(body.files.every((f) => f.status === "duplicate")).toBe(true);
    const remaining = Number(res.headers.get("RateLimit-Remaining"));
    expect(remaining).toBeGreaterThanOrEqual(239);
    expect(remaining).toBeLessThanOrEqual(239 + refilled());
  });

  it("adds files to an existing batch of the same user", async () => {
    const token = await tokenFor(userName());
    const first = await requestUploads(token, [await fileFor(jpegBytes())]);
    const second = await requestUploads(token, [await fileFor(jpegBytes())], {
      batchId: first.body.batchId,
    });
    expect(second.body.batchId).toBe(first.body.batchId);
    const stats = await call(`/api/stats?batchId=${first.body.batchId}`, { token });
    expect(await stats.json()).toMatchObject({ total: 2, pending: 2 });
  });

  it("refuses another user's batch as not found", async () => {
    const mine = await requestUploads(await tokenFor(userName()), [await fileFor(jpegBytes())]);
    const { res } = await requestUploads(await tokenFor(userName()), [await fileFor(jpegBytes())], {
      batchId: mine.body.batchId,
    });
    expect(res.status).toBe(404);
  });

  it("takes 100 files in one request without any statement over D1's 100-parameter limit", async () => {
    const token = await tokenFor(userName());
    const files = await Promise.all(Array.from({ length: 100 }, () => fileFor(jpegBytes())));
    // makeEnv() wraps D1 with the 100-parameter guard; a violation would be a 500.
    const { res, body } = await requestUploads(token, files, { env: makeEnv().env });
    expect(res.status).toBe(200);
    expect(body.files.filter((f) => f.status === "upload")).toHaveLength(100);
    // And again: 100 hashes looked up as duplicates/resumes.
    const again = await requestUploads(token, files, { env: makeEnv().env });
    expect(again.res.status).toBe(200);
  });

  it("accepts upper-case hex and stores the hash in lower case", async () => {
    const token = await tokenFor(userName());
    const f = await fileFor(jpegBytes());
    const { body } = await requestUploads(token, [{ ...f, sha256: f.sha256.toUpperCase() }]);
    const row = await everyShard
      .prepare("SELECT sha256 FROM assets WHERE id = ?")
      .bind(body.files[0]?.assetId)
      .first<{ sha256: string }>();
    expect(row?.sha256).toBe(f.sha256);
  });
});

describe("POST /api/uploads validation", () => {
  const good = {
    clientId: "c1",
    name: "a.jpg",
    size: 10,
    type: "image/jpeg",
    sha256: "a".repeat(64),
  };
  const cases: Array<[string, unknown]> = [
    ["no files", { files: [] }],
    [
      "more than 100 files",
      { files: Array.from({ length: 101 }, (_, i) => ({ ...good, clientId: `c${i}` })) },
    ],
    ["a zero-byte file", { files: [{ ...good, size: 0 }] }],
    ["a file over MAX_UPLOAD_BYTES", { files: [{ ...good, size: 52428801 }] }],
    ["a fractional size", { files: [{ ...good, size: 1.5 }] }],
    ["an unsupported type", { files: [{ ...good, type: "application/pdf" }] }],
    ["an SVG", { files: [{ ...good, type: "image/svg+xml" }] }],
    [
      "application/octet-stream for a file named like no photo",
      { files: [{ ...good, name: "clip.mov", type: "application/octet-stream" }] },
    ],
    [
      "no type for a file named like no photo",
      { files: [{ ...good, name: "notes.pdf", type: "" }] },
    ],
    ["a short sha256", { files: [{ ...good, sha256: "abc" }] }],
    ["a non-hex sha256", { files: [{ ...good, sha256: "g".repeat(64) }] }],
    ["a missing clientId", { files: [{ ...good, clientId: undefined }] }],
    ["an empty name", { files: [{ ...good, name: "" }] }],
    ["a batchId that is not a UUID", { batchId: "../../etc", files: [good] }],
    ["files that is not an array", { files: "nope" }],
  ];
  for (const [what, body] of cases) {
    it(`refuses ${what} with a 400 naming the problem`, async () => {
      const res = await call("/api/uploads", json(body, { token: await tokenFor(userName()) }));
      expect(res.status).toBe(400);
      const err: { error: { code: string; message: string; details?: unknown } } = await res.json();
      expect(err.error.code).toBe("invalid_request");
      expect(err.error.message).toBeTruthy();
      expect(err.error.details).toBeTruthy();
      expect(res.headers.get("RateLimit-Remaining")).toBe("250");
    });
  }

  it("takes phone formats (HEIC, HEIF, AVIF) and GIF as well as JPEG, PNG and WebP", async () => {
    const types = ["image/heic", "image/heif", "image/avif", "image/gif", "image/png"];
    const files = types.map((type, i) => ({
      ...good,
      clientId: `c${i}`,
      name: `IMG_${i}.${type.slice(6)}`,
      type,
      sha256: String(i).repeat(64),
    }));
    const res = await call("/api/uploads", json({ files }, { token: await tokenFor(userName()) }));
    expect(res.status).toBe(200);
    const body: { files: Array<{ status: string }> } = await res.json();
    expect(body.files.map((f) => f.status)).toEqual(types.map(() => "upload"));
  });

  for (const declared of ["application/octet-stream", ""]) {
    it(`takes a photo declared ${JSON.stringify(declared)} (a browser's .heic), and its signed PUT binds application/octet-stream`, async () => {
      const token = await tokenFor(userName());
      const names = ["IMG_0001.HEIC", "DSC_0042", "holiday/beach.jpeg"];
      const bytes = names.map(() => jpegBytes());
      const files = await Promise.all(
        names.map((n, i) => fileFor(bytes[i] ?? jpegBytes(), n, declared)),
      );
      const { res, body } = await requestUploads(token, files);
      expect(res.status).toBe(200);
      for (const f of body.files) {
        expect(f.status).toBe("upload");
        expect(f.upload?.headers["Content-Type"]).toBe("application/octet-stream");
      }
      const row = await everyShard
        .prepare("SELECT type FROM assets WHERE id = ?")
        .bind(body.files[0]?.assetId)
        .first<{ type: string }>();
      expect(row?.type).toBe("application/octet-stream");
      // The PUT must send the type the URL was signed for: the generic one, never another.
      const ticket = body.files[0]?.upload;
      if (!ticket) throw new Error("no ticket");
      const first = bytes[0] ?? new Uint8Array(0);
      const wrong = await putUpload(ticket, first, { headers: { "Content-Type": "image/heic" } });
      expect(wrong.status).toBe(400);
      expect(await putUpload(ticket, first)).toHaveProperty("status", 200);
    });
  }

  it("refuses a body that is not JSON", async () => {
    const res = await call("/api/uploads", {
      method: "POST",
      body: "{not json",
      headers: { "Content-Type": "application/json" },
      token: await tokenFor(userName()),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "invalid_json", message: "The body must be JSON" },
    });
  });

  it("never writes anything for a refused request", async () => {
    const user = userName();
    await call(
      "/api/uploads",
      json({ files: [{ ...good, type: "image/svg+xml" }] }, { token: await tokenFor(user) }),
    );
    expect(
      await rowCount(
        "SELECT COUNT(*) AS n FROM assets a JOIN users u ON u.id = a.user_id WHERE u.sub = ?",
        user,
      ),
    ).toBe(0);
  });
});
