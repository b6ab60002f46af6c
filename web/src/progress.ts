// The progress reducer: server truth about one batch, from WebSocket frames and REST
// snapshots. Pure (state in, state out; time passed in), so ordering rules are
// unit-tested: the highest `version` per asset wins whatever order frames arrive in,
// only this batch's `stats` frames count, `reset` asks the page to refetch.
import type { AssetError, AssetStatus, StatusCounts } from "@darkroom/shared/assets";
import type { ServerFrame } from "@darkroom/shared/events";

export type Stats = StatusCounts;

export type AssetProgress = {
  status: AssetStatus | "deleted";
  version: number;
  error: AssetError | null;
};

export type Sample = { t: number; uploaded: number; processed: number; searchable: number };

export type ProgressState = {
  batchId: string | null;
  lastSeq: number;
  stats: Stats | null;
  assets: ReadonlyMap<string, AssetProgress>;
  /** Set by a `reset` frame: missed events are gone, the page must refetch. */
  needsRefetch: boolean;
  samples: readonly Sample[];
};

export type SnapshotAsset = {
  id: string;
  status: AssetStatus;
  version: number;
  error: AssetError | null;
};

export type ProgressAction =
  | { type: "batch"; batchId: string | null }
  | { type: "track"; assetIds: readonly string[] }
  | { type: "frames"; frames: readonly ServerFrame[]; now: number }
  | { type: "snapshot"; stats: Stats; assets: readonly SnapshotAsset[]; now: number };

/** Rates are measured over this window: long enough to smooth, short enough to follow. */
const RATE_WINDOW_MS = 20_000;

export function initialProgress(batchId: string | null = null): ProgressState {
  return { batchId, lastSeq: 0, stats: null, assets: new Map(), needsRefetch: false, samples: [] };
}

export function progressReducer(state: ProgressState, action: ProgressAction): ProgressState {
  switch (action.type) {
    case "batch":
      return initialProgress(action.batchId);
    case "track": {
      const assets = new Map(state.assets);
      let changed = false;
      for (const id of action.assetIds) {
        if (!assets.has(id)) {
          assets.set(id, { status: "pending", version: 0, error: null });
          changed = true;
        }
      }
      return changed ? { ...state, assets } : state;
    }
    case "snapshot": {
      const assets = new Map(state.assets);
      for (const a of action.assets) {
        merge(assets, a.id, { status: a.status, version: a.version, error: a.error });
      }
      return withSample({ ...state, stats: action.stats, assets, needsRefetch: false }, action.now);
    }
    case "frames": {
      let assets: Map<string, AssetProgress> | null = null;
      let { stats, lastSeq, needsRefetch } = state;
      for (const f of action.frames) {
        if ("seq" in f) lastSeq = Math.max(lastSeq, f.seq);
        if (f.type === "asset") {
          // Another batch's asset is tracked only when this batch holds it too (a
          // duplicate dropped here belongs to the batch it was first uploaded in).
          if (f.batchId !== state.batchId && !state.assets.has(f.assetId)) continue;
          assets ??= new Map(state.assets);
          merge(assets, f.assetId, {
            status: f.status,
            version: f.version,
            error: f.error ?? null,
          });
        } else if (f.type === "stats") {
          if (state.batchId !== null && f.batchId === state.batchId) stats = f.stats;
        } else if (f.type === "reset") {
          needsRefetch = true;
        }
      }
      const next = { ...state, stats, lastSeq, needsRefetch, assets: assets ?? state.assets };
      return withSample(next, action.now);
    }
  }
}

function merge(assets: Map<string, AssetProgress>, id: string, next: AssetProgress): void {
  const prev = assets.get(id);
  if (!prev || next.version >= prev.version) assets.set(id, next);
}

export type StageCounts = {
  total: number;
  uploaded: number;
  processed: number;
  searchable: number;
  failed: number;
};

const AFTER_UPLOAD = new Set(["uploaded", "processing", "processed", "embedding", "ready"]);
const AFTER_PROCESS = new Set(["processed", "embedding", "ready"]);

/**
 * The three stages out of the batch. Server stats are the truth for totals; without them
 * (before the first frame) the tracked assets are counted. A failed asset counts as
 * past the stages before the one that failed.
 */
export function stageCounts(state: ProgressState): StageCounts {
  let failedUpload = 0;
  let failedEmbed = 0;
  const counted: StageCounts = { total: 0, uploaded: 0, processed: 0, searchable: 0, failed: 0 };
  for (const a of state.assets.values()) {
    if (a.status === "deleted") continue;
    counted.total += 1;
    if (AFTER_UPLOAD.has(a.status)) counted.uploaded += 1;
    if (AFTER_PROCESS.has(a.status)) counted.processed += 1;
    if (a.status === "ready") counted.searchable += 1;
    if (a.status === "failed") {
      counted.failed += 1;
      if (a.error?.stage === "upload") failedUpload += 1;
      if (a.error?.stage === "embedding") failedEmbed += 1;
    }
  }
  counted.uploaded += counted.failed - failedUpload;
  counted.processed += failedEmbed;
  const s = state.stats;
  if (!s) return counted;
  const uploaded = s.uploaded + s.processing + s.processed + s.embedding + s.ready;
  return {
    total: s.total,
    uploaded: uploaded + Math.max(0, s.failed - failedUpload),
    processed: s.processed + s.embedding + s.ready + failedEmbed,
    searchable: s.ready,
    failed: s.failed,
  };
}

function withSample(state: ProgressState, now: number): ProgressState {
  const c = stageCounts(state);
  const samples = state.samples.filter((x) => x.t >= now - RATE_WINDOW_MS);
  samples.push({ t: now, uploaded: c.uploaded, processed: c.processed, searchable: c.searchable });
  return { ...state, samples };
}

export type Rates = { uploadedPerSec: number; searchablePerSec: number; etaSeconds: number | null };

/** Observed rates over the window, and when the batch will be searchable at that pace. */
export function rates(state: ProgressState): Rates {
  const first = state.samples[0];
  const last = state.samples.at(-1);
  const none = { uploadedPerSec: 0, searchablePerSec: 0, etaSeconds: null };
  if (!first || !last || last.t - first.t < 1000) return none;
  const secs = (last.t - first.t) / 1000;
  const searchablePerSec = Math.max(0, (last.searchable - first.searchable) / secs);
  const uploadedPerSec = Math.max(0, (last.uploaded - first.uploaded) / secs);
  const c = stageCounts(state);
  const remaining = c.total - c.searchable - c.failed;
  if (remaining <= 0) return { uploadedPerSec, searchablePerSec, etaSeconds: 0 };
  return {
    uploadedPerSec,
    searchablePerSec,
    etaSeconds: searchablePerSec > 0 ? Math.ceil(remaining / searchablePerSec) : null,
  };
}
