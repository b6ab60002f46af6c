// A small client of the Darkroom HTTP API with retries: exponential backoff with jitter
// on network errors and 5xx, and the server's Retry-After on 429.

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Delay before retry `attempt` (1-based): 0.5 s doubling to 30 s, full jitter on the top half. */
export function backoffMs(attempt, random = Math.random) {
  const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** Retry-After (seconds or an HTTP date) in ms, or null. */
export function retryAfterMs(header, now = Date.now()) {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `attempt()` (which returns a Response) until it gives an answer that is not
 * worth retrying. Network errors, 429 and 5xx are retried up to `retries` times.
 * @param {() => Promise<Response>} attempt
 * @param {{ retries?: number, onRetry?: (info: { attempt: number, waitMs: number, reason: string }) => void, random?: () => number }} [opts]
 * @returns {Promise<Response>}
 */
export async function withRetries(attempt, { retries = 6, onRetry, random } = {}) {
  for (let n = 1; ; n++) {
    let reason;
    let waitMs = backoffMs(n, random);
    try {
      const res = await attempt();
      if (res.status !== 429 && res.status < 500) return res;
      if (n > retries) return res;
      reason = `HTTP ${res.status}`;
      if (res.status === 429) waitMs = retryAfterMs(res.headers.get("retry-after")) ?? waitMs;
      await res.body?.cancel();
    } catch (err) {
      if (n > retries) throw err;
      reason = err instanceof Error ? err.message : String(err);
    }
    onRetry?.({ attempt: n, waitMs, reason });
    await sleep(waitMs);
  }
}

/** Turns a non-2xx answer into an ApiError carrying the API's `{ error: { code, message } }`. */
export async function errorOf(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (body?.error?.code) return new ApiError(res.status, body.error.code, body.error.message);
  } catch {
    // not JSON
  }
  return new ApiError(res.status, "http_error", text.slice(0, 200) || res.statusText);
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
 * @param {{ url: string, token: string, retries?: number, onRetry?: (info: object) => void }} opts
 */
export function createClient({ url, token, retries = 6, onRetry }) {
  const base = url.replace(/\/+$/, "");
  const auth = { Authorization: `Bearer ${token}` };
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
      { retries, onRetry },
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
    /**
     * POST /api/uploads; `ms` is the round trip of the attempt that answered, `serverMs`
     * its time inside the worker (Server-Timing), when the server says.
     */
    createUploads: (req) => json("POST", "/api/uploads", req),
    /** PUT the bytes to a signed URL with exactly its headers. */
    put: async (ticket, bytes) => {
      let ms = 0;
      const res = await withRetries(
        async () => {
          const t0 = performance.now();
          const r = await fetch(ticket.url, {
            method: "PUT",
            headers: ticket.headers,
            body: bytes,
          });
          ms = performance.now() - t0;
          return r;
        },
        { retries, onRetry },
      );
      return { res, ms };
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
