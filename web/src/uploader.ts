// One drop from files to asset ids: hash in workers, register in batches of up to 100,
// hand the PUTs to the scheduler, and keep the manifest so a reload can pick up.
import { ApiError, type Asset, allBatchAssets, api, type UploadFile } from "./api";
import type { HashRequest, HashResponse } from "./hash-worker";
import { type Manifest, type ManifestFile, saveManifest } from "./manifest";
import {
  initialProgress,
  type ProgressAction,
  type ProgressState,
  progressReducer,
} from "./progress";
import type { PutOutcome, RenewOutcome, Ticket, UploadJob } from "./scheduler";
import { UploadScheduler } from "./scheduler";
import { Store } from "./store";

export type LocalStage =
  | "hashing"
  | "registering"
  | "skipped"
  | "duplicate"
  | "queued"
  | "uploading"
  | "waiting"
  | "sent"
  | "upload-failed"
  | "needs-file";

export type Row = {
  clientId: string;
  name: string;
  size: number;
  lastModified: number;
  file: File | null;
  sha256: string | null;
  type: string | null;
  assetId: string | null;
  local: LocalStage;
  loaded: number;
  note: string | null;
  attempts: number;
};

const BATCH_MAX = 100;

export class Uploader {
  readonly store = new Store();
  rows: Row[] = [];
  progress: ProgressState = initialProgress();
  batchId: string | null = null;
  private readonly byClient = new Map<string, Row>();
  private readonly byAsset = new Map<string, Row>();
  private readonly bySha = new Map<string, Row>();
  private readonly hashQueue: Row[] = [];
  private readonly toRegister: Row[] = [];
  private registering = false;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private workers: Array<{ w: Worker; busy: boolean }> = [];
  private readonly pendingHashes = new Map<number, Row>();
  private nextHashId = 1;
  private nextClient = 1;
  readonly scheduler: UploadScheduler;
  /** Bytes per second over the last seconds of PUT progress. */
  private byteSamples: Array<{ t: number; loaded: number }> = [];
  onBatch: (batchId: string) => void = () => {};

  constructor() {
    this.scheduler = new UploadScheduler({
      transport: { put: (job, p) => this.put(job, p), renew: (job) => this.renew(job) },
      clock: {
        now: () => Date.now(),
        setTimer: (fn, ms) => setTimeout(fn, ms),
        clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      },
      random: Math.random,
      onChange: (job) => this.onJob(job),
    });
  }

  dispatch(action: ProgressAction): void {
    this.progress = progressReducer(this.progress, action);
    this.store.changed();
  }

  rowByAsset(id: string): Row | undefined {
    return this.byAsset.get(id);
  }

  addFiles(files: File[]): void {
    const seed = `${Date.now().toString(36)}-`;
    for (const file of files) {
      const row: Row = {
        clientId: `${seed}${this.nextClient++}`,
        name: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name,
        size: file.size,
        lastModified: file.lastModified,
        file,
        sha256: null,
        type: null,
        assetId: null,
        local: "hashing",
        loaded: 0,
        note: null,
        attempts: 0,
      };
      this.rows.push(row);
      this.byClient.set(row.clientId, row);
      this.hashQueue.push(row);
    }
    this.pumpHashing();
    this.changed();
  }

  /** Files re-picked after a reload: matched to the manifest by name, size and date. */
  repick(files: File[]): number {
    let matched = 0;
    for (const file of files) {
      const row = this.rows.find(
        (r) =>
          r.local === "needs-file" &&
          (r.name === file.name || r.name.endsWith(`/${file.name}`)) &&
          r.size === file.size,
      );
      if (!row) continue;
      row.file = file;
      row.local = "hashing";
      row.note = null;
      this.hashQueue.push(row);
      matched += 1;
    }
    this.pumpHashing();
    this.changed();
    return matched;
  }

  /** After a reload: rows from the manifest, state from the server. */
  async restore(m: Manifest): Promise<void> {
    this.batchId = m.batchId;
    this.dispatch({ type: "batch", batchId: m.batchId });
    for (const f of m.files) {
      const row: Row = {
        clientId: f.clientId,
        name: f.name,
        size: f.size,
        lastModified: f.lastModified,
        file: null,
        sha256: f.sha256,
        type: null,
        assetId: f.assetId,
        local: f.skipped ? "skipped" : f.note ? "duplicate" : "needs-file",
        loaded: 0,
        note: f.note,
        attempts: 0,
      };
      this.rows.push(row);
      this.byClient.set(row.clientId, row);
      if (row.assetId) this.byAsset.set(row.assetId, row);
      if (row.sha256 && !f.note) this.bySha.set(row.sha256, row);
    }
    await this.refetch();
  }

  /** The batch's true state from the server (after a reload or a `reset` frame). */
  async refetch(): Promise<void> {
    if (!this.batchId) return;
    const [stats, assets] = await Promise.all([
      api.stats(this.batchId),
      allBatchAssets(this.batchId),
    ]);
    const bySha = new Map<string, Asset>(assets.map((a) => [a.sha256, a]));
    for (const row of this.rows) {
      const a =
        (row.assetId && assets.find((x) => x.id === row.assetId)) ||
        (row.sha256 ? bySha.get(row.sha256) : undefined);
      if (a && !row.assetId) {
        row.assetId = a.id;
        this.byAsset.set(a.id, row);
      }
      // Uploaded (or further) on the server: nothing left to do locally.
      if (row.local === "needs-file" && a && a.status !== "pending") row.local = "sent";
    }
    this.dispatch({
      type: "snapshot",
      stats,
      assets: assets.map((a) => ({
        id: a.id,
        status: a.status,
        version: a.version,
        error: a.error,
      })),
      now: Date.now(),
    });
    this.saveSoon();
  }

  needsFile(): Row[] {
    return this.rows.filter((r) => r.local === "needs-file");
  }

  bytesPerSecond(): number {
    const first = this.byteSamples[0];
    const last = this.byteSamples.at(-1);
    if (!first || !last || last.t - first.t < 500) return 0;
    return ((last.loaded - first.loaded) * 1000) / (last.t - first.t);
  }

  retryUpload(row: Row): void {
    this.scheduler.retry(row.clientId);
  }

  // --- hashing -------------------------------------------------------------------

  private pumpHashing(): void {
    if (this.workers.length === 0) {
      const n = Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2)));
      for (let i = 0; i < n; i++) {
        const w = new Worker("/hash-worker.js");
        const slot = { w, busy: false };
        w.onmessage = (e: MessageEvent<HashResponse>) => {
          slot.busy = false;
          this.onHashed(e.data);
          this.pumpHashing();
        };
        this.workers.push(slot);
      }
    }
    for (const slot of this.workers) {
      if (slot.busy) continue;
      const row = this.hashQueue.shift();
      if (!row?.file) return;
      slot.busy = true;
      const id = this.nextHashId++;
      this.pendingHashes.set(id, row);
      slot.w.postMessage({ id, file: row.file } satisfies HashRequest);
    }
  }

  private onHashed(r: HashResponse): void {
    const row = this.pendingHashes.get(r.id);
    this.pendingHashes.delete(r.id);
    if (!row) return;
    if (!r.ok) {
      row.local = "skipped";
      row.note = r.reason;
    } else {
      row.sha256 = r.sha256;
      row.type = r.type;
      const first = this.bySha.get(r.sha256);
      if (first && first !== row) {
        // Same bytes twice in this drop: the server would answer `duplicate` anyway.
        row.local = "duplicate";
        row.note = `same photo as ${first.name}`;
        row.assetId = first.assetId;
      } else {
        this.bySha.set(r.sha256, row);
        row.local = "registering";
        this.toRegister.push(row);
        this.flushSoon();
      }
    }
    this.changed();
  }

  // --- registering (POST /api/uploads) ------------------------------------------

  private flushSoon(): void {
    const hashingDone = this.hashQueue.length === 0 && this.pendingHashes.size === 0;
    if (this.toRegister.length >= BATCH_MAX || hashingDone) {
      void this.flush();
      return;
    }
    // A batch of 100 fills in well under a second; don't wait longer for a full one.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, 400);
  }

  private async flush(): Promise<void> {
    if (this.registering) return;
    const rows = this.toRegister.splice(0, BATCH_MAX);
    if (rows.length === 0) return;
    this.registering = true;
    try {
      await this.register(rows);
    } finally {
      this.registering = false;
    }
    if (this.toRegister.length > 0) this.flushSoon();
  }

  private async register(rows: Row[], attempt = 1): Promise<void> {
    const files: UploadFile[] = rows.map((r) => ({
      clientId: r.clientId,
      name: r.name.slice(-1024),
      size: r.size,
      type: r.type ?? "",
      sha256: r.sha256 ?? "",
    }));
    try {
      const res = await api.uploads(files, this.batchId);
      if (this.batchId !== res.batchId) {
        this.batchId = res.batchId;
        this.dispatch({ type: "batch", batchId: res.batchId });
        this.onBatch(res.batchId);
      }
      const ids: string[] = [];
      for (const f of res.files) {
        const row = this.byClient.get(f.clientId);
        if (!row) continue;
        row.assetId = f.assetId;
        this.byAsset.set(f.assetId, row);
        ids.push(f.assetId);
        if (f.status === "duplicate" || !f.upload) {
          row.local = "duplicate";
          row.note = "already in your library";
        } else {
          row.local = "queued";
          this.scheduler.add({
            id: row.clientId,
            assetId: f.assetId,
            size: row.size,
            ticket: f.upload,
          });
        }
      }
      this.dispatch({ type: "track", assetIds: ids });
      this.saveSoon();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && rows.length > 1) {
        // One bad file refuses the whole request: find it by sending them one by one.
        for (const r of rows) await this.register([r]);
        return;
      }
      if (
        err instanceof ApiError &&
        err.status >= 400 &&
        err.status < 500 &&
        err.status !== 429 &&
        err.status !== 409
      ) {
        for (const r of rows) {
          r.local = "upload-failed";
          r.note = `${err.code}: ${err.message}`;
        }
        this.changed();
        return;
      }
      const wait =
        err instanceof ApiError && err.retryAfterMs !== null
          ? err.retryAfterMs
          : Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      for (const r of rows)
        r.note = `waiting to register: ${err instanceof Error ? err.message : String(err)}`;
      this.changed();
      await new Promise((r) => setTimeout(r, wait));
      await this.register(rows, attempt + 1);
    }
  }

  // --- uploading ------------------------------------------------------------------

  private onJob(job: UploadJob): void {
    const row = this.byClient.get(job.id);
    if (!row) return;
    row.attempts = job.attempts;
    const s = job.state;
    if (s.phase === "uploading") {
      row.local = "uploading";
      row.loaded = s.loaded;
      row.note = job.attempts > 1 ? `attempt ${job.attempts}` : null;
    } else if (s.phase === "queued") row.local = "queued";
    else if (s.phase === "waiting") {
      row.local = "waiting";
      row.note = s.reason;
    } else if (s.phase === "done") {
      row.local = "sent";
      row.loaded = row.size;
      row.note = job.attempts > 1 ? `uploaded after ${job.attempts} attempts` : null;
      row.file = null;
    } else {
      row.local = "upload-failed";
      row.note = s.reason;
    }
    const now = Date.now();
    this.byteSamples.push({ t: now, loaded: this.scheduler.summary().loaded });
    while ((this.byteSamples[0]?.t ?? now) < now - 5000) this.byteSamples.shift();
    this.changed();
  }

  private put(job: UploadJob, onProgress: (loaded: number) => void): Promise<PutOutcome> {
    const row = this.byClient.get(job.id);
    const file = row?.file;
    if (!file) return Promise.resolve({ kind: "network", message: "the file is gone" });
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(job.ticket.method, job.ticket.url);
      for (const [k, v] of Object.entries(job.ticket.headers)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve({ kind: "ok" });
        let code = "";
        let message = xhr.statusText;
        try {
          const body = JSON.parse(xhr.responseText) as {
            error?: { code?: string; message?: string };
          };
          code = body.error?.code ?? "";
          message = body.error?.message ?? message;
        } catch {
          // R2 answers XML; the status says enough.
        }
        const ra = xhr.getResponseHeader("Retry-After");
        const retryAfterMs = ra && Number.isFinite(Number(ra)) ? Number(ra) * 1000 : null;
        resolve({ kind: "http", status: xhr.status, code, message, retryAfterMs });
      };
      xhr.onerror = () => resolve({ kind: "network", message: "connection failed" });
      xhr.ontimeout = () => resolve({ kind: "network", message: "timed out" });
      xhr.onabort = () => resolve({ kind: "network", message: "aborted" });
      xhr.send(file);
    });
  }

  private async renew(job: UploadJob): Promise<RenewOutcome> {
    const row = this.byClient.get(job.id);
    if (!row?.sha256 || !row.type) {
      return { kind: "error", message: "nothing to renew", permanent: true, retryAfterMs: null };
    }
    try {
      const res = await api.uploads(
        [
          {
            clientId: row.clientId,
            name: row.name.slice(-1024),
            size: row.size,
            type: row.type,
            sha256: row.sha256,
          },
        ],
        this.batchId,
      );
      const f = res.files[0];
      if (!f || f.status === "duplicate" || !f.upload) return { kind: "duplicate" };
      return { kind: "ticket", ticket: f.upload satisfies Ticket };
    } catch (err) {
      if (err instanceof ApiError) {
        const permanent =
          err.status >= 400 && err.status < 500 && ![408, 409, 429].includes(err.status);
        return {
          kind: "error",
          message: `${err.code}: ${err.message}`,
          permanent,
          retryAfterMs: err.retryAfterMs,
        };
      }
      return { kind: "error", message: String(err), permanent: false, retryAfterMs: null };
    }
  }

  // --- persistence ----------------------------------------------------------------

  private changed(): void {
    this.store.changed();
  }

  saveSoon(): void {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = null;
      void saveManifest(this.manifest()).catch(() => {});
    }, 300);
  }

  manifest(): Manifest {
    const files: ManifestFile[] = this.rows.map((r) => ({
      clientId: r.clientId,
      name: r.name,
      size: r.size,
      lastModified: r.lastModified,
      sha256: r.sha256,
      assetId: r.assetId,
      note: r.local === "skipped" || r.local === "duplicate" ? r.note : null,
      skipped: r.local === "skipped",
    }));
    return { batchId: this.batchId, createdAt: Date.now(), files };
  }
}
