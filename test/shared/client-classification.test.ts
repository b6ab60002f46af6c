import {
  backoffMs,
  classifyApiAnswer,
  classifyPutAnswer,
  classifyUploadedAsset,
  DEFAULT_RETRY_POLICY,
  errorInfo,
  freshTries,
  nextStep,
  parseS3Error,
  retryAfterMs,
  withRetries,
} from "@darkroom/shared/client";
import { describe, expect, it } from "vitest";

// R2's S3 error documents as Cloudflare's docs show them
// (https://developers.cloudflare.com/r2/api/error-codes/: XML with <Code> and <Message>;
// the codes and statuses of its tables), with the message texts R2 and S3 send.
const xml = (code: string, message: string, extra = "") =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>${extra}\n</Error>`;

const R2 = {
  noSuchKey: xml("NoSuchKey", "The specified key does not exist."),
  preconditionFailed: xml(
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold",
  ),
  expiredRequest: xml("ExpiredRequest", "Request has expired"),
  // S3's form (and that of S3-compatible servers): AccessDenied with the times.
  accessDeniedExpired: xml(
    "AccessDenied",
    "Request has expired",
    "\n  <X-Amz-Expires>60</X-Amz-Expires>\n  <Expires>2018-03-29T11:17:34Z</Expires>\n  <ServerTime>2018-03-29T11:27:42Z</ServerTime>\n  <RequestId>FED2CBD7BC00CFFC</RequestId>",
  ),
  accessDenied: xml("AccessDenied", "Access Denied"),
  signature: xml(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your secret access key and signing method. ",
  ),
  badDigest: xml("BadDigest", "The SHA-256 you specified did not match what we received."),
  incompleteBody: xml(
    "IncompleteBody",
    "You did not provide the number of bytes specified by the Content-Length HTTP header",
  ),
  tooMany: xml("TooManyRequests", "Reduce your concurrent request rate for the same object."),
  internal: xml("InternalError", "We encountered an internal error. Please try again."),
  unavailable: xml("ServiceUnavailable", "Please reduce your request rate."),
};

const json = (code: string, message: string) => JSON.stringify({ error: { code, message } });
const NOW = Date.parse("2026-12-01T12:00:00Z");

describe("R2's XML errors", () => {
  it("reads code and message out of R2's documented error document", () => {
    expect(parseS3Error(R2.noSuchKey)).toEqual({
      code: "NoSuchKey",
      message: "The specified key does not exist.",
    });
    expect(parseS3Error(R2.accessDeniedExpired)).toEqual({
      code: "AccessDenied",
      message: "Request has expired",
    });
  });

  it("unescapes XML entities and CDATA in the message", () => {
    expect(
      parseS3Error(xml("InvalidArgument", "a &lt;b&gt; &amp; &quot;c&quot; &#233;&#x21;")),
    ).toEqual({ code: "InvalidArgument", message: 'a <b> & "c" é!' });
    expect(parseS3Error(xml("InvalidArgument", "<![CDATA[x < y]]>"))?.message).toBe("x < y");
  });

  it("is not fooled by JSON, HTML or an empty body", () => {
    expect(parseS3Error(json("url_expired", "x"))).toBeNull();
    expect(parseS3Error("<html><body>502 Bad Gateway</body></html>")).toBeNull();
    expect(parseS3Error("")).toBeNull();
    expect(errorInfo(502, "<html>Bad Gateway</html>")).toEqual({
      code: "http_502",
      message: "<html>Bad Gateway</html>",
    });
    expect(errorInfo(0, "")).toEqual({ code: "network_error", message: "no answer" });
  });
});

describe("classification of an upload PUT's answer", () => {
  const put = (status: number, body = "", retryAfter: string | null = null) =>
    classifyPutAnswer({ status, body, retryAfter }, NOW);

  it("counts any 2xx as done", () => {
    expect(put(200)).toEqual({ kind: "done" });
    expect(put(204)).toEqual({ kind: "done" });
  });

  it("sends R2's 412 PreconditionFailed and the local already_uploaded to verification", () => {
    expect(put(412, R2.preconditionFailed)).toMatchObject({
      kind: "verify",
      code: "PreconditionFailed",
    });
    expect(put(412, json("already_uploaded", "This file has already been uploaded"))).toMatchObject(
      { kind: "verify", code: "already_uploaded" },
    );
  });

  it("renews the URL on every form of expiry: R2's ExpiredRequest, S3's AccessDenied, ours", () => {
    for (const [status, body] of [
      [403, R2.expiredRequest],
      [400, R2.expiredRequest], // the status R2's docs listed before cloudflare-docs#32436
      [403, R2.accessDeniedExpired],
      [403, json("url_expired", "The upload URL has expired; ask for a new one")],
    ] as const) {
      expect(put(status, body)).toMatchObject({ kind: "renew", reason: "expired" });
    }
  });

  it("renews the URL when its signature is refused", () => {
    expect(put(403, R2.signature)).toMatchObject({
      kind: "renew",
      reason: "signature",
      code: "SignatureDoesNotMatch",
    });
    expect(put(403, json("invalid_signature", "no"))).toMatchObject({ kind: "renew" });
    // A 403 nobody explains (a proxy's page): a fresh URL is the only thing that can help.
    expect(put(403, "<html>Forbidden</html>")).toMatchObject({ kind: "renew" });
  });

  it("fails a plain AccessDenied: a fresh URL signed by the same key is refused too", () => {
    expect(put(403, R2.accessDenied)).toMatchObject({ kind: "fail", code: "AccessDenied" });
  });

  it("retries a network failure or an error answer hidden by CORS (status 0)", () => {
    expect(classifyPutAnswer({ status: 0, networkError: "connection failed" })).toMatchObject({
      kind: "retry",
      reason: "network",
      message: "connection failed",
    });
  });

  it("retries R2's 5xx and cut-off bodies, throttles on 429 with Retry-After", () => {
    expect(put(500, R2.internal)).toMatchObject({ kind: "retry", reason: "server" });
    expect(put(503, R2.unavailable, "7")).toMatchObject({
      kind: "retry",
      code: "ServiceUnavailable",
      retryAfterMs: 7000,
    });
    expect(put(400, R2.incompleteBody)).toMatchObject({ kind: "retry", reason: "incomplete" });
    expect(put(429, R2.tooMany, "3")).toMatchObject({
      kind: "throttle",
      code: "TooManyRequests",
      retryAfterMs: 3000,
    });
  });

  it("fails what the same bytes cannot fix: a bad digest, a mismatch, a missing bucket", () => {
    expect(put(400, R2.badDigest)).toMatchObject({ kind: "fail", code: "BadDigest" });
    expect(put(400, json("checksum_mismatch", "x"))).toMatchObject({ kind: "fail" });
    expect(put(404, xml("NoSuchBucket", "The specified bucket does not exist."))).toMatchObject({
      kind: "fail",
      code: "NoSuchBucket",
    });
  });
});

describe("classification of the API's answers", () => {
  it("retries 5xx, 408, network errors and the 409s that ask for it; fails other 4xx", () => {
    expect(classifyApiAnswer({ status: 503 })).toMatchObject({ kind: "retry" });
    expect(classifyApiAnswer({ status: 408 })).toMatchObject({ kind: "retry" });
    expect(classifyApiAnswer({ status: 0 })).toMatchObject({ kind: "retry", reason: "network" });
    expect(classifyApiAnswer({ status: 409, body: json("upload_race", "retry") })).toMatchObject({
      kind: "retry",
      reason: "conflict",
    });
    expect(classifyApiAnswer({ status: 409, body: json("not_failed", "x") })).toMatchObject({
      kind: "fail",
      code: "not_failed",
    });
    expect(classifyApiAnswer({ status: 400, body: json("bad_request", "x") })).toMatchObject({
      kind: "fail",
      code: "bad_request",
    });
    expect(classifyApiAnswer({ status: 429, retryAfter: "2" }, NOW)).toMatchObject({
      kind: "throttle",
      retryAfterMs: 2000,
    });
  });

  it("after a 412, counts the asset done once the server holds its original", () => {
    const ok = { status: 200 };
    expect(classifyUploadedAsset(ok, { status: "uploaded" })).toEqual({ kind: "done" });
    expect(classifyUploadedAsset(ok, { status: "ready" })).toEqual({ kind: "done" });
    expect(classifyUploadedAsset(ok, { status: "failed", error: { stage: "processing" } })).toEqual(
      { kind: "done" },
    );
    expect(classifyUploadedAsset(ok, { status: "pending" })).toMatchObject({
      kind: "retry",
      reason: "pending",
    });
    expect(classifyUploadedAsset({ status: 404 }, null)).toMatchObject({
      kind: "fail",
      code: "asset_gone",
    });
    expect(classifyUploadedAsset(ok, { status: "deleting" })).toMatchObject({ kind: "fail" });
  });
});

describe("the retry policy", () => {
  it("backs off exponentially to a ceiling, fully jittered (anywhere from 0 to the ceiling)", () => {
    expect(backoffMs(1, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
    expect(backoffMs(1, DEFAULT_RETRY_POLICY, () => 0.5)).toBe(250);
    expect(backoffMs(1, DEFAULT_RETRY_POLICY, () => 1)).toBe(500);
    expect(backoffMs(3, DEFAULT_RETRY_POLICY, () => 1)).toBe(2000);
    expect(backoffMs(30, DEFAULT_RETRY_POLICY, () => 1)).toBe(30_000);
  });

  it("reads Retry-After as seconds or an HTTP-date, clamped", () => {
    expect(retryAfterMs("5", NOW)).toBe(5000);
    expect(retryAfterMs("Tue, 01 Dec 2026 12:00:30 GMT", NOW)).toBe(30_000);
    expect(retryAfterMs("Tue, 01 Dec 2026 11:00:00 GMT", NOW)).toBe(0);
    expect(retryAfterMs("86400", NOW)).toBe(DEFAULT_RETRY_POLICY.maxRetryAfterMs);
    expect(retryAfterMs("soon", NOW)).toBeNull();
    expect(retryAfterMs("-3", NOW)).toBeNull();
    expect(retryAfterMs(null, NOW)).toBeNull();
  });

  it("spends a bounded budget on every path that goes round again", () => {
    const run = (verdict: Parameters<typeof nextStep>[0]) => {
      const tries = freshTries();
      const actions: string[] = [];
      for (let i = 0; i < 100; i++) {
        const s = nextStep(verdict, tries, { random: () => 0.5 });
        actions.push(s.action);
        if (s.action === "fail" || s.action === "done") return { actions, last: s };
      }
      throw new Error("endless");
    };
    const network = classifyPutAnswer({ status: 0 });
    const r = run(network);
    expect(r.actions.filter((a) => a === "wait")).toHaveLength(DEFAULT_RETRY_POLICY.maxRetries);
    expect(r.last).toMatchObject({ action: "fail", reason: /gave up after 6 attempts/ });
    expect(run(classifyPutAnswer({ status: 403, body: R2.signature })).actions).toHaveLength(
      DEFAULT_RETRY_POLICY.maxRenewals + 1,
    );
    expect(run(classifyPutAnswer({ status: 412, body: R2.preconditionFailed })).last).toMatchObject(
      { action: "fail" },
    );
    expect(run(classifyPutAnswer({ status: 429 })).actions).toHaveLength(
      DEFAULT_RETRY_POLICY.maxThrottles + 1,
    );
  });

  it("waits the server's Retry-After rather than its own backoff", () => {
    const s = nextStep(classifyApiAnswer({ status: 503, retryAfter: "9" }, NOW), freshTries());
    expect(s).toMatchObject({ action: "wait", waitMs: 9000 });
  });
});

describe("withRetries", () => {
  const answers = (...list: Array<Response | Error>) => {
    let i = 0;
    const calls: number[] = [];
    return {
      calls,
      attempt: async () => {
        calls.push(i);
        const a = list[Math.min(i++, list.length - 1)];
        if (a instanceof Error) throw a;
        return a as Response;
      },
    };
  };
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };

  it("repeats a 503 and a network error, then returns the answer", async () => {
    waits.length = 0;
    const a = answers(
      new Response("", { status: 503, headers: { "Retry-After": "1" } }),
      new TypeError("fetch failed"),
      new Response("{}", { status: 200 }),
    );
    const res = await withRetries(a.attempt, { sleep, random: () => 0.5 });
    expect(res.status).toBe(200);
    expect(a.calls).toHaveLength(3);
    expect(waits[0]).toBe(1000);
  });

  it("returns a 400 at once and gives up on endless 500s after the budget", async () => {
    const bad = answers(new Response(json("bad_request", "x"), { status: 400 }));
    expect((await withRetries(bad.attempt, { sleep })).status).toBe(400);
    expect(bad.calls).toHaveLength(1);
    const down = answers(new Response("", { status: 500 }));
    expect((await withRetries(down.attempt, { sleep })).status).toBe(500);
    expect(down.calls).toHaveLength(DEFAULT_RETRY_POLICY.maxRetries + 1);
    const gone = answers(new TypeError("fetch failed"));
    await expect(withRetries(gone.attempt, { sleep })).rejects.toThrow("fetch failed");
    expect(gone.calls).toHaveLength(DEFAULT_RETRY_POLICY.maxRetries + 1);
  });
});
