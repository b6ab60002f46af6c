// Registering hashed files with POST /api/uploads, in requests of up to 100 (the API's
// maximum): the answer gives each file its asset id and either a signed PUT ticket or
// `duplicate`. A request is retried under the shared policy (network errors, 5xx, 429
// with Retry-After, the 409s that ask for it), a bounded number of times; when that runs
// out, its files fail with the reason, and the user's Retry registers them again.
//
// Registration stays a bounded window ahead of the PUTs (AHEAD_MAX files registered and
// not yet being PUT): each answer carries signed URLs that expire
// (UPLOAD_URL_TTL_SECONDS, 15 min), so a 20,000-file drop registered as fast as it hashes
// would hold thousands of URLs that expire in the queue, each to be renewed by a request
// of its own, and thousands of jobs in memory. The scheduler still renews a URL that
// expires before its PUT (renewal.ts) when the PUTs are slower than the window allows.
import type { UploadResponse } from "@darkroom/shared/http";
import { ApiError, api, type UploadFile } from "../api";
import type { Row } from "./rows";

export const BATCH_MAX = 100;
/** A batch of 100 fills in well under a second; don't wait longer for a full one. */
const FLUSH_AFTER_MS = 400;
/**
 * Files registered ahead of the PUTs: three requests' worth, enough that the PUTs never
 * wait for a registration (one takes well under a second; 300 PUTs take minutes).
 */
export const AHEAD_MAX = 3 * BATCH_MAX;

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
  /** Files registered whose PUT has not started yet (the scheduler's queue). */
  ahead: () => number;
  onRegistered: (res: UploadResponse) => void;
  onFailed: (rows: Row[], reason: string) => void;
  /** POST /api/uploads (the API client's, retries included); tests give their own. */
  send?: (files: UploadFile[], batchId: string | null) => Promise<UploadResponse>;
};

export class Registrar {
  private readonly queue: Row[] = [];
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly send: NonNullable<RegistrarOptions["send"]>;

  constructor(private readonly o: RegistrarOptions) {
    this.send = o.send ?? api.uploads;
  }

  /** Rows waiting for registration (hashed, held back by the window or a fuller request). */
  get waiting(): number {
    return this.queue.length;
  }

  add(row: Row): void {
    this.queue.push(row);
    this.flushSoon();
  }

  /** Called again whenever a PUT starts or ends: the window may have room. */
  flushSoon(): void {
    if (this.queue.length === 0) return;
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
    // Whole requests only: a PUT starting frees one place, which is no reason for a
    // request of one file.
    const n = Math.min(BATCH_MAX, this.queue.length);
    if (n === 0 || AHEAD_MAX - this.o.ahead() < n) return;
    const rows = this.queue.splice(0, n);
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
      this.o.onRegistered(await this.send(rows.map(uploadFileOf), this.o.batchId()));
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
