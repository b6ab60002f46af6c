// Registering hashed files with POST /api/uploads, in requests of up to 100 (the API's
// maximum): the answer gives each file its asset id and either a signed PUT ticket or
// `duplicate`. A request is retried under the shared policy (network errors, 5xx, 429
// with Retry-After, the 409s that ask for it), a bounded number of times; when that runs
// out, its files fail with the reason, and the user's Retry registers them again.
import type { UploadResponse } from "@darkroom/shared/http";
import { ApiError, api, type UploadFile } from "../api";
import type { Row } from "./rows";

export const BATCH_MAX = 100;
/** A batch of 100 fills in well under a second; don't wait longer for a full one. */
const FLUSH_AFTER_MS = 400;

export function uploadFileOf(row: Row): UploadFile {
  return {
    clientId: row.clientId,
    name: row.name.slice(-1024),
    size: row.size,
    type: row.type ?? "",
    sha256: row.sha256 ?? "",
  };
}

export type RegistrarOptions = {
  batchId: () => string | null;
  /** Whether more files may still come (hashing not finished): wait for a fuller request. */
  moreComing: () => boolean;
  onRegistered: (res: UploadResponse) => void;
  onFailed: (rows: Row[], reason: string) => void;
};

export class Registrar {
  private readonly queue: Row[] = [];
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: RegistrarOptions) {}

  add(row: Row): void {
    this.queue.push(row);
    this.flushSoon();
  }

  flushSoon(): void {
    if (this.queue.length >= BATCH_MAX || !this.o.moreComing()) {
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, FLUSH_AFTER_MS);
  }

  private async flush(): Promise<void> {
    if (this.busy) return;
    const rows = this.queue.splice(0, BATCH_MAX);
    if (rows.length === 0) return;
    this.busy = true;
    try {
      await this.register(rows);
    } finally {
      this.busy = false;
    }
    if (this.queue.length > 0) this.flushSoon();
  }

  private async register(rows: Row[]): Promise<void> {
    try {
      this.o.onRegistered(await api.uploads(rows.map(uploadFileOf), this.o.batchId()));
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && rows.length > 1) {
        // One bad file refuses the whole request: find it by sending them one by one.
        for (const r of rows) await this.register([r]);
        return;
      }
      this.o.onFailed(rows, registrationFailure(err));
    }
  }
}

/** "could not register after 6 attempts: http_503: …": what happened, and how hard we tried. */
export function registrationFailure(err: unknown): string {
  if (!(err instanceof ApiError)) {
    return `could not register: ${err instanceof Error ? err.message : String(err)}`;
  }
  const tries = err.attempts > 1 ? ` after ${err.attempts} attempts` : "";
  return `could not register${tries}: ${err.code}: ${err.message}`;
}
