// A small client of the Darkroom HTTP API under the shared client retry policy
// (@darkroom/shared/client): backoff with jitter on network errors, 5xx and retryable
// 409s, the server's Retry-After on 429, every loop bounded.
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  errorInfo,
  retryAfterMs,
  withRetries,
} from "@darkroom/shared/client";

// Re-exported: the CLI's public module keeps offering them, from the one policy.
export { backoffMs, retryAfterMs, withRetries };

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * Turns a non-2xx answer into an ApiError: our API's `{ error: { code, message } }`, or
 * R2's S3 XML `<Error><Code>…</Code><Message>…</Message></Error>`.
 * @param {Response} res
 */
export async function errorOf(res) {
  const { code, message } = errorInfo(res.status, await res.text(), res.statusText);
  return new ApiError(res.status, code, message);
}

/**
 * The `total` duration (ms) of a Server-Timing header, or null: the time the request
 * spent inside the worker, apart from any wait on the way there and back.
 * @param {string | null} header
 */
export function serverTotalMs(header) {
  if (!header) return null;
  for (const metric of header.split(",")) {
    const [name, ...params] = metric.split(";").map((p) => p.trim());
    if (name !== "total") continue;
    for (const p of params) {
      const m = /^dur=([0-9]+(?:\.[0-9]+)?)$/.exec(p);
      if (m) return Number(m[1]);
    }
  }
  return null;
}

/**
 * @param {{ url: string, token: string, retries?: number, onRetry?: (info: { attempt: number, waitMs: number, reason: string }) => void }} opts
 */
export function createClient({ url, token, retries = DEFAULT_RETRY_POLICY.maxRetries, onRetry }) {
  const base = url.replace(/\/+$/, "");
  const auth = { Authorization: `Bearer ${token}` };
  const policy = { ...DEFAULT_RETRY_POLICY, maxRetries: retries };
  /** @returns {Promise<{ res: Response, ms: number }>} the final answer and the last attempt's time */
  const request = async (method, path, body) => {
    let ms = 0;
    const res = await withRetries(
      async () => {
        const t0 = performance.now();
        const r = await fetch(`${base}${path}`, {
          method,
          headers: body ? { ...auth, "Content-Type": "application/json" } : auth,
          body: body ? JSON.stringify(body) : undefined,
        });
        ms = performance.now() - t0;
        return r;
      },
      { policy, onRetry },
    );
    return { res, ms };
  };
  const json = async (method, path, body) => {
    const { res, ms } = await request(method, path, body);
    if (!res.ok) throw await errorOf(res);
    return {
      body: await res.json(),
      ms,
      serverMs: serverTotalMs(res.headers.get("server-timing")),
    };
  };
  return {
    base,
    token,
    policy,
    onRetry,
    /**
     * POST /api/uploads; `ms` is the round trip of the attempt that answered, `serverMs`
     * its time inside the worker (Server-Timing), when the server says.
     */
    createUploads: (req) => json("POST", "/api/uploads", req),
    /**
     * One PUT of the bytes to a signed URL with exactly its headers, no retry: the
     * caller classifies the answer (classifyPutAnswer), since renewing or verifying
     * needs it. A network error throws.
     */
    put: async (ticket, bytes) => {
      const t0 = performance.now();
      const res = await fetch(ticket.url, { method: "PUT", headers: ticket.headers, body: bytes });
      return { res, ms: performance.now() - t0 };
    },
    /** GET /api/assets/:id as an answer to classify (classifyUploadedAsset), not thrown. */
    assetAnswer: async (id) => {
      const { res } = await request("GET", `/api/assets/${encodeURIComponent(id)}`);
      const text = await res.text();
      let asset = null;
      if (res.ok) {
        try {
          asset = JSON.parse(text);
        } catch {
          // unreadable: classified as such
        }
      }
      return { answer: { status: res.status, body: text }, asset };
    },
    stats: async (batchId) =>
      (await json("GET", `/api/stats${batchId ? `?batchId=${encodeURIComponent(batchId)}` : ""}`))
        .body,
    asset: async (id) => (await json("GET", `/api/assets/${encodeURIComponent(id)}`)).body,
    listAssets: async (query) =>
      (await json("GET", `/api/assets?${new URLSearchParams(query)}`)).body,
    retryFailed: async (batchId) =>
      (
        await json(
          "POST",
          `/api/assets/retry-failed${batchId ? `?batchId=${encodeURIComponent(batchId)}` : ""}`,
        )
      ).body,
    search: async (q, limit) =>
      (await json("GET", `/api/search?${new URLSearchParams({ q, limit: String(limit) })}`)).body,
    ticket: async () => (await json("POST", "/api/events/ticket")).body.ticket,
  };
}
