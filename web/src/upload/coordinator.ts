// One drop from files to asset ids: the hash pool hashes, the registrar registers in
// requests of up to 100, the scheduler runs the PUTs, and this coordinator keeps the rows,
// the server's progress and the manifest (so a reload can pick up) in step.
import type { UploadResponse } from "@darkroom/shared/http";
import { type Asset, allBatchAssets, api } from "../api";
import { type Handle, PathResolver, walk } from "../file-handles";
import type { HashResponse } from "../hash-worker";
import type { Manifest } from "../manifest";
import {
  initialProgress,
  type ProgressAction,
  type ProgressState,
  progressReducer,
} from "../progress";
import { Store } from "../store";
import { ByteRate } from "./byte-rate";
import { HashPool } from "./hash-pool";
import { ManifestWriter, rowOf } from "./manifest-writer";
import { putFile } from "./put-transport";
import { Registrar } from "./registration";
import { renewTicket, verifyUploaded } from "./renewal";
import { checkResumed, type ResumeOutcome, resumeRoots } from "./resume";
import { fileOf, freshRow, type Row } from "./rows";
import { type UploadJob, UploadScheduler } from "./scheduler";
import { yieldToEventLoop } from "./yield";

export type { LocalStage, Row } from "./rows";

/** Rows made per task when files are added. */
const ADD_SLICE = 250;

export class Uploader {
  readonly store = new Store();
  rows: Row[] = [];
  progress: ProgressState = initialProgress();
  batchId: string | null = null;
  private readonly byClient = new Map<string, Row>();
  private readonly byAsset = new Map<string, Row>();
  private readonly bySha = new Map<string, Row>();
  /** The folders and loose files the person gave as handles (Resume asks these). */
  roots: Handle[] = [];
  readonly writer = new ManifestWriter(() => ({ batchId: this.batchId, roots: this.roots }));
  private nextClient = 1;
  private nextSeq = 0;
  /** Resumed rows whose file is being looked at again (registration waits for them). */
  private checking = 0;
  readonly scheduler: UploadScheduler;
  private readonly hashes: HashPool;
  private readonly registrar: Registrar;
  private readonly byteRate = new ByteRate();
  onBatch: (batchId: string) => void = () => {};

  constructor() {
    this.hashes = new HashPool((row, r) => this.onHashed(row, r));
    this.registrar = new Registrar({
      batchId: () => this.batchId,
      moreComing: () => !this.hashes.idle || this.checking > 0,
      ahead: () => this.scheduler.summary().queued,
      onRegistered: (res) => this.onRegistered(res),
      onFailed: (rows, reason) => {
        for (const r of rows) {
          r.local = "upload-failed";
          r.note = reason;
        }
        this.changed();
      },
    });
    this.scheduler = new UploadScheduler({
      transport: {
        put: async (job, onProgress) => {
          const row = this.byClient.get(job.id);
          const file = row ? await fileOf(row).catch(() => null) : null;
          if (!file) return { status: 0, networkError: "the file is gone" };
          return putFile(job.ticket, file, onProgress);
        },
        renew: (job) => renewTicket(this.byClient.get(job.id), this.batchId),
        verify: (job) => verifyUploaded(job.assetId),
      },
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

  /**
   * A pick or a drop. Touches only the names here: size and date are read by the hash
   * workers (see HashResponse). Rows are made 250 at a time, one task each, so a pick of
   * thousands never holds the main thread for long (bench:page).
   */
  addFiles(files: File[]): void {
    const seed = `${Date.now().toString(36)}-`;
    const slice = (from: number) => {
      this.addRows(
        files
          .slice(from, from + ADD_SLICE)
          .map((file) => this.newRow(seed, file.webkitRelativePath || file.name, file, null, null)),
      );
      if (from + ADD_SLICE < files.length) setTimeout(() => slice(from + ADD_SLICE), 0);
    };
    slice(0);
  }

  /**
   * Handles from a picker or a drop (Chromium): each is a root (a folder or a loose
   * file), kept with the manifest so a reload can resume without asking for the files
   * again; its files are walked lazily, a slice of rows at a time. A row keeps its root
   * and path, not the handle the walk gave: each FileSystemFileHandle is a Blink object
   * with a Mojo connection to the browser process, and 20,000 of them held for the whole
   * drop were memory and garbage-collection work on the page's main thread (bench:page);
   * the file is found again from its folder (looked up once) when it is read.
   */
  async addHandles(handles: readonly Handle[]): Promise<void> {
    const seed = `${Date.now().toString(36)}-`;
    const paths = new PathResolver(this.roots);
    for (const h of handles) {
      const root = this.roots.push(h) - 1;
      this.writer.touchBatch();
      this.checking += 1;
      try {
        // A folder is walked by a hash worker (WalkRequest): only its paths come here.
        const slices = h.kind === "directory" ? this.hashes.walk(h, ADD_SLICE) : walk(h, ADD_SLICE);
        for await (const found of slices) {
          this.addRows(
            found.map((path) => this.newRow(seed, path, null, paths.handle(root, path), root)),
          );
          // Chromium hands a folder's entries over in large batches whose promises all
          // settle in one task: without this, thousands of rows were made in one task.
          await yieldToEventLoop();
        }
      } finally {
        this.checking -= 1;
      }
    }
    this.registrar.flushSoon();
  }

  private newRow(
    seed: string,
    name: string,
    file: File | null,
    handle: Row["handle"],
    root: number | null,
  ): Row {
    return freshRow(this.nextSeq++, `${seed}${this.nextClient++}`, name, { file, handle, root });
  }

  private addRows(added: Row[]): void {
    for (const row of added) {
      this.rows.push(row);
      this.byClient.set(row.clientId, row);
      this.writer.touch(row);
    }
    this.hashes.add(added);
    this.changed();
  }

  /**
   * Files re-picked after a reload: matched to the manifest by name and size (by name
   * alone for a file the reload caught before its size was read).
   */
  repick(files: File[]): number {
    const waiting = new Map<string, Row[]>();
    const key = (name: string, size: number) => `${name.split("/").pop()}\n${size}`;
    for (const r of this.rows) {
      if (r.local !== "needs-file") continue;
      const k = key(r.name, r.size);
      waiting.set(k, [...(waiting.get(k) ?? []), r]);
    }
    const matched: Row[] = [];
    for (const file of files) {
      const row =
        waiting.get(key(file.name, file.size))?.shift() ?? waiting.get(key(file.name, 0))?.shift();
      if (!row) continue;
      row.file = file;
      row.local = "hashing";
      row.note = null;
      matched.push(row);
      this.writer.touch(row);
    }
    this.hashes.add(matched);
    this.changed();
    return matched.length;
  }

  /** After a reload: rows from the manifest, state from the server. */
  async restore(m: Manifest): Promise<void> {
    this.batchId = m.batchId;
    this.roots = [...m.roots];
    const paths = new PathResolver(this.roots);
    this.dispatch({ type: "batch", batchId: m.batchId });
    for (const f of m.files) {
      const row = rowOf(f, paths);
      this.rows.push(row);
      this.byClient.set(row.clientId, row);
      if (row.assetId) this.byAsset.set(row.assetId, row);
      if (row.sha256 && !f.note) this.bySha.set(row.sha256, row);
      this.nextSeq = Math.max(this.nextSeq, f.seq + 1);
    }
    await this.refetch();
  }

  /** Rows Resume can finish: not uploaded, and a handle to read them from. */
  resumable(): number {
    let n = 0;
    for (const r of this.rows) if (r.local === "needs-file" && r.handle) n += 1;
    return n;
  }

  /**
   * The Resume click: read access again for every root (one request each, in the click's
   * gesture), then each waiting file is looked at again: gone or changed since the drop
   * (size, lastModified) is listed with why; unchanged and hashed goes straight to
   * registration (which gives a pending asset a fresh URL, and says `duplicate` for one
   * already stored); never hashed is hashed.
   */
  async resume(): Promise<ResumeOutcome> {
    const waiting = this.rows.filter((r) => r.local === "needs-file" && r.handle);
    const granted = await resumeRoots(this.roots, waiting);
    const rows = waiting.filter((r) => r.root !== null && granted.has(r.root));
    for (const r of rows) r.local = "hashing";
    this.checking += 1;
    this.changed();
    try {
      await checkResumed(rows, {
        register: (row) => {
          row.local = "registering";
          this.registrar.add(row);
        },
        hash: (row) => this.hashes.add([row]),
        changed: (row, reason) => {
          row.local = "changed";
          row.note = reason;
          this.writer.touch(row);
          this.changed();
        },
      });
    } finally {
      this.checking -= 1;
    }
    this.registrar.flushSoon();
    this.changed();
    return { roots: this.roots.length, granted: granted.size, files: rows.length };
  }

  /** The batch's true state from the server (after a reload or a `reset` frame). */
  async refetch(): Promise<void> {
    if (!this.batchId) return;
    const [stats, assets] = await Promise.all([
      api.stats(this.batchId),
      allBatchAssets(this.batchId),
    ]);
    const byId = new Map<string, Asset>(assets.map((a) => [a.id, a]));
    const bySha = new Map<string, Asset>(assets.map((a) => [a.sha256, a]));
    for (const row of this.rows) {
      const a =
        (row.assetId ? byId.get(row.assetId) : undefined) ??
        (row.sha256 ? bySha.get(row.sha256) : undefined);
      if (a && !row.assetId) {
        row.assetId = a.id;
        this.byAsset.set(a.id, row);
        this.writer.touch(row);
      }
      // Uploaded (or further) on the server: nothing left to do locally.
      if (row.local === "needs-file" && a && a.status !== "pending") {
        row.local = "sent";
        this.writer.touch(row);
      }
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
  }

  bytesPerSecond(): number {
    return this.byteRate.perSecond();
  }

  /** The user's Retry: a failed PUT starts over; a failed registration is sent again. */
  retryUpload(row: Row): void {
    if (this.scheduler.get(row.clientId)) {
      this.scheduler.retry(row.clientId);
      return;
    }
    if (row.local === "upload-failed" && row.sha256) {
      row.local = "registering";
      row.note = null;
      this.registrar.add(row);
      this.changed();
    }
  }

  // --- hashed → registering ---------------------------------------------------------

  private onHashed(row: Row, r: HashResponse): void {
    this.writer.touch(row);
    row.size = r.size;
    row.lastModified = r.lastModified;
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
        this.registrar.add(row);
      }
    }
    this.changed();
  }

  private onRegistered(res: UploadResponse): void {
    if (this.batchId !== res.batchId) {
      this.batchId = res.batchId;
      this.dispatch({ type: "batch", batchId: res.batchId });
      this.writer.touchBatch();
      this.onBatch(res.batchId);
    }
    const ids: string[] = [];
    for (const f of res.files) {
      const row = this.byClient.get(f.clientId);
      if (!row) continue;
      const resumed = row.assetId === f.assetId;
      row.assetId = f.assetId;
      this.byAsset.set(f.assetId, row);
      this.writer.touch(row);
      ids.push(f.assetId);
      if (resumed && f.status === "duplicate") {
        // Resumed, and its upload had landed after all: this batch's own photo.
        row.local = "sent";
      } else if (f.status === "duplicate" || !f.upload) {
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
  }

  // --- uploading ----------------------------------------------------------------------

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
      this.writer.touch(row);
    } else {
      row.local = "upload-failed";
      row.note = s.reason;
    }
    this.byteRate.sample(Date.now(), this.scheduler.summary().loaded);
    // A PUT left the queue: registration may have room in its window again.
    if (s.phase !== "queued") this.registrar.flushSoon();
    this.changed();
  }

  private changed(): void {
    this.store.changed();
  }
}
