// The API as the page uses it: bearer token, JSON, errors as `{ error: { code, message } }`,
// every call under the shared client retry policy (network errors, 5xx, 408, retryable
// 409s and 429 are tried again, a bounded number of times).
import type { AssetError, AssetStatus } from "@darkroom/shared/assets";
import { errorInfo, withRetries } from "@darkroom/shared/client";
import type { UploadResponse } from "@darkroom/shared/http";
import type { Stats } from "./progress";

export type Asset = {
  id: string;
  batchId: string | null;
  name: string;
  size: number;
  type: string;
  sha256: string;
  status: AssetStatus;
  version: number;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  camera: { make: string | null; model: string | null };
  variants: {
    thumb: { width: number; height: number; bytes: number } | null;
    preview: { width: number; height: number; bytes: number } | null;
  };
  nearDuplicateOf: string | null;
  labels: string[];
  caption: string | null;
  /** Why `caption` is null, when AI skipped it. */
  captionSkipped: { code: string; message: string } | null;
  error: AssetError | null;
  attempts: number;
  urls: { original: string | null; thumb: string | null; preview: string | null };
  createdAt: string;
  updatedAt: string;
};

export type UploadFile = {
  clientId: string;
  name: string;
  size: number;
  type: string;
  sha256: string;
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Requests sent before this answer, retries included. */
    readonly attempts = 1,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "darkroom.token";

export function savedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/**
 * One API call. A network error that outlasts the retries is thrown as an ApiError with
 * status 0 and code `network_error`, so every failure has a code and a message.
 */
export async function request<T>(
  path: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? savedToken() : init.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  let attempts = 0;
  let res: Response;
  try {
    res = await withRetries(() => {
      attempts += 1;
      return fetch(path, {
        method: init.method ?? "GET",
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    });
  } catch (err) {
    throw new ApiError(
      0,
      "network_error",
      err instanceof Error ? err.message : String(err),
      attempts,
    );
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!res.ok) {
    const e = errorInfo(res.status, text, res.statusText);
    throw new ApiError(res.status, e.code, e.message, attempts);
  }
  return (text ? JSON.parse(text) : null) as T;
}

/** GET /api/assets/:id as an answer to classify, not thrown (see classifyUploadedAsset). */
export async function assetAnswer(
  id: string,
): Promise<{ answer: { status: number; body?: string }; asset: Asset | null }> {
  try {
    return { answer: { status: 200 }, asset: await api.asset(id) };
  } catch (err) {
    if (err instanceof ApiError) return { answer: { status: err.status, body: "" }, asset: null };
    throw err;
  }
}

export const api = {
  devLogin: (user: string) =>
    request<{ token: string }>("/api/dev/login", { method: "POST", body: { user }, token: null }),
  uploads: (files: UploadFile[], batchId: string | null) =>
    request<UploadResponse>("/api/uploads", {
      method: "POST",
      body: batchId ? { batchId, files } : { files },
    }),
  stats: (batchId?: string) =>
    request<Stats>(`/api/stats${batchId ? `?batchId=${encodeURIComponent(batchId)}` : ""}`),
  assets: (q: { batchId?: string; cursor?: string | null; limit?: number }) => {
    const p = new URLSearchParams();
    if (q.batchId) p.set("batchId", q.batchId);
    if (q.cursor) p.set("cursor", q.cursor);
    p.set("limit", String(q.limit ?? 50));
    return request<{ assets: Asset[]; nextCursor: string | null }>(`/api/assets?${p}`);
  },
  asset: (id: string) => request<Asset>(`/api/assets/${id}`),
  retry: (id: string) =>
    request<{ outcome: string; asset: Asset }>(`/api/assets/${id}/retry`, { method: "POST" }),
  retryFailed: (batchId: string) =>
    request<{ requeued: number; reupload: number; skipped: number; retryLimitReached: number }>(
      `/api/assets/retry-failed?batchId=${encodeURIComponent(batchId)}`,
      { method: "POST" },
    ),
  search: (q: string) =>
    request<{ mode: string; results: Array<{ asset: Asset; score: number }> }>(
      `/api/search?q=${encodeURIComponent(q)}&limit=50`,
    ),
  similar: (id: string) =>
    request<{ results: Array<{ asset: Asset; score: number }> }>(
      `/api/assets/${id}/similar?limit=24`,
    ),
  ticket: () => request<{ ticket: string }>("/api/events/ticket", { method: "POST" }),
};

/** Every asset of a batch, page by page (100 a page, the API's maximum). */
export async function allBatchAssets(batchId: string): Promise<Asset[]> {
  const out: Asset[] = [];
  let cursor: string | null = null;
  do {
    const page: { assets: Asset[]; nextCursor: string | null } = await api.assets({
      batchId,
      cursor,
      limit: 100,
    });
    out.push(...page.assets);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
