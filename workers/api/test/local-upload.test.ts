import { env } from "cloudflare:workers";
import { originalKey, r2NotificationSchema } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { config } from "../src/lib/config/config";
import { signUpload } from "../src/lib/signing/upload-urls";
import {
  call,
  fileFor,
  jpegBytes,
  makeEnv,
  putUpload,
  requestUploads,
  tokenFor,
  uidFor,
  userName,
} from "./helpers";

async function ticket(size = 256) {
  const user = userName();
  const token = await tokenFor(user);
  const bytes = jpegBytes(size);
  const { body } = await requestUploads(token, [await fileFor(bytes)]);
  const f = body.files[0];
  if (!f?.upload) throw new Error("no ticket");
  const uid = await uidFor(user);
  return {
    bytes,
    upload: f.upload,
    assetId: f.assetId,
    key: originalKey(uid, f.assetId),
    token,
    uid,
  };
}

async function errorCode(res: Response): Promise<string> {
  const body: { error: { code: string } } = await res.json();
  return body.error.code;
}

describe("local signed PUT", () => {
  it("stores the bytes and sends the uploads queue the message R2 would send", async () => {
    const t = await ticket();
    const { env: e, sent } = makeEnv();
    const res = await putUpload(t.upload, t.bytes, { env: e });
    expect(res.status).toBe(200);
    expect(res.headers.get("ETag")).toMatch(/^".+"$/);
    const obj = await env.BUCKET.get(t.key);
    expect(new Uint8Array(await (obj?.arrayBuffer() ?? new ArrayBuffer(0)))).toEqual(t.bytes);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.queue).toBe("uploads");
    const note = r2NotificationSchema.parse(sent[0]?.body);
    expect(note).toMatchObject({
      action: "PutObject",
      bucket: "darkroom-originals",
      object: { key: t.key, size: 256 },
    });
    expect(Object.keys(note).sort()).toEqual([
      "account",
      "action",
      "bucket",
      "eventTime",
      "object",
    ]);
  });

  it("refuses a second PUT after success and keeps the first bytes", async () => {
    const t = await ticket();
    expect((await putUpload(t.upload, t.bytes)).status).toBe(200);
    const again = await putUpload(t.upload, t.bytes);
    expect(again.status).toBe(412);
    expect(await errorCode(again)).toBe("already_uploaded");
  });

  it("refuses a body whose length differs from the declared size and stores nothing", async () => {
    const t = await ticket();
    const res = await putUpload(t.upload, t.bytes.subarray(0, 100));
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("size_mismatch");
    expect(await env.BUCKET.head(t.key)).toBeNull();
  });

  it("refuses bytes that do not match the declared SHA-256 and stores nothing", async () => {
    const t = await ticket();
    const tampered = t.bytes.slice();
    tampered[200] = (tampered[200] ?? 0) ^ 0xff;
    const { env: e, sent } = makeEnv();
    const res = await putUpload(t.upload, tampered, { env: e });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("checksum_mismatch");
    expect(await env.BUCKET.head(t.key)).toBeNull();
    expect(sent).toHaveLength(0);
    // The right bytes still go through afterwards.
    expect((await putUpload(t.upload, t.bytes)).status).toBe(200);
  });

  it("refuses a checksum header that is not the declared one", async () => {
    const t = await ticket();
    const res = await putUpload(t.upload, t.bytes, {
      headers: { "x-amz-checksum-sha256": btoa("x".repeat(32)) },
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("checksum_mismatch");
  });

  it("refuses another Content-Type than the declared one", async () => {
    const t = await ticket();
    const res = await putUpload(t.upload, t.bytes, {
      headers: { "Content-Type": "image/svg+xml" },
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("type_mismatch");
    expect(await env.BUCKET.head(t.key)).toBeNull();
  });

  it("refuses a PUT without If-None-Match: *", async () => {
    const t = await ticket();
    const res = await putUpload(t.upload, t.bytes, { headers: { "If-None-Match": "" } });
    expect(res.status).toBe(400);
  });

  it("refuses a tampered signature, expiry or asset id", async () => {
    const t = await ticket();
    const url = new URL(t.upload.url);
    const badSig = new URL(url);
    const sig = url.searchParams.get("sig") ?? "";
    // One character changed for another, and the same bytes spelled another way (the last
    // character's unused low bits): both refused.
    badSig.searchParams.set("sig", `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`);
    // 32 bytes are 43 characters; the last one carries 4 bits, so index + 1 decodes alike.
    const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respelled = new URL(url);
    respelled.searchParams.set(
      "sig",
      `${sig.slice(0, -1)}${b64url[b64url.indexOf(sig.at(-1) ?? "") + 1]}`,
    );
    const laterExp = new URL(url);
    laterExp.searchParams.set("exp", String(Number(url.searchParams.get("exp")) + 3600));
    const other = await ticket();
    const otherAsset = new URL(url);
    otherAsset.pathname = `/api/local-upload/${other.assetId}`;
    const unsigned = new URL(url);
    unsigned.search = "";
    for (const u of [badSig, respelled, laterExp, otherAsset, unsigned]) {
      const res = await putUpload({ url: u.toString(), headers: t.upload.headers }, t.bytes);
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe("invalid_signature");
    }
    expect(await env.BUCKET.head(t.key)).toBeNull();
  });

  it("refuses an expired URL", async () => {
    const t = await ticket();
    const row = await everyShard
      .prepare("SELECT type, size, sha256 FROM assets WHERE id = ?")
      .bind(t.assetId)
      .first<{ type: string; size: number; sha256: string }>();
    if (!row) throw new Error("no row");
    const old = await signUpload(
      env,
      config(env),
      "https://darkroom.test",
      { assetId: t.assetId, key: t.key, ...row },
      Date.now() - 16 * 60_000,
    );
    const res = await putUpload(old, t.bytes);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("url_expired");
  });

  it("answers CORS preflights like the bucket's rule: allowed origins only", async () => {
    const t = await ticket();
    const preflight = (origin: string) =>
      call(t.upload.url, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "PUT",
          "Access-Control-Request-Headers": "content-type,x-amz-checksum-sha256,if-none-match",
        },
      });
    const ok = await preflight("http://localhost:8787");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:8787");
    expect(ok.headers.get("Access-Control-Allow-Methods")).toContain("PUT");
    expect(ok.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain(
      "x-amz-checksum-sha256",
    );
    const evil = await preflight("https://evil.example");
    expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();

    const put = await putUpload(t.upload, t.bytes, {
      headers: { Origin: "http://localhost:8787" },
    });
    expect(put.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:8787");
    expect(put.headers.get("Access-Control-Expose-Headers")).toContain("ETag");
  });

  it("builds local URLs on LOCAL_UPLOAD_ORIGIN when it is set", async () => {
    const { env: e } = makeEnv({}, { LOCAL_UPLOAD_ORIGIN: "http://127.0.0.1:8787" });
    const token = await tokenFor(userName());
    const { body } = await requestUploads(token, [await fileFor(jpegBytes())], { env: e });
    expect(body.files[0]?.upload?.url).toMatch(/^http:\/\/127\.0\.0\.1:8787\/api\/local-upload\//);
  });
});

describe("production presigned PUT (UPLOAD_MODE=r2)", () => {
  it("signs an S3 PutObject on the bucket with every required header and a 15-minute expiry", async () => {
    const { env: e } = makeEnv({
      UPLOAD_MODE: "r2",
      R2_ACCOUNT_ID: "acc0123",
      R2_ACCESS_KEY_ID: "AKIDEXAMPLE",
      R2_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    });
    const user = userName();
    const bytes = jpegBytes(300);
    const { body } = await requestUploads(await tokenFor(user), [await fileFor(bytes)], { env: e });
    const f = body.files[0];
    const url = new URL(f?.upload?.url ?? "");
    expect(url.host).toBe("acc0123.r2.cloudflarestorage.com");
    expect(url.pathname).toBe(
      `/darkroom-originals/${originalKey(await uidFor(user), f?.assetId ?? "")}`,
    );
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toEqual([
      "content-length",
      "content-type",
      "host",
      "if-none-match",
      "x-amz-checksum-sha256",
    ]);
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    // The browser sets Content-Length itself; it is signed but not listed.
    expect(Object.keys(f?.upload?.headers ?? {})).toEqual([
      "Content-Type",
      "x-amz-checksum-sha256",
      "If-None-Match",
    ]);
  });

  it("signs for the jurisdiction's endpoint when R2_JURISDICTION names one", async () => {
    const { env: e } = makeEnv(
      {
        UPLOAD_MODE: "r2",
        R2_ACCOUNT_ID: "acc0123",
        R2_ACCESS_KEY_ID: "AKIDEXAMPLE",
        R2_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      },
      { R2_JURISDICTION: "eu" },
    );
    const { body } = await requestUploads(
      await tokenFor(userName()),
      [await fileFor(jpegBytes())],
      {
        env: e,
      },
    );
    expect(new URL(body.files[0]?.upload?.url ?? "").host).toBe(
      "acc0123.eu.r2.cloudflarestorage.com",
    );
  });

  it("signs for R2_S3_ENDPOINT when it is set (wrangler dev's local S3 endpoint)", async () => {
    const { env: e } = makeEnv(
      {
        UPLOAD_MODE: "r2",
        R2_ACCOUNT_ID: "acc0123",
        R2_ACCESS_KEY_ID: "AKIDEXAMPLE",
        R2_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      },
      { R2_S3_ENDPOINT: "https://acc0123.eu.r2.cloudflarestorage.com/" },
    );
    const user = userName();
    const { body } = await requestUploads(await tokenFor(user), [await fileFor(jpegBytes())], {
      env: e,
    });
    const url = new URL(body.files[0]?.upload?.url ?? "");
    expect(url.host).toBe("acc0123.eu.r2.cloudflarestorage.com");
    expect(url.pathname).toMatch(/^\/darkroom-originals\/u\//);
  });

  it("fails loudly rather than issuing unsigned URLs when credentials are missing", async () => {
    const { env: e } = makeEnv({ UPLOAD_MODE: "r2", R2_ACCOUNT_ID: "" });
    const user = userName();
    const { res } = await requestUploads(await tokenFor(user), [await fileFor(jpegBytes())], {
      env: e,
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "internal", message: "Internal error" } });
    const n = await everyShard
      .sum("SELECT COUNT(*) AS n FROM assets WHERE user_id = ?")
      .bind(await uidFor(user))
      .first<{ n: number }>();
    expect(n?.n).toBe(0);
  });
});
